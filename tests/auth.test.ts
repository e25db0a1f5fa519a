import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthResponseDto, CreatedApiTokenDto, UserDto } from "../src/features/auth/schemas";
import { REFRESH_RETRY_GRACE_MS } from "../src/features/auth/sessions";
import { type AccessClaims, signJwt } from "../src/lib/auth/jwt";
import { base64UrlEncode } from "../src/lib/ids";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";

const claimsFor = (sub: string, overrides: Partial<AccessClaims> = {}): AccessClaims => {
  const now = Math.floor(Date.now() / 1000);
  return {
    sub,
    iss: env.JWT_ISSUER,
    aud: env.JWT_AUDIENCE,
    iat: now,
    exp: now + 600,
    jti: "j",
    sid: "s",
    ...overrides,
  };
};

describe("register", () => {
  it("creates an account and returns tokens", async () => {
    const res = await call("/api/v1/auth/register", {
      body: { email: "  New.Person@Example.com ", password: "long enough pw", timezone: "Europe/Berlin" },
    });
    expect(res.status).toBe(201);
    const body = await res.json<AuthResponseDto>();
    expect(body.user.email).toBe("new.person@example.com");
    expect(body.user.timezone).toBe("Europe/Berlin");
    expect(body.token_type).toBe("bearer");
    expect(body.expires_in).toBe(900);
    expect(body.access_token.split(".")).toHaveLength(3);
    const row = await env.DB.prepare("SELECT password_hash FROM users WHERE id = ?")
      .bind(body.user.id)
      .first<{
        password_hash: string;
      }>();
    expect(row?.password_hash).toMatch(/^pbkdf2-sha256\$v1\$100000\$/);
    expect(row?.password_hash).not.toContain("long enough pw");
  });

  it("answers 409 for an email that is taken, in any letter case", async () => {
    const user = await createUser();
    const res = await call("/api/v1/auth/register", {
      body: { email: user.email.toUpperCase(), password: "another pw1" },
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("email_taken");
  });

  it("rejects a weak password, a bad email and an unknown time zone with 422 naming each field", async () => {
    const res = await call("/api/v1/auth/register", {
      body: { email: "nope", password: "short", timezone: "Mars/Base" },
    });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field).sort()).toEqual(["email", "password", "timezone"]);
  });
});

describe("login", () => {
  it("signs in with the right password", async () => {
    const user = await createUser();
    const body = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: user.email, password: user.password },
    });
    expect(body.user.id).toBe(user.id);
    const me = await callJson<UserDto>("/api/v1/auth/me", 200, { token: body.access_token });
    expect(me.id).toBe(user.id);
  });

  it("answers 401 for a wrong password and for an unknown email alike", async () => {
    const user = await createUser();
    const wrong = await call("/api/v1/auth/login", {
      body: { email: user.email, password: "wrong password" },
    });
    const unknown = await call("/api/v1/auth/login", {
      body: { email: "ghost@example.com", password: "whatever1" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect((await problemOf(wrong)).detail).toBe((await problemOf(unknown)).detail);
  });

  it("locks an account with 429 and Retry-After after repeated failures, even for the right password", async () => {
    const user = await createUser();
    for (let i = 0; i < 5; i++) {
      const res = await call("/api/v1/auth/login", {
        body: { email: user.email, password: `wrong-${i}-password` },
        headers: { "cf-connecting-ip": "203.0.113.9" },
      });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    const locked = await call("/api/v1/auth/login", { body: { email: user.email, password: user.password } });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get("retry-after"))).toBeGreaterThan(800);
    expect((await problemOf(locked)).code).toBe("too_many_attempts");
  });

  it("evaluates at most 5 wrong passwords of 40 sent at once, and refuses the right one while locked", async () => {
    const user = await createUser();
    const attempts = [...Array.from({ length: 39 }, (_, i) => `wrong-${i}-password`), user.password];
    const answers = await Promise.all(
      attempts.map((password) =>
        call("/api/v1/auth/login", {
          body: { email: user.email, password },
          headers: { "cf-connecting-ip": "203.0.113.40" },
        }),
      ),
    );
    const statuses = answers.map((res) => res.status);
    expect(statuses.filter((s) => s === 401).length).toBeLessThanOrEqual(5);
    expect(statuses.filter((s) => s === 401).length + statuses.filter((s) => s === 429).length).toBe(40);
    expect(statuses.at(-1)).toBe(429);
    for (const res of answers) {
      const problem = await problemOf(res);
      if (res.status === 429) {
        expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
        expect(problem.code).toBe("too_many_attempts");
      }
    }
  });

  it("gives a successful login's attempt back: an address keeps its full allowance after sign-ins", async () => {
    const user = await createUser();
    const address = { "cf-connecting-ip": "198.51.100.77" };
    for (let i = 0; i < 31; i++) {
      await callJson("/api/v1/auth/login", 200, {
        body: { email: user.email, password: user.password },
        headers: address,
      });
    }
  });

  it("locks a client address that fails across many accounts", async () => {
    for (let i = 0; i < 30; i++) {
      const res = await call("/api/v1/auth/login", {
        body: { email: `nobody${i}@example.com`, password: "wrong password" },
        headers: { "cf-connecting-ip": "198.51.100.7" },
      });
      await res.body?.cancel();
    }
    const user = await createUser();
    const res = await call("/api/v1/auth/login", {
      body: { email: user.email, password: user.password },
      headers: { "cf-connecting-ip": "198.51.100.7" },
    });
    expect(res.status).toBe(429);
    await res.body?.cancel();
  });
});

