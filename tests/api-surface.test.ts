import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, call, createUser, problemOf } from "./helpers/api";
import { openApiDocument } from "./helpers/openapi";

const PUBLIC_OPERATIONS = new Set([
  "get /health",
  "get /health/live",
  "get /health/ready",
  // The status page people open in a browser: dependencies and latency per route, no user data.
  "get /status",
  "post /api/v1/auth/register",
  "post /api/v1/auth/login",
  "post /api/v1/auth/refresh",
  "get /api/v1/event-types",
  "get /api/v1/event-types/{type}",
  "get /api/v1/notifications/vapid-public-key",
  // A calendar subscription: the secret in the URL is the credential (calendar apps send no bearer).
  "get /api/v1/calendar/{token}.ics",
  // Shared moments and public profiles: pages and cards people open from a link, and a profile's JSON.
  "get /s/{code}",
  "get /s/{code}.png",
  "get /u/{handle}",
  "get /u/{handle}.png",
  "get /api/v1/social/profiles/{handle}",
  // A signed download link (a browser follows it): the signature is the credential.
  "get /api/v1/export/{export_id}/download",
]);

/** Pages people open in a browser: their 404 is a page too (text/html), not problem+json. */
const HTML_PAGES = new Set(["get /s/{code}", "get /u/{handle}"]);

/**
 * The MCP endpoint speaks JSON-RPC: a message its transport cannot read is answered with a JSON-RPC
 * error (application/json), the one error MCP clients understand. Only that 400 differs; its 401, 413
 * and 415 are problem+json like every route's.
 */
const JSON_RPC_ERRORS = new Set(["post /mcp 400"]);

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 with named schemas and bearer auth", async () => {
    const doc = await openApiDocument();
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    for (const name of ["Task", "MicroStep", "Problem", "User", "AuthTokens", "CapturedTask"]) {
      expect(doc.components.schemas[name], name).toBeDefined();
    }
  });

  it("declares every operation's auth and its problem+json errors", async () => {
    const doc = await openApiDocument();
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ id: `${method} ${path}`, op })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(20);
    for (const { id, op } of operations) {
      expect(op.security, id).toEqual(PUBLIC_OPERATIONS.has(id) ? [] : [{ bearerAuth: [] }]);
      expect(op.operationId, id).toMatch(/^[a-z]+[A-Za-z0-9]*$/);
      // Reads that take no input and no credential have no client error to declare.
      if (
        id.startsWith("get /health") ||
        id === "get /status" ||
        id === "get /api/v1/event-types" ||
        id.endsWith("/vapid-public-key")
      )
        continue;
      const errors = Object.entries(op.responses).filter(([status]) => status.startsWith("4"));
      expect(errors.length, id).toBeGreaterThan(0);
      for (const [status, response] of errors) {
        const expected =
          HTML_PAGES.has(id) && status === "404"
            ? ["text/html"]
            : JSON_RPC_ERRORS.has(`${id} ${status}`)
              ? ["application/json"]
              : ["application/problem+json"];
        expect(Object.keys(response.content ?? {}), `${id} ${status}`).toEqual(expected);
      }
    }
  });

  it("serves an interactive docs page", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    const html = await res.text();
    expect(html).toContain("/openapi.json");
    // The reference's script is pinned and checked by the browser (Subresource Integrity).
    const script =
      /<script src="([^"]+)" integrity="(sha384-[A-Za-z0-9+/=]{64})" crossorigin="anonymous">/.exec(html);
    expect(script?.[1]).toMatch(/@scalar\/api-reference@\d+\.\d+\.\d+\//);
    expect(html).not.toMatch(/<script src="[^"]*"><\/script>/);
  });
});

describe("every response", () => {
  it("answers unknown routes with a problem+json 404", async () => {
    const res = await call("/api/v1/nope");
    expect(res.status).toBe(404);
    const problem = await problemOf(res);
    expect(problem).toMatchObject({ status: 404, code: "route_not_found", title: "Not Found" });
    expect(problem.detail).toContain("/api/v1/nope");
  });

  it("carries a request id, secure headers and a D1 bookmark", async () => {
    const res = await call("/health");
    await res.text();
    expect(res.headers.get("x-request-id")).toMatch(/.{8,}/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBeTruthy();
    expect(res.headers.get("x-d1-bookmark")).toBeTruthy();
  });

  it("allows CORS only for configured origins", async () => {
    const allowed = await call("/health", { headers: { origin: "https://app.example.com" } });
    await allowed.text();
    expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    const denied = await call("/health", { headers: { origin: "https://evil.example" } });
    await denied.text();
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await call("/api/v1/tasks", {
      method: "OPTIONS",
      headers: { origin: "https://app.example.com", "access-control-request-method": "POST" },
    });
    await preflight.text();
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-headers")).toContain("Idempotency-Key");
  });

  it("continues a client's D1 session from the bookmark it sends", async () => {
    const first = await call("/health");
    await first.text();
    const bookmark = first.headers.get("x-d1-bookmark") ?? "";
    const second = await call("/health", { headers: { "x-d1-bookmark": bookmark } });
    await second.text();
    expect(second.status).toBe(200);
    expect(second.headers.get("x-d1-bookmark")).toBeTruthy();
  });
});

describe("when D1 fails", () => {
  // A binding whose every statement fails the way a broken database does, message and all.
  const brokenSession = {
    prepare: () => {
      throw new Error("D1_ERROR: no such table: tasks: SQLITE_ERROR SELECT secret FROM tasks");
    },
    batch: () => Promise.reject(new Error("D1_ERROR: SQLITE_ERROR")),
    getBookmark: () => null,
  };
  const brokenEnv = { ...env, DB: { ...env.DB, withSession: () => brokenSession } as unknown as D1Database };

  it("reports health as degraded with 503", async () => {
    const res = await worker.fetch(new Request(`${BASE}/health`), brokenEnv, createExecutionContext());
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ status: "degraded", checks: { d1: { ok: false } } });
  });

  it("answers 500 as problem+json without leaking SQL", async () => {
    const user = await createUser();
    const res = await worker.fetch(
      new Request(`${BASE}/api/v1/tasks`, { headers: { authorization: `Bearer ${user.token}` } }),
      brokenEnv,
      createExecutionContext(),
    );
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(JSON.parse(text)).toMatchObject({ status: 500, code: "internal_error" });
    expect(text).not.toMatch(/SQLITE|SELECT|tasks:/);
  });
});
