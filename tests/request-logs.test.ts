import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { loggableError, loggableStack } from "../src/lib/db-errors";
import { BASE, createUser, testAddress } from "./helpers/api";

/** Everything the Worker wrote to the console while `work` ran. */
async function capturingLogs(work: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const keep = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  for (const level of ["log", "info", "warn", "error", "debug"] as const)
    vi.spyOn(console, level).mockImplementation(keep);
  await work();
  return lines;
}

/** One request through the Worker with a log line for every request, as production is configured. */
async function send(path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, init),
    { ...env, REQUEST_LOGS: "all", SLOW_QUERY_MS: "0" },
    ctx,
  );
  const body = await res.clone().text();
  await waitOnExecutionContext(ctx);
  return new Response(body, { status: res.status, headers: res.headers });
}

const json = (body: unknown, token?: string): RequestInit => ({
  method: "POST",
  headers: {
    "content-type": "application/json",
    "cf-connecting-ip": testAddress(),
    ...(token ? { authorization: `Bearer ${token}` } : {}),
  },
  body: JSON.stringify(body),
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("the request log", () => {
  it("holds no password, token, ticket or user id, whatever the requests carried", async () => {
    const email = `logs-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const password = `pw-${crypto.randomUUID()}`;
    const secrets: string[] = [password];
    let userId = "";
    const lines = await capturingLogs(async () => {
      const registered = await send("/api/v1/auth/register", json({ email, password, display_name: "Logs" }));
      expect(registered.status).toBe(201);
      const auth = await registered.json<{
        access_token: string;
        refresh_token: string;
        user: { id: string };
      }>();
      userId = auth.user.id;
      secrets.push(auth.access_token, auth.refresh_token);
      const login = await send("/api/v1/auth/login", json({ email, password }));
      secrets.push((await login.json<{ access_token: string }>()).access_token);
      const wrong = await send("/api/v1/auth/login", json({ email, password: `${password}-wrong` }));
      expect(wrong.status).toBe(401);
      const refreshed = await send("/api/v1/auth/refresh", json({ refresh_token: auth.refresh_token }));
      secrets.push((await refreshed.json<{ access_token: string; refresh_token: string }>()).refresh_token);
      const minted = await send(
        "/api/v1/auth/tokens",
        json({ name: "agent", scopes: ["tasks:read"] }, auth.access_token),
      );
      const apiToken = (await minted.json<{ token: string }>()).token;
      secrets.push(apiToken);
      await send("/api/v1/tasks", { headers: { authorization: `Bearer ${apiToken}` } });
      const feed = await send("/api/v1/calendar/feed", json({}, auth.access_token));
      const feedUrl = new URL((await feed.json<{ url: string }>()).url);
      secrets.push(feedUrl.pathname.split("/").at(-1)?.replace(".ics", "") ?? "");
      await send(feedUrl.pathname);
      const ticket = await send("/api/v1/focus/ws-ticket", json({}, auth.access_token));
      const ticketValue = (await ticket.json<{ ticket: string }>()).ticket;
      secrets.push(ticketValue);
      await send(`/api/v1/focus/ws?ticket=${ticketValue}`);
    });
    expect(secrets.every((s) => s.length >= 16)).toBe(true);
    const text = lines.join("\n");
    for (const secret of [...secrets, userId, email]) expect(text).not.toContain(secret);

    const requests = lines
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.message === "request");
    expect(requests.length).toBeGreaterThanOrEqual(10);
    for (const entry of requests) {
      expect(entry.request_id).toEqual(expect.any(String));
      expect(entry.route).toEqual(expect.stringMatching(/^\/|^unmatched$/));
      expect(entry.status).toEqual(expect.any(Number));
      expect(entry.duration_ms).toEqual(expect.any(Number));
    }
    // The signed-in requests name their user by a hash, the same one each time.
    const users = new Set(requests.map((entry) => entry.user).filter(Boolean));
    expect(users.size).toBe(1);
    expect([...users][0]).toMatch(/^[0-9a-f]{16}$/);
    // The feed's path is its token: the log has the route's template instead.
    expect(requests.some((entry) => entry.route === "/api/v1/calendar/{token}.ics")).toBe(true);
  });

  it('is quiet for answered requests under "errors", and off under "off"', async () => {
    const quiet = async (setting: string) => {
      const lines = await capturingLogs(async () => {
        const ctx = createExecutionContext();
        await worker.fetch(new Request(`${BASE}/health/live`), { ...env, REQUEST_LOGS: setting }, ctx);
        await waitOnExecutionContext(ctx);
      });
      return lines.filter((line) => line.includes('"message":"request"'));
    };
    expect(await quiet("errors")).toEqual([]);
    expect(await quiet("off")).toEqual([]);
    expect(await quiet("all")).toHaveLength(1);
  });
});

describe("the log of a failure", () => {
  it("cuts every bound value from an error's text, one with line breaks too, and keeps its cause", () => {
    const secret = `second-line-${crypto.randomUUID().slice(0, 8)}`;
    const error = new Error(
      `Failed query: insert into notes (text) values (?)\nparams: first line\n${secret},42`,
      {
        cause: new Error("D1_ERROR: UNIQUE constraint failed: notes.id"),
      },
    );
    const logged = loggableError(error);
    expect(logged).toContain("Failed query: insert into notes (text) values (?)\nparams: [not logged]");
    expect(logged).toContain("(cause: Error: D1_ERROR: UNIQUE constraint failed: notes.id)");
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain("first line");
    const stack = loggableStack(error) ?? "";
    expect(stack).toContain("params: [not logged]");
    expect(stack).toMatch(/\n\s+at /);
    expect(stack).not.toContain(secret);
  });

  it("keeps a bound value out of the stack even when the value looks like a stack frame", () => {
    const secret = `pasted-${crypto.randomUUID().slice(0, 8)}`;
    const error = new Error(
      `Failed query: insert into tasks (description) values (?)\nparams: TypeError: x\n    at f (app.js:1:1)\n${secret}`,
    );
    const stack = loggableStack(error) ?? "";
    expect(stack).toContain("params: [not logged]");
    expect(stack).not.toContain(secret);
    expect(stack).not.toContain("app.js:1:1");
    // Its own frames are still there.
    expect(stack).toMatch(/\n\s+at .*request-logs\.test/);
  });

  it("keeps the failed statement's text but not the values bound to it", async () => {
    const user = await createUser();
    const words = `bound-words-${crypto.randomUUID().slice(0, 8)}`;
    const fail = () => Promise.reject(new Error("D1_ERROR: the disk is on fire (test)"));
    const failing = {
      withSession: (constraint?: string) =>
        Object.assign(env.DB.withSession(constraint), { _sendOrThrow: fail }),
    } as unknown as D1Database;
    const lines = await capturingLogs(async () => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`${BASE}/api/v1/tasks?q=${words}`, {
          headers: { authorization: `Bearer ${user.token}` },
        }),
        { ...env, DB: failing, REQUEST_LOGS: "all" },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      expect(res.status).toBe(500);
    });
    const text = lines.join("\n");
    expect(text).toContain("Failed query");
    expect(text).toContain("params: [not logged]");
    for (const value of [words, user.id]) expect(text).not.toContain(value);
  });
});
