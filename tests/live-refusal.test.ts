import { describe, expect, it } from "vitest";
import { ApiError } from "../src/lib/errors";
import { accepted, refusalError } from "../src/lib/live-refusal";

describe("refusalError", () => {
  it("turns a field's refusal into a validation failure naming the field, keeping the detail", () => {
    const error = refusalError({
      status: 422,
      code: "validation_failed",
      detail: "xp_amount: Feed 1–500 XP.",
      field: "xp_amount",
    });
    expect(error.status).toBe(422);
    expect(error.code).toBe("validation_failed");
    expect(error.message).toBe("xp_amount: Feed 1–500 XP.");
    expect(error.errors).toEqual([{ field: "xp_amount", message: "Feed 1–500 XP" }]);
  });

  it("keeps any other refusal's status, code and detail, with Retry-After when it says when", () => {
    const cooldown = refusalError({
      status: 409,
      code: "cooldown",
      detail: "Wait.",
      retry_after_seconds: 42,
    });
    expect([cooldown.status, cooldown.code, cooldown.message]).toEqual([409, "cooldown", "Wait."]);
    expect(cooldown.headers).toEqual({ "Retry-After": "42" });
    const missing = refusalError({ status: 404, code: "not_found", detail: "No pet." });
    expect(missing.headers).toEqual({});
    expect(missing.errors).toBeUndefined();
  });
});

describe("accepted", () => {
  it("returns what the object did, and throws its refusal as the API error", () => {
    expect(accepted({ ok: true, value: 1 })).toEqual({ ok: true, value: 1 });
    expect(() =>
      accepted({ ok: false, error: { status: 503, code: "unavailable", detail: "Later." } }),
    ).toThrow(ApiError);
  });
});
