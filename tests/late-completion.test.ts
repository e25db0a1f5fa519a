import { describe, expect, it } from "vitest";
import { lateCompletionTime, MAX_LATE_COMPLETION_DAYS } from "../src/features/tasks/late-completion";
import { ApiError } from "../src/lib/errors";

// The rule takes `now` as a parameter: any moment will do.
const NOW = Date.now();
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

function refusal(reported: string): ApiError {
  try {
    lateCompletionTime(reported, NOW);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error(`${reported} was accepted`);
}

describe("lateCompletionTime", () => {
  it("takes a time inside the window as it is", () => {
    expect(lateCompletionTime(iso(NOW - 2 * DAY), NOW)).toBe(NOW - 2 * DAY);
    expect(lateCompletionTime(iso(NOW - MAX_LATE_COMPLETION_DAYS * DAY), NOW)).toBe(
      NOW - MAX_LATE_COMPLETION_DAYS * DAY,
    );
  });

  it("reads a device clock up to a minute ahead as now", () => {
    expect(lateCompletionTime(iso(NOW + 60_000), NOW)).toBe(NOW);
  });

  it("refuses the future and anything older than the window, naming completed_at", () => {
    const future = refusal(iso(NOW + 60_001));
    expect(future.status).toBe(422);
    expect(future.errors).toEqual([{ field: "completed_at", message: "Must not be in the future" }]);
    const old = refusal(iso(NOW - MAX_LATE_COMPLETION_DAYS * DAY - 1));
    expect(old.errors).toEqual([
      { field: "completed_at", message: `Must be within the last ${MAX_LATE_COMPLETION_DAYS} days` },
    ]);
  });
});
