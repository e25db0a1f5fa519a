import { describe, expect, it } from "vitest";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import { REFRESH_RETRY_GRACE_MS } from "../src/features/auth/sessions";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";

const refresh = (refreshToken: string) =>
  call("/api/v1/auth/refresh", { body: { refresh_token: refreshToken } });

describe("credential routes need a live login", () => {
  it("refuses an access token whose login was ended by logout-all to mint an API token", async () => {
    const user = await createUser();
    await callJson("/api/v1/auth/logout", 204, { token: user.token, body: { all: true } });
    const mint = await call("/api/v1/auth/tokens", {
      token: user.token,
      body: { name: "after logout", scopes: ["tasks:read"] },
    });
    expect(mint.status).toBe(401);
    expect((await problemOf(mint)).detail).toContain("signed out");
  });

  it("refuses listing and revoking API tokens with the access token of an ended login", async () => {
    const user = await createUser();
    const created = await createApiToken(user.token, { name: "kept", scopes: ["tasks:read"] });
    await callJson("/api/v1/auth/logout", 204, { method: "POST", token: user.token });
    const list = await call("/api/v1/auth/tokens", { token: user.token });
    expect(list.status).toBe(401);
    await list.body?.cancel();
    const revoke = await call(`/api/v1/auth/tokens/${created.id}`, { method: "DELETE", token: user.token });
    expect(revoke.status).toBe(401);
    await revoke.body?.cancel();
  });

  it("refuses an ended login's access token to register an agent, which would mint the agent a token", async () => {
    const user = await createUser();
    await callJson("/api/v1/auth/logout", 204, { token: user.token, body: { all: true } });
    const res = await call("/api/v1/delegation/agents/register", {
      token: user.token,
      body: { agent_id: "after-logout", agent_type: "backend-tdd", capabilities: ["typescript"] },
    });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("signed out");
  });

  it("keeps another login's access token working after one login signs out", async () => {
    const user = await createUser();
    const second = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: user.email, password: user.password },
    });
    await callJson("/api/v1/auth/logout", 204, { method: "POST", token: user.token });
    await createApiToken(second.access_token, { name: "still signed in", scopes: ["tasks:read"] });
  });

  it("keeps ordinary routes stateless: an ended login's access token still reads until it expires", async () => {
    const user = await createUser();
    await callJson("/api/v1/auth/logout", 204, { token: user.token, body: { all: true } });
    await callJson("/api/v1/auth/me", 200, { token: user.token });
  });
});

describe("refresh retried in parallel", () => {
  it("answers 8 parallel refreshes with one token with the same new pair, which then works", async () => {
    const user = await createUser();
    const answers = await Promise.all(Array.from({ length: 8 }, () => refresh(user.refreshToken)));
    expect(answers.map((res) => res.status)).toEqual(Array(8).fill(200));
    const bodies = await Promise.all(answers.map((res) => res.json<AuthResponseDto>()));
    const first = bodies[0] as AuthResponseDto;
    expect(first.refresh_token).not.toBe(user.refreshToken);
    expect(new Set(bodies.map((b) => b.refresh_token))).toEqual(new Set([first.refresh_token]));
    expect(new Set(bodies.map((b) => b.access_token))).toEqual(new Set([first.access_token]));
    await createApiToken(first.access_token, { name: "after the retries", scopes: ["tasks:read"] });
    await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: first.refresh_token },
    });
  });

  it("answers a retry seconds after the rotation with the same pair", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const rotated = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    clock.tick(20_000);
    const retry = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    expect(retry.refresh_token).toBe(rotated.refresh_token);
    expect(retry.access_token).toBe(rotated.access_token);
    expect(retry.expires_in).toBe(rotated.expires_in - 20);
  });

  it("treats a rotated token presented after the grace window as stolen: 401 and the login ends", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const rotated = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    clock.tick(REFRESH_RETRY_GRACE_MS + 1000);
    const reuse = await refresh(user.refreshToken);
    expect(reuse.status).toBe(401);
    expect((await problemOf(reuse)).detail).toContain("already used");
    const successor = await refresh(rotated.refresh_token);
    expect(successor.status).toBe(401);
    await successor.body?.cancel();
    const mint = await call("/api/v1/auth/tokens", {
      token: rotated.access_token,
      body: { name: "x", scopes: ["tasks:read"] },
    });
    expect(mint.status).toBe(401);
    await mint.body?.cancel();
  });

  it("does not revive a login that signed out within the grace window", async () => {
    const user = await createUser();
    const rotated = await callJson<AuthResponseDto>("/api/v1/auth/refresh", 200, {
      body: { refresh_token: user.refreshToken },
    });
    await callJson("/api/v1/auth/logout", 204, { method: "POST", token: rotated.access_token });
    const retry = await refresh(user.refreshToken);
    expect(retry.status).toBe(401);
    await retry.body?.cancel();
  });
});
