import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import { callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";

const createdToken = (user: TestUser) =>
  createApiToken(user.token, { name: "to revoke", scopes: ["tasks:read"] }).then((t) => ({ token_id: t.id }));

import { createTask } from "./helpers/tasks";

type LimiterName = "WRITE_LIMITER" | "AI_LIMITER" | "AUTH_LIMITER" | "REFRESH_LIMITER";

/**
 * The suite's limiters have room for its bulk tests (vitest.config.ts); here each limiter is one that
 * refuses a key once it has counted `allow` calls of it, and remembers the keys it was asked about.
 */
function limiters(allow: Partial<Record<LimiterName, number>>) {
  const keys: Record<LimiterName, string[]> = {
    WRITE_LIMITER: [],
    AI_LIMITER: [],
    AUTH_LIMITER: [],
    REFRESH_LIMITER: [],
  };
  const make = (name: LimiterName): RateLimit => ({
    limit: async ({ key }) => {
      keys[name].push(key);
      const count = keys[name].filter((k) => k === key).length;
      return { success: count <= (allow[name] ?? Number.POSITIVE_INFINITY) };
    },
  });
  const limited = {
    WRITE_LIMITER: make("WRITE_LIMITER"),
    AI_LIMITER: make("AI_LIMITER"),
    AUTH_LIMITER: make("AUTH_LIMITER"),
    REFRESH_LIMITER: make("REFRESH_LIMITER"),
  };
  return { env: limited, keys };
}

describe("rate limits", () => {
  it("count every write per user and answer 429 with Retry-After past the limit", async () => {
    const user = await createUser();
    const { env: limited, keys } = limiters({ WRITE_LIMITER: 2 });
    for (const title of ["one", "two"]) {
      expect((await callWith(limited, "/api/v1/tasks", { token: user.token, body: { title } })).status).toBe(
        201,
      );
    }
    const refused = await callWith(limited, "/api/v1/tasks", { token: user.token, body: { title: "three" } });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("10");
    expect(await problemOf(refused)).toMatchObject({ status: 429, code: "rate_limited" });
    expect(keys.WRITE_LIMITER).toEqual([`user:${user.id}`, `user:${user.id}`, `user:${user.id}`]);
  });

  it("leave reads alone", async () => {
    const user = await createUser();
    const { env: limited, keys } = limiters({ WRITE_LIMITER: 0 });
    expect((await callWith(limited, "/api/v1/tasks", { token: user.token })).status).toBe(200);
    expect(keys.WRITE_LIMITER).toEqual([]);
  });

  it("count splits, which may reach Workers AI, per user on their own limiter", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the garage" });
    const { env: limited, keys } = limiters({ AI_LIMITER: 1 });
    const path = `/api/v1/tasks/split/${task.task_id}`;
    expect((await callWith(limited, path, { token: user.token, body: {} })).status).toBe(200);
    const refused = await callWith(limited, path, { token: user.token, body: {} });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("60");
    expect(keys.AI_LIMITER).toEqual([`user:${user.id}`, `user:${user.id}`]);
  });

  it("count sign-ups and sign-ins per client address, before any password is checked", async () => {
    const { env: limited, keys } = limiters({ AUTH_LIMITER: 1 });
    const address = "198.18.7.7";
    const email = `limited-${crypto.randomUUID()}@example.com`;
    const body = { email, password: "correct horse battery" };
    expect((await callWith(limited, "/api/v1/auth/register", { body, address })).status).toBe(201);
    const login = await callWith(limited, "/api/v1/auth/login", { body, address });
    expect(login.status).toBe(429);
    expect(await problemOf(login)).toMatchObject({ code: "rate_limited" });
    // Another address is counted apart.
    expect((await callWith(limited, "/api/v1/auth/login", { body, address: "198.18.7.8" })).status).toBe(200);
    expect(keys.AUTH_LIMITER).toEqual([`address:${address}`, `address:${address}`, "address:198.18.7.8"]);
  });

  it("never keep anyone from ending a credential: logout and revoking a token are not counted", async () => {
    const user = await createUser();
    const { token_id } = await createdToken(user);
    const { env: limited, keys } = limiters({ WRITE_LIMITER: 0 });
    expect(
      (await callWith(limited, `/api/v1/auth/tokens/${token_id}`, { method: "DELETE", token: user.token }))
        .status,
    ).toBe(204);
    expect(
      (await callWith(limited, "/api/v1/auth/logout", { method: "POST", token: user.token })).status,
    ).toBe(204);
    expect(keys.WRITE_LIMITER).toEqual([]);
  });

  it("count refreshes per address on a limiter of their own, apart from sign-ins", async () => {
    const user = await createUser();
    const { env: limited, keys } = limiters({ AUTH_LIMITER: 0, REFRESH_LIMITER: 1 });
    const address = "198.18.9.9";
    const first = await callWith(limited, "/api/v1/auth/refresh", {
      body: { refresh_token: user.refreshToken },
      address,
    });
    expect(first.status).toBe(200);
    const { refresh_token } = await first.json<AuthResponseDto>();
    const second = await callWith(limited, "/api/v1/auth/refresh", { body: { refresh_token }, address });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("60");
    expect(keys.AUTH_LIMITER).toEqual([]);
    expect(keys.REFRESH_LIMITER).toEqual([`address:${address}`, `address:${address}`]);
  });

  it("are real Workers rate-limiting bindings, declared in wrangler.toml", async () => {
    for (const name of ["WRITE_LIMITER", "AI_LIMITER", "AUTH_LIMITER", "REFRESH_LIMITER"] as const) {
      expect(await env[name].limit({ key: `probe:${crypto.randomUUID()}` })).toEqual({ success: true });
    }
  });
});