describe("access tokens", () => {
  it("answers 401 without a token and with a garbage token", async () => {
    const none = await call("/api/v1/auth/me");
    expect(none.status).toBe(401);
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    await none.body?.cancel();
    const garbage = await call("/api/v1/auth/me", { token: "not-a-jwt" });
    expect(garbage.status).toBe(401);
    await garbage.body?.cancel();
  });

  it("rejects an expired token", async () => {
    const user = await createUser();
    const now = Math.floor(Date.now() / 1000);
    const token = await signJwt(claimsFor(user.id, { iat: now - 1000, exp: now - 10 }), env.JWT_SECRET);
    const res = await call("/api/v1/auth/me", { token });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("expired");
  });

  it("rejects a token with a tampered payload", async () => {
    const user = await createUser();
    const other = await createUser();
    const [head, , sig] = user.token.split(".");
    const payload = base64UrlEncode(new TextEncoder().encode(JSON.stringify(claimsFor(other.id))));
    const res = await call("/api/v1/auth/me", { token: `${head}.${payload}.${sig}` });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it('rejects an unsigned token with alg "none"', async () => {
    const user = await createUser();
    const enc = (v: unknown) => base64UrlEncode(new TextEncoder().encode(JSON.stringify(v)));
    const token = `${enc({ alg: "none", typ: "JWT" })}.${enc(claimsFor(user.id))}.`;
    const res = await call("/api/v1/auth/me", { token });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });

  it("rejects a token signed with another secret or for another audience", async () => {
    const user = await createUser();
    const foreign = await signJwt(claimsFor(user.id), "another-secret-another-secret-another-secret");
    const wrongAudience = await signJwt(claimsFor(user.id, { aud: "someone-else" }), env.JWT_SECRET);
    for (const token of [foreign, wrongAudience]) {
      const res = await call("/api/v1/auth/me", { token });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
  });
});

describe("refresh and logout", () => {
  it("rotates the refresh token: the new one works, the old one stops working after the retry window", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const first = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    expect(first.refresh_token).not.toBe(user.refreshToken);
    clock.tick(REFRESH_RETRY_GRACE_MS + 1000);
    await callJson<UserDto>("/api/v1/auth/me", 200, { token: first.access_token });
    const reuse = await call("/api/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(reuse.status).toBe(401);
    await reuse.body?.cancel();
  });

  it("revokes the whole session when a rotated refresh token is reused after the retry window", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const rotated = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    clock.tick(REFRESH_RETRY_GRACE_MS + 1000);
    const reuse = await call("/api/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(reuse.status).toBe(401);
    await reuse.body?.cancel();
    const afterTheft = await call("/api/v1/auth/refresh", { body: { refresh_token: rotated.refresh_token } });
    expect(afterTheft.status).toBe(401);
    await afterTheft.body?.cancel();
  });

  it("logout ends the session so its refresh token no longer works", async () => {
    const user = await createUser();
    const res = await call("/api/v1/auth/logout", { method: "POST", token: user.token });
    expect(res.status).toBe(204);
    const after = await call("/api/v1/auth/refresh", { body: { refresh_token: user.refreshToken } });
    expect(after.status).toBe(401);
    await after.body?.cancel();
  });

  it("logout with all=true ends every session", async () => {
    const user = await createUser();
    const second = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: user.email, password: user.password },
    });
    await callJson("/api/v1/auth/logout", 204, { token: user.token, body: { all: true } });
    const res = await call("/api/v1/auth/refresh", { body: { refresh_token: second.refresh_token } });
    expect(res.status).toBe(401);
    await res.body?.cancel();
  });
});

