import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { BASE, call, callJson, createUser, testAddress } from "./helpers/api";
import { adminToken } from "./helpers/gamification";
import { createTask } from "./helpers/tasks";

/** The `Server-Timing` entries of an answer, by name: each one's `dur` and `desc`. */
function timings(res: Response): Map<string, { dur?: number; desc?: string }> {
  const header = res.headers.get("server-timing") ?? "";
  const entries = new Map<string, { dur?: number; desc?: string }>();
  for (const part of header.split(",")) {
    const [name = "", ...params] = part.trim().split(";");
    const entry: { dur?: number; desc?: string } = {};
    for (const param of params) {
      const [key, value = ""] = param.split("=");
      if (key === "dur") entry.dur = Number(value);
      if (key === "desc") entry.desc = value.replace(/^"|"$/g, "");
    }
    entries.set(name, entry);
  }
  return entries;
}

const figure = (res: Response, name: string) => Number(timings(res).get(name)?.desc);

describe("Server-Timing: what a request cost", () => {
  it("shows the rows a task list read, its statements and round trips", async () => {
    const user = await createUser();
    for (let i = 0; i < 3; i += 1) await createTask(user, { title: `Task ${i}` });
    const res = await call("/api/v1/tasks", { token: user.token });
    expect(res.status).toBe(200);
    expect(figure(res, "d1-statements")).toBeGreaterThanOrEqual(1);
    expect(figure(res, "d1-trips")).toBeGreaterThanOrEqual(1);
    // The page's three tasks at least (D1 counts index rows too).
    expect(figure(res, "d1-rows-read")).toBeGreaterThanOrEqual(3);
    expect(figure(res, "d1-rows-written")).toBe(0);
    expect(timings(res).get("total")?.dur).toBeGreaterThanOrEqual(0);
    expect(timings(res).get("d1")?.dur).toBeGreaterThanOrEqual(0);
  });

  it("shows the rows a create wrote", async () => {
    const user = await createUser();
    const res = await call("/api/v1/tasks", { token: user.token, body: { title: "Write me down" } });
    expect(res.status).toBe(201);
    expect(figure(res, "d1-rows-written")).toBeGreaterThanOrEqual(1);
  });

  it("counts an account deletion's erasure, run in the request on its own session to the primary", async () => {
    const user = await createUser();
    const steps = [{ description: "One" }, { description: "Two" }, { description: "Three" }];
    for (let i = 0; i < 10; i += 1) await createTask(user, { title: `Task ${i}`, micro_steps: steps });
    const res = await call("/api/v1/auth/me", {
      method: "DELETE",
      token: user.token,
      body: { password: user.password },
    });
    expect(res.status).toBe(204);
    // Ten tasks and thirty steps deleted (and more): not just the statements that closed the account.
    expect(figure(res, "d1-rows-written")).toBeGreaterThanOrEqual(40);
    expect(figure(res, "d1-statements")).toBeGreaterThanOrEqual(10);
  });

  it("counts no statement where no D1 is touched, and is on errors too", async () => {
    const user = await createUser();
    const missing = await call(`/api/v1/tasks/${crypto.randomUUID()}`, { token: user.token });
    expect(missing.status).toBe(404);
    expect(figure(missing, "d1-statements")).toBeGreaterThanOrEqual(1);
    const unmatched = await call("/api/v1/no-such-route", { token: user.token, uncheckedContract: true });
    expect(unmatched.status).toBe(404);
    expect(timings(unmatched).has("total")).toBe(true);
  });

  it("tells a caller with no credential only the total: a sign-in's rows would say if an account exists", async () => {
    const user = await createUser();
    const wrong = await call("/api/v1/auth/login", {
      body: { email: user.email, password: "not the password at all" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    const unknown = await call("/api/v1/auth/login", {
      body: { email: `nobody-${crypto.randomUUID()}@example.com`, password: "not the password at all" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    for (const res of [wrong, unknown, await call("/health/live"), await call("/api/v1/tasks")]) {
      expect([...timings(res).keys()]).toEqual(["total"]);
    }
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
  });

  it("lets a browser app read it (CORS exposes it)", async () => {
    const res = await call("/health/live", { headers: { origin: "https://app.example.com" } });
    expect(res.headers.get("access-control-expose-headers")).toContain("Server-Timing");
  });
});

describe("the slow-query log", () => {
  it("keeps a statement over the threshold with its text, time and rows, never its values", async () => {
    const user = await createUser();
    const secretTitle = `Private title ${crypto.randomUUID()}`;
    await createTask(user, { title: secretTitle });
    const ctx = createExecutionContext();
    // Every statement counts as slow under this threshold.
    const res = await worker.fetch(
      new Request(`${BASE}/api/v1/tasks?q=${encodeURIComponent(secretTitle)}`, {
        headers: { authorization: `Bearer ${user.token}` },
      }),
      { ...env, SLOW_QUERY_MS: "0" },
      ctx,
    );
    expect(res.status).toBe(200);
    await waitOnExecutionContext(ctx);
    const admin = await adminToken();
    const logged = await callJson<{ route: string; sql: string; duration_ms: number; rows_read: number }[]>(
      "/api/v1/admin/slow-queries?window=1h",
      200,
      { token: admin },
    );
    const ours = logged.filter(
      (q) => q.route === "/api/v1/tasks" && q.sql.startsWith(`select "id", "user_id", "title"`),
    );
    expect(ours.length).toBeGreaterThanOrEqual(1);
    expect(ours[0]?.rows_read).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(logged)).not.toContain(secretTitle);
  });
});
