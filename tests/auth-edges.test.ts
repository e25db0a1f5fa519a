import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ApiTokenDto, AuthResponseDto, CreatedApiTokenDto, UserDto } from "../src/features/auth/schemas";
import { lockedOut, retryAfterSeconds } from "../src/features/auth/throttle";
import { refreshTokenTtlDays } from "../src/lib/auth/config";
import { call, callJson, callWith, createUser, problemOf, testAddress } from "./helpers/api";
import { backdated } from "./helpers/clock";
import { beforeStatements, spyOnBatches } from "./helpers/sql-spy";

const DAY_MS = 86_400_000;
const LOST = "D1_ERROR: Network connection lost.";

const refresh = (refreshToken: string) =>
  call("/api/v1/auth/refresh", { body: { refresh_token: refreshToken } });

/** Signs in once more as `user`: another login (refresh family) of the same account. */
const signIn = (email: string, password: string) =>
  callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
    body: { email, password },
    headers: { "cf-connecting-ip": testAddress() },
  });

const userRow = (id: string) =>
  env.DB.prepare("SELECT email, display_name FROM users WHERE id = ?")
    .bind(id)
    .first<{ email: string; display_name: string | null }>();

describe("signing up while D1 drops the connection", () => {
  it("answers 503 with Retry-After, not email_taken, and the email can sign up once D1 answers", async () => {
    const email = `dropped-${crypto.randomUUID().slice(0, 8)}@example.com`;
    const body = { email, password: "correct horse battery", display_name: "Dropped" };
    const dropping = spyOnBatches(env.DB, (texts, run) =>
      texts.some((text) => /^insert into "users"/i.test(text)) ? Promise.reject(new Error(LOST)) : run(),
    );
    const res = await callWith({ DB: dropping }, "/api/v1/auth/register", {
      body,
      address: testAddress(),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await problemOf(res)).toMatchObject({ code: "temporarily_unavailable" });
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM users WHERE email = ?")
      .bind(email)
      .first<{ n: number }>();
    expect(stored?.n).toBe(0);

    const registered = await callJson<AuthResponseDto>("/api/v1/auth/register", 201, {
      body,
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(registered.user.email).toBe(email);
  });
});

describe("changing the profile", () => {
  it("answers 503 when D1 drops the update, and the profile is as it was", async () => {
    const user = await createUser();
    const dropping = beforeStatements(env.DB, /^update "users"/i, () => Promise.reject(new Error(LOST)));
    const res = await callWith({ DB: dropping }, "/api/v1/auth/me", {
      method: "PATCH",
      token: user.token,
      body: { display_name: "Never written" },
    });
    expect(res.status).toBe(503);
    expect(await problemOf(res)).toMatchObject({ code: "temporarily_unavailable" });
    expect((await userRow(user.id))?.display_name).toBe("Test User");
  });

  it("answers 401 when the account is deleted just before the change is written, and writes nothing", async () => {
    const user = await createUser();
    const deleting = beforeStatements(env.DB, /^update "users"/i, async () => {
      await env.DB.prepare("DELETE FROM users WHERE id = ?").bind(user.id).run();
    });
    const res = await callWith({ DB: deleting }, "/api/v1/auth/me", {
      method: "PATCH",
      token: user.token,
      body: { display_name: "Too late" },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("no longer exists");
    expect(await userRow(user.id)).toBeNull();
  });
});

describe("API tokens with the admin scope", () => {
  it("are refused (403) to an account not listed in ADMIN_EMAILS, and none is stored", async () => {
    const user = await createUser();
    const res = await call("/api/v1/auth/tokens", {
      token: user.token,
      body: { name: "root", scopes: ["tasks:read", "admin"] },
    });
    expect(res.status).toBe(403);
    expect((await problemOf(res)).detail).toContain("administrators");
    expect(await callJson<ApiTokenDto[]>("/api/v1/auth/tokens", 200, { token: user.token })).toEqual([]);
  });

  it("are issued to an administrator, with the scope stored", async () => {
    const user = await createUser();
    const res = await callWith(
      { ADMIN_EMAILS: `someone@example.com, ${user.email.toUpperCase()}` },
      "/api/v1/auth/tokens",
      {
        token: user.token,
        body: { name: "ops", scopes: ["admin", "admin"] },
      },
    );
    expect(res.status).toBe(201);
    const created = await res.json<CreatedApiTokenDto>();
    expect(created.scopes).toEqual(["admin"]);
    const row = await env.DB.prepare("SELECT user_id, scopes FROM api_tokens WHERE id = ?")
      .bind(created.id)
      .first<{ user_id: string; scopes: string }>();
    expect(row?.user_id).toBe(user.id);
    expect(JSON.parse(row?.scopes ?? "[]")).toEqual(["admin"]);
  });
});

describe("refreshing", () => {
  it("answers 401 to a refresh token that was never issued", async () => {
    const res = await refresh(`never-issued-${crypto.randomUUID()}`);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toBe("The refresh token is not valid.");
  });

  it("answers 401 to a refresh token past its lifetime, and issues nothing", async () => {
    const lifetime = refreshTokenTtlDays(env) * DAY_MS;
    const user = await backdated(lifetime + DAY_MS, () => createUser());
    const res = await refresh(user.refreshToken);
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("expired");
    const tokens = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(tokens?.n).toBe(1);
  });
});

describe("refreshing while the account is erased", () => {
  it("answers 401 and issues nothing when the token's row is erased between its read and its rotation", async () => {
    const user = await createUser();
    const erasing = spyOnBatches(env.DB, async (texts, run) => {
      if (texts.some((text) => /^update "refresh_tokens"/i.test(text))) {
        // The account's erasure deletes its refresh tokens just as the rotation is sent.
        await env.DB.prepare("DELETE FROM refresh_tokens WHERE user_id = ?").bind(user.id).run();
      }
      return run();
    });
    const res = await callWith({ DB: erasing }, "/api/v1/auth/refresh", {
      body: { refresh_token: user.refreshToken },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("already used");
    const left = await env.DB.prepare("SELECT count(*) AS n FROM refresh_tokens WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("logging out one named login", () => {
  it("ends the login the refresh token belongs to, not the caller's", async () => {
    const user = await createUser();
    const other = await signIn(user.email, user.password);
    await callJson("/api/v1/auth/logout", 204, {
      token: user.token,
      body: { refresh_token: other.refresh_token },
    });
    const ended = await refresh(other.refresh_token);
    expect(ended.status).toBe(401);
    await ended.body?.cancel();
    // The caller's own login goes on.
    await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
  });

  it("ends the caller's own login when the refresh token is not one of theirs, never another account's", async () => {
    const user = await createUser();
    const stranger = await createUser();
    await callJson("/api/v1/auth/logout", 204, {
      token: user.token,
      body: { refresh_token: stranger.refreshToken },
    });
    const own = await refresh(user.refreshToken);
    expect(own.status).toBe(401);
    await own.body?.cancel();
    await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: stranger.refreshToken },
    });
    await callJson<UserDto>("/api/v1/auth/me", 200, { token: stranger.token });
  });
});

describe("the login throttle's Retry-After", () => {
  const now = Date.now();

  it("counts the seconds to the latest lock still in force, rounded up", () => {
    expect(retryAfterSeconds([{ lockedUntil: now + 1500 }, { lockedUntil: now + 30_000 }], now)).toBe(30);
    expect(retryAfterSeconds([{ lockedUntil: now + 1 }, { lockedUntil: null }], now)).toBe(1);
  });

  it("is 0 when no lock is in force: none, or only lapsed ones", () => {
    expect(retryAfterSeconds([], now)).toBe(0);
    expect(retryAfterSeconds([{ lockedUntil: null }], now)).toBe(0);
    expect(retryAfterSeconds([{ lockedUntil: now }, { lockedUntil: now - 60_000 }], now)).toBe(0);
  });

  it("tells a refused attempt to wait at least a second, even when the lock has just lapsed", () => {
    const refused = lockedOut([{ lockedUntil: now - 10 }], now);
    expect(refused.status).toBe(429);
    expect(refused.code).toBe("too_many_attempts");
    expect(refused.headers).toEqual({ "Retry-After": "1" });
    expect(lockedOut([{ lockedUntil: now + 90_500 }], now).headers).toEqual({ "Retry-After": "91" });
  });
});