describe("profile", () => {
  it("changes time zone and display name", async () => {
    const user = await createUser();
    const updated = await callJson<UserDto>("/api/v1/auth/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { timezone: "Asia/Tokyo", display_name: "Sam" },
    });
    expect(updated).toMatchObject({ timezone: "Asia/Tokyo", display_name: "Sam" });
    const me = await callJson<UserDto>("/api/v1/auth/me", 200, { token: user.token });
    expect(me.timezone).toBe("Asia/Tokyo");
  });
});

describe("personal API tokens", () => {
  it("creates a token shown once, stored only as its SHA-256, usable as a bearer", async () => {
    const user = await createUser();
    const created = await callJson<CreatedApiTokenDto>("/api/v1/auth/tokens", 201, {
      token: user.token,
      body: { name: "agent script", scopes: ["profile:read"], expires_in_days: 30 },
    });
    expect(created.token).toMatch(/^pap_/);
    expect(created.token.startsWith(created.token_prefix)).toBe(true);
    const row = await env.DB.prepare("SELECT token_hash FROM api_tokens WHERE id = ?")
      .bind(created.id)
      .first<{
        token_hash: string;
      }>();
    expect(row?.token_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(row?.token_hash).not.toBe(created.token);
    const me = await callJson<UserDto>("/api/v1/auth/me", 200, { token: created.token });
    expect(me.id).toBe(user.id);
    // The raw answer: a listed token never carries its secret.
    const list = await callJson<Record<string, unknown>[]>("/api/v1/auth/tokens", 200, {
      token: user.token,
    });
    expect(list.map((t) => t.id)).toEqual([created.id]);
    expect(list[0]?.token).toBeUndefined();
  });

  it("answers 403 when the token lacks the route's scope, and API tokens cannot mint tokens", async () => {
    const user = await createUser();
    const created = await createApiToken(user.token, { name: "tasks only", scopes: ["tasks:read"] });
    const me = await call("/api/v1/auth/me", { token: created.token });
    expect(me.status).toBe(403);
    await me.body?.cancel();
    const mint = await call("/api/v1/auth/tokens", {
      token: created.token,
      body: { name: "x", scopes: ["tasks:read"] },
    });
    expect(mint.status).toBe(403);
    await mint.body?.cancel();
  });

  it("stops accepting a revoked token", async () => {
    const user = await createUser();
    const created = await createApiToken(user.token, { name: "temp", scopes: ["profile:read"] });
    await callJson(`/api/v1/auth/tokens/${created.id}`, 204, { method: "DELETE", token: user.token });
    const res = await call("/api/v1/auth/me", { token: created.token });
    expect(res.status).toBe(401);
    await res.body?.cancel();
    const again = await call(`/api/v1/auth/tokens/${created.id}`, { method: "DELETE", token: user.token });
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });

  it("rejects unknown scopes with 422", async () => {
    const user = await createUser();
    const res = await call("/api/v1/auth/tokens", {
      token: user.token,
      body: { name: "x", scopes: ["root"] },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.[0]?.field).toBe("scopes.0");
  });
});
