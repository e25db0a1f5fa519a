import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { AuthResponseDto, UserDto } from "../src/features/auth/schemas";
import type { ProblemBody } from "../src/lib/errors";
import { call, callJson, createUser, problemOf, testAddress } from "./helpers/api";
import { legacyCall, legacyJson } from "./helpers/legacy-client";

/** A username no other test uses (the index is shared by the file's tests). */
const uniqueName = (stem: string) => `${stem}_${crypto.randomUUID().slice(0, 8)}`;
const uniqueEmail = () => `${crypto.randomUUID().slice(0, 12)}@example.com`;

/** What the mobile app reads from a token answer (authService.ts) and from GET /auth/profile. */
function expectAppUser(
  user: UserDto,
  expected: { id: string; username: string | null; email: string; full_name: string | null },
) {
  expect(user.user_id).toBe(expected.id);
  expect(user.id).toBe(expected.id);
  expect(user.username).toBe(expected.username);
  expect(user.email).toBe(expected.email);
  expect(user.full_name).toBe(expected.full_name);
  expect(user.display_name).toBe(expected.full_name);
  expect(user.is_active).toBe(true);
  expect(user.created_at).toMatch(/Z$/);
}

async function registerByApp(
  username: string,
  email = uniqueEmail(),
  fullName: string | null = "Sam Rivers",
) {
  const body = {
    username,
    email,
    password: "correct horse battery",
    ...(fullName ? { full_name: fullName } : {}),
  };
  return legacyJson<AuthResponseDto>("/auth/register", 201, { body });
}

