import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ProblemBody } from "../src/lib/errors";
import { BASE, createUser } from "./helpers/api";
import { checkContract } from "./helpers/contract";
import { legacyCall } from "./helpers/legacy-client";

/** Sends raw bytes, with the headers given and nothing else. */
async function raw(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
  const res = await exports.default.fetch(`${BASE}${path}`, init);
  await checkContract(init.method ?? "GET", `${BASE}${path}`, res);
  return res;
}

describe("a JSON content type with nothing in the body", () => {
  it("is no body on a route whose body is optional: no body, zero bytes, or whitespace", async () => {
    for (const body of [undefined, "", "  \n"]) {
      const user = await createUser();
      const res = await raw("/api/v1/focus/sessions", {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body,
      });
      expect(res.status, JSON.stringify(body)).toBe(201);
    }
  });

  it("is no body with Content-Length: 0 too (the header a client declares)", async () => {
    const user = await createUser();
    const res = await raw("/api/v1/focus/sessions", {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.token}`,
        "content-type": "application/json; charset=utf-8",
        "content-length": "0",
      },
      body: "",
    });
    expect(res.status).toBe(201);
  });

  it("is the same as the original app's transports (no body and zero bytes)", async () => {
    for (const transport of ["app", "app-empty"] as const) {
      const user = await createUser();
      const res = await legacyCall("/focus/sessions", { method: "POST", token: user.token, transport });
      expect(res.status, transport).toBe(201);
    }
  });

  it("still answers a route that needs a body with a 4xx naming what is missing, never 400 'not valid JSON'", async () => {
    const user = await createUser();
    const res = await raw("/api/v1/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: "",
    });
    expect(res.status).toBe(422);
    const problem = await res.json<ProblemBody>();
    expect(problem.detail).not.toMatch(/not valid JSON/);
    // As a request with no body at all: the field it needs is named.
    expect(problem.errors?.map((e) => e.field)).toEqual(["title"]);
    expect(problem.detail).toMatch(/^title: /);
  });

  it("keeps a body that does not parse a 400, short or long", async () => {
    const user = await createUser();
    for (const body of ["{", `{"title": ${"x".repeat(100)}`]) {
      const res = await raw("/api/v1/tasks", {
        method: "POST",
        headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(400);
      expect((await res.json<ProblemBody>()).detail).toBe("The request body is not valid JSON.");
    }
  });

  it("reads a small real body as before, whether or not its length is declared", async () => {
    const user = await createUser();
    const res = await raw("/api/v1/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: JSON.stringify({ title: "Tiny" }),
    });
    expect(res.status).toBe(201);
    expect((await res.json<{ title: string }>()).title).toBe("Tiny");
    const streamed = await raw("/api/v1/tasks", {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/json" },
      body: new Blob([JSON.stringify({ title: "Streamed" })]).stream(),
    });
    expect(streamed.status).toBe(201);
    expect((await streamed.json<{ title: string }>()).title).toBe("Streamed");
  });
});