describe("the mobile app's sign-up and sign-in (calls 1–4)", () => {
  it("registers with username and full_name, then signs in by username in another case, and by email", async () => {
    const username = uniqueName("Sam_Rivers");
    const email = uniqueEmail();
    const registered = await registerByApp(username, email);
    expect(registered.token_type).toBe("bearer");
    expect(registered.expires_in).toBeGreaterThan(0);
    expect(registered.access_token.split(".")).toHaveLength(3);
    expect(registered.refresh_token.length).toBeGreaterThan(10);
    const id = registered.user.id;
    expectAppUser(registered.user, { id, username, email, full_name: "Sam Rivers" });
    const row = await env.DB.prepare("SELECT username, username_key, display_name FROM users WHERE id = ?")
      .bind(id)
      .first<{ username: string; username_key: string; display_name: string }>();
    expect(row).toEqual({ username, username_key: username.toLowerCase(), display_name: "Sam Rivers" });

    const byName = await legacyJson<AuthResponseDto>("/auth/login", 200, {
      body: { username: username.toUpperCase(), password: "correct horse battery" },
    });
    expect(byName.token_type).toBe("bearer");
    expectAppUser(byName.user, { id, username, email, full_name: "Sam Rivers" });
    // The app's one field takes an email too.
    const byEmailInUsername = await legacyJson<AuthResponseDto>("/auth/login", 200, {
      body: { username: email.toUpperCase(), password: "correct horse battery" },
    });
    expect(byEmailInUsername.user.user_id).toBe(id);
    const byEmail = await legacyJson<AuthResponseDto>("/auth/login", 200, {
      body: { email, password: "correct horse battery" },
    });
    expect(byEmail.user.user_id).toBe(id);
  });

  it("answers the profile (with the app's JSON content type on a GET) and refreshes with the same user", async () => {
    const username = uniqueName("river");
    const email = uniqueEmail();
    const signedIn = await registerByApp(username, email, null);
    const id = signedIn.user.id;
    for (const transport of ["app", "curl"] as const) {
      const profile = await legacyJson<UserDto>("/auth/profile", 200, {
        token: signedIn.access_token,
        transport,
      });
      expectAppUser(profile, { id, username, email, full_name: null });
    }
    const refreshed = await legacyJson<AuthResponseDto>("/auth/refresh", 200, {
      body: { refresh_token: signedIn.refresh_token },
    });
    expect(refreshed.token_type).toBe("bearer");
    expectAppUser(refreshed.user, { id, username, email, full_name: null });
    const me = await legacyJson<UserDto>("/auth/me", 200, { token: refreshed.access_token });
    expectAppUser(me, { id, username, email, full_name: null });
  });

  it("signs out as the app does: a POST with the JSON content type and no body (or zero bytes)", async () => {
    for (const transport of ["app", "app-empty"] as const) {
      const signedIn = await registerByApp(uniqueName("bye"));
      const res = await legacyCall("/auth/logout", {
        method: "POST",
        token: signedIn.access_token,
        transport,
      });
      expect(res.status).toBe(204);
      const again = await legacyCall("/auth/refresh", { body: { refresh_token: signedIn.refresh_token } });
      expect(again.status).toBe(401);
    }
  });

  it("answers 401 (not 403) to the profile without a token, so the app refreshes", async () => {
    const res = await legacyCall("/auth/profile");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toContain("Bearer");
    expect((await res.json<ProblemBody>()).detail).toBeTruthy();
  });

  it("answers a wrong password and an unknown username with the same 401 sentence", async () => {
    const username = uniqueName("guess");
    await registerByApp(username);
    const wrong = await legacyCall("/auth/login", { body: { username, password: "wrong password" } });
    const unknown = await legacyCall("/auth/login", {
      body: { username: uniqueName("ghost"), password: "whatever1" },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const detail = (await problemOf(wrong)).detail;
    expect(detail).toBe("The username, email or password is not correct.");
    expect((await problemOf(unknown)).detail).toBe(detail);
  });
});

describe("usernames", () => {
  it("are unique whatever their case: 409 username_taken, told apart from email_taken", async () => {
    const username = uniqueName("Casey");
    const first = await registerByApp(username);
    const taken = await legacyCall("/auth/register", {
      body: { username: username.toLowerCase(), email: uniqueEmail(), password: "correct horse battery" },
    });
    expect(taken.status).toBe(409);
    const problem = await problemOf(taken);
    expect(problem.code).toBe("username_taken");
    expect(problem.detail).toBe("This username is taken; choose another one.");
    const emailTaken = await legacyCall("/auth/register", {
      body: { username: uniqueName("other"), email: first.user.email, password: "correct horse battery" },
    });
    expect(emailTaken.status).toBe(409);
    expect((await problemOf(emailTaken)).code).toBe("email_taken");
  });

  it("are compared in NFKC: a full-width spelling is the same username", async () => {
    const stem = crypto
      .randomUUID()
      .slice(0, 6)
      .replace(/[^a-z]/g, "q");
    await registerByApp(`ab${stem}`);
    const fullWidth = `ａｂ${stem}`;
    const res = await legacyCall("/auth/register", {
      body: { username: fullWidth, email: uniqueEmail(), password: "correct horse battery" },
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("username_taken");
  });

  it("refuse an @, digits only, spaces, and lengths outside 3–50 with 422 naming username", async () => {
    for (const username of ["sam@home", "12345", "two words", "ab", "x".repeat(51)]) {
      const res = await call("/api/v1/auth/register", {
        body: { username, email: uniqueEmail(), password: "correct horse battery" },
        headers: { "cf-connecting-ip": testAddress() },
      });
      expect(res.status, username).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["username"]);
    }
  });

  it("are trimmed, and accept letters of any script, digits, _ . -", async () => {
    const username = `Zoë.${crypto.randomUUID().slice(0, 6)}-日本_1`;
    const body = await registerByApp(`  ${username} `);
    expect(body.user.username).toBe(username);
  });

  it("can be added, changed and removed by PATCH /auth/me, with full_name as display_name", async () => {
    const user = await createUser();
    const taken = uniqueName("taken");
    await registerByApp(taken);
    const username = uniqueName("later");
    const patched = await callJson<UserDto>("/api/v1/auth/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { username, full_name: "Later Name" },
    });
    expect(patched.username).toBe(username);
    expect(patched.full_name).toBe("Later Name");
    expect(patched.display_name).toBe("Later Name");
    await callJson("/api/v1/auth/login", 200, { body: { username, password: user.password } });

    const clash = await call("/api/v1/auth/me", {
      method: "PATCH",
      token: user.token,
      body: { username: taken.toUpperCase() },
    });
    expect(clash.status).toBe(409);
    expect((await problemOf(clash)).code).toBe("username_taken");

    const removed = await callJson<UserDto>("/api/v1/auth/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { username: null },
    });
    expect(removed.username).toBeNull();
    const row = await env.DB.prepare("SELECT username_key FROM users WHERE id = ?")
      .bind(user.id)
      .first<{ username_key: string | null }>();
    expect(row?.username_key).toBeNull();
    const gone = await call("/api/v1/auth/login", { body: { username, password: user.password } });
    expect(gone.status).toBe(401);
  });
});

describe("the request shapes", () => {
  it("refuse a full_name that differs from display_name (422 naming full_name); the same value is fine", async () => {
    const base = { email: uniqueEmail(), password: "correct horse battery" };
    const res = await call("/api/v1/auth/register", {
      body: { ...base, full_name: "One", display_name: "Two" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["full_name"]);
    const same = await callJson<AuthResponseDto>("/api/v1/auth/register", 201, {
      body: { ...base, full_name: "One", display_name: "One" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(same.user.full_name).toBe("One");
  });

  it("refuse a login with neither or both of email and username (422 naming the field)", async () => {
    const neither = await call("/api/v1/auth/login", { body: { password: "whatever1" } });
    expect(neither.status).toBe(422);
    expect((await problemOf(neither)).errors?.map((e) => e.field)).toEqual(["email"]);
    const both = await call("/api/v1/auth/login", {
      body: { email: uniqueEmail(), username: "someone", password: "whatever1" },
    });
    expect(both.status).toBe(422);
    expect((await problemOf(both)).errors?.map((e) => e.field)).toEqual(["username"]);
  });
});

describe("the login throttle", () => {
  it("is shared by both spellings: 5 wrong by username, then 1 by email, is locked (429)", async () => {
    const username = uniqueName("locky");
    const email = uniqueEmail();
    await registerByApp(username, email);
    const address = { "cf-connecting-ip": testAddress() };
    for (let i = 0; i < 5; i++) {
      const res = await call("/api/v1/auth/login", {
        body: { username, password: `wrong-${i}-password` },
        headers: address,
      });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    const byEmail = await call("/api/v1/auth/login", {
      body: { email, password: "correct horse battery" },
      headers: { "cf-connecting-ip": testAddress() },
    });
    expect(byEmail.status).toBe(429);
    expect((await problemOf(byEmail)).code).toBe("too_many_attempts");
  });

  it("counts an unknown username under its own key: 5 wrong lock that name, not a real account", async () => {
    const ghost = uniqueName("ghost");
    const address = { "cf-connecting-ip": testAddress() };
    for (let i = 0; i < 5; i++) {
      const res = await call("/api/v1/auth/login", {
        body: { username: ghost, password: "wrong pw 1" },
        headers: address,
      });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
    const locked = await call("/api/v1/auth/login", {
      body: { username: ghost, password: "wrong pw 1" },
      headers: address,
    });
    expect(locked.status).toBe(429);
    await locked.body?.cancel();
    const key = await env.DB.prepare("SELECT failures FROM login_throttles WHERE key = ?")
      .bind(`account:username:${ghost.toLowerCase()}`)
      .first<{ failures: number }>();
    expect(key?.failures).toBe(5);
  });
});
