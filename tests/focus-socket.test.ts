import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { revokeApiToken } from "../src/features/auth/api-tokens";
import type { AuthResponseDto } from "../src/features/auth/schemas";
import type { SocketTicketDto } from "../src/lib/live-socket-routes";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { apiTokenFor, createApiToken, revokeApiTokenOf } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";
import {
  connect,
  type FocusState,
  focusAction,
  focusStateOf,
  openSocket,
  runTimerAlarm,
  type SocketMessage,
  startFocus,
  type TestSocket,
  timerOf,
} from "./helpers/focus";

const MIN = 60_000;
const sockets: TestSocket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function open(options: Parameters<typeof openSocket>[0]): Promise<TestSocket> {
  const socket = await openSocket(options);
  sockets.push(socket);
  return socket;
}

const summary = (m: SocketMessage) => [m.type, m.seq, m.event ?? null];

async function ticketFor(user: TestUser): Promise<string> {
  const body = await callJson<SocketTicketDto>("/api/v1/focus/ws-ticket", 201, {
    method: "POST",
    token: user.token,
  });
  expect(body.expires_in).toBe(60);
  expect(body.url).toBe(`/api/v1/focus/ws?ticket=${encodeURIComponent(body.ticket)}`);
  return body.ticket;
}

describe("the focus WebSocket", () => {
  it("tells every device of the user each change in order, and another user's socket nothing", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const phone = await open({ token: alice.token });
    const laptop = await open({ ticket: await ticketFor(alice) });
    const bobs = await open({ token: bob.token });
    const [hello] = await phone.waitFor(1);
    expect(hello).toMatchObject({ type: "hello", seq: 0, replayed: 0, gap: false, state: { phase: "idle" } });

    await startFocus(alice);
    await focusAction(alice, "pause");
    await focusAction(alice, "resume");
    for (const device of [phone, laptop]) {
      const messages = await device.waitFor(4);
      expect(messages.map(summary)).toEqual([
        ["hello", 0, null],
        ["state", 1, "started"],
        ["state", 2, "paused"],
        ["state", 3, "resumed"],
      ]);
      expect(messages[2]?.state).toMatchObject({ seq: 2, status: "paused" });
    }
    // Bob's own action reaches Bob only.
    await startFocus(bob);
    expect((await bobs.waitFor(2)).map(summary)).toEqual([
      ["hello", 0, null],
      ["state", 1, "started"],
    ]);
    expect(phone.messages).toHaveLength(4);
    expect(laptop.messages).toHaveLength(4);
    expect(JSON.stringify(bobs.messages)).not.toContain(alice.id);
  });

  it("takes actions over the socket and answers each with an ack or a problem", async () => {
    const user = await createUser();
    const socket = await open({ token: user.token });
    await socket.waitFor(1);
    socket.ws.send(
      JSON.stringify({ type: "action", action: "start", kind: "short_burst", request_id: "r1" }),
    );
    const [, started, ack] = await socket.waitFor(3);
    expect(started).toMatchObject({
      type: "state",
      event: "started",
      state: { session: { kind: "short_burst" } },
    });
    expect(ack).toEqual({ type: "ack", request_id: "r1", seq: 1 });

    socket.ws.send(JSON.stringify({ type: "action", action: "resume", request_id: "r2" }));
    expect((await socket.waitFor(4))[3]).toMatchObject({
      type: "error",
      request_id: "r2",
      status: 409,
      code: "not_paused",
    });
    socket.ws.send(JSON.stringify({ type: "action", action: "extend", minutes: 0, request_id: "r3" }));
    expect((await socket.waitFor(5))[4]).toMatchObject({ type: "error", request_id: "r3", status: 422 });
    socket.ws.send("not json");
    expect((await socket.waitFor(6))[5]).toMatchObject({
      type: "error",
      status: 400,
      code: "malformed_json",
    });
    socket.ws.send(JSON.stringify({ type: "dance" }));
    expect((await socket.waitFor(7))[6]).toMatchObject({ type: "error", status: 422 });
    socket.ws.send(JSON.stringify({ type: "ping" }));
    expect((await socket.waitFor(8))[7]).toEqual({ type: "pong" });
    // The socket's actions are the same as HTTP's: the session is really running.
    const state = await callJson<FocusState>("/api/v1/focus/current", 200, {
      token: user.token,
    });
    expect(state.session?.kind).toBe("short_burst");
  });

  it("replays what a reconnecting client missed after ?since, and flags a gap it cannot fill", async () => {
    const user = await createUser();
    await startFocus(user);
    await focusAction(user, "pause");
    await focusAction(user, "resume");
    const back = await open({ token: user.token, query: "since=1" });
    expect((await back.waitFor(3)).map(summary)).toEqual([
      ["state", 2, "paused"],
      ["state", 3, "resumed"],
      ["hello", 3, null],
    ]);
    expect(back.messages[2]).toMatchObject({ replayed: 2, gap: false });
    const confused = await open({ token: user.token, query: "since=99" });
    expect((await confused.waitFor(1))[0]).toMatchObject({ type: "hello", seq: 3, replayed: 0, gap: true });
  });

  it("pushes work over from the alarm to connected devices, with nobody calling the API", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const { token } = await createApiToken(user.token, {
      name: "clockwork",
      scopes: ["focus:read", "focus:write"],
    });
    const apiUser = { ...user, token };
    const socket = await open({ token });
    await startFocus(apiUser, { kind: "custom", duration_minutes: 5 });
    clock.tick(5 * MIN);
    await runTimerAlarm(apiUser);
    const messages = await socket.waitFor(3);
    expect(messages[2]).toMatchObject({
      type: "state",
      event: "work_over",
      state: { phase: "break", last_session: { end_reason: "time_up" } },
    });
  });

  it("keeps hibernated sockets across eviction and still delivers to them", async () => {
    const user = await createUser();
    const socket = await open({ token: user.token });
    await socket.waitFor(1);
    await evictDurableObject(timerOf(user));
    await startFocus(user);
    expect((await socket.waitFor(2))[1]).toMatchObject({ type: "state", seq: 1, event: "started" });
  });

  it("selects the focus subprotocol and never echoes the token", async () => {
    const user = await createUser();
    const res = await connect({ token: user.token });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("pap.focus.v1");
    res.webSocket?.accept();
    res.webSocket?.close(1000, "done");
  });
});

describe("what a socket may do, and for how long", () => {
  it("refuses actions from a socket opened with a read-only token, and still tells it every change", async () => {
    const user = await createUser();
    const { token } = await apiTokenFor(user, ["focus:read"]);
    const socket = await open({ token });
    await socket.waitFor(1);
    socket.ws.send(JSON.stringify({ type: "action", action: "start", request_id: "r1" }));
    expect((await socket.waitFor(2))[1]).toMatchObject({
      type: "error",
      request_id: "r1",
      status: 403,
      code: "forbidden",
    });
    expect((await focusStateOf(user)).phase).toBe("idle");
    await startFocus(user);
    expect((await socket.waitFor(3))[2]).toMatchObject({ type: "state", event: "started" });
  });

  it("applies an action sent twice with one request_id once, answering both", async () => {
    const user = await createUser();
    await startFocus(user);
    const socket = await open({ token: user.token });
    await socket.waitFor(1);
    const extend = JSON.stringify({ type: "action", action: "extend", minutes: 5, request_id: "ext-1" });
    socket.ws.send(extend);
    await socket.waitFor(3);
    socket.ws.send(extend);
    const acks = (await socket.waitFor(4)).filter((m) => m.type === "ack");
    expect(acks).toEqual([
      { type: "ack", request_id: "ext-1", seq: 2 },
      { type: "ack", request_id: "ext-1", seq: 2 },
    ]);
    expect((await focusStateOf(user)).session?.planned_minutes).toBe(30);
  });

  it("replays the first answer to a retry that differs only in an enum's letter case", async () => {
    const user = await createUser();
    const socket = await open({ token: user.token });
    await socket.waitFor(1);
    const start = (kind: string) =>
      JSON.stringify({ type: "action", action: "start", kind, duration_minutes: 60, request_id: "s-1" });
    socket.ws.send(start("DEEP_WORK"));
    await socket.waitFor(3);
    socket.ws.send(start("deep_work"));
    const answers = (await socket.waitFor(4)).filter((m) => m.request_id === "s-1");
    expect(answers).toEqual([
      { type: "ack", request_id: "s-1", seq: 1 },
      { type: "ack", request_id: "s-1", seq: 1 },
    ]);
    expect((await focusStateOf(user)).session?.kind).toBe("deep_work");
  });

  it("closes a socket when the login that opened it expires, instead of sending to it", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const api = await apiTokenFor(user, ["focus:read", "focus:write"]);
    const socket = await open({ token: user.token });
    await socket.waitFor(1);
    clock.tick(16 * MIN);
    await startFocus({ ...user, token: api.token });
    expect(await socket.closed).toMatchObject({ code: 4001 });
    expect(socket.messages.map((m) => m.type)).toEqual(["hello"]);
  });

  it("closes any socket after an hour, so that it re-authenticates", async () => {
    const clock = freezeClock();
    const user = await createUser();
    const api = await apiTokenFor(user, ["focus:read", "focus:write"]);
    const socket = await open({ token: api.token });
    await socket.waitFor(1);
    clock.tick(59 * MIN);
    await startFocus({ ...user, token: api.token });
    await socket.waitFor(2);
    clock.tick(2 * MIN);
    await focusAction({ ...user, token: api.token }, "pause");
    expect(await socket.closed).toMatchObject({ code: 4001 });
    expect(socket.messages).toHaveLength(2);
  });
});

describe("the sockets of a revoked API token", () => {
  it("are closed with 4001 at once, read-only or not, and get no further change", async () => {
    const user = await createUser();
    const reader = await apiTokenFor(user, ["focus:read"]);
    const writer = await apiTokenFor(user, ["focus:read", "focus:write"]);
    const readOnly = await open({ token: reader.token });
    const readWrite = await open({ ticket: await ticketFor({ ...user, token: writer.token }) });
    const login = await open({ token: user.token });
    await Promise.all([readOnly.waitFor(1), readWrite.waitFor(1), login.waitFor(1)]);

    await revokeApiTokenOf(user, reader.id);
    await revokeApiTokenOf(user, writer.id);
    await startFocus(user);
    expect((await login.waitFor(2))[1]).toMatchObject({ type: "state", event: "started" });
    for (const socket of [readOnly, readWrite]) {
      expect(socket.messages.map((m) => m.type)).toEqual(["hello"]);
      expect(await socket.closedSoon()).toMatchObject({ code: 4001 });
    }
  });

  it("are closed at their next action, before their scope is looked at, if the revocation never reached them", async () => {
    const user = await createUser();
    const reader = await apiTokenFor(user, ["focus:read"]);
    const socket = await open({ token: reader.token });
    await socket.waitFor(1);
    // Revoked in D1 only, as when the live object could not be told.
    await revokeApiToken(createDatabase(env.DB), user.id, reader.id);
    socket.ws.send(JSON.stringify({ type: "action", action: "start", request_id: "late" }));
    expect(await socket.closedSoon()).toMatchObject({ code: 4001 });
    expect(socket.messages.map((m) => m.type)).toEqual(["hello"]);
  });

  it("cannot be opened by an upgrade that was let in just before the revocation reached the timer", async () => {
    const user = await createUser();
    const reader = await apiTokenFor(user, ["focus:read"]);
    // The timer hears of the revocation before the upgrade, authenticated a moment earlier, arrives.
    await timerOf(user).closeCredential(reader.id);
    const res = await connect({ token: reader.token });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).detail).toContain("revoked");
  });

  it("cannot be opened with a ticket asked for before the revocation", async () => {
    const user = await createUser();
    const reader = await apiTokenFor(user, ["focus:read"]);
    const ticket = await ticketFor({ ...user, token: reader.token });
    await revokeApiTokenOf(user, reader.id);
    const res = await connect({ ticket });
    expect(res.status).toBe(401);
    expect((await problemOf(res)).code).toBe("unauthorized");
  });
});

describe("logging out", () => {
  it("closes the sockets the session opened with 4001, and no other login's", async () => {
    const user = await createUser();
    const other = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: user.email, password: user.password },
    });
    const ended = await open({ token: user.token });
    const kept = await open({ token: other.access_token });
    await Promise.all([ended.waitFor(1), kept.waitFor(1)]);
    await callJson("/api/v1/auth/logout", 204, { method: "POST", token: user.token });
    expect(await ended.closedSoon()).toMatchObject({ code: 4001 });
    await startFocus({ ...user, token: other.access_token });
    expect((await kept.waitFor(2))[1]).toMatchObject({ type: "state", event: "started" });
    expect(ended.messages.map((m) => m.type)).toEqual(["hello"]);
  });

  it("closes every login's sockets when one signs out everywhere", async () => {
    const user = await createUser();
    const other = await callJson<AuthResponseDto>("/api/v1/auth/login", 200, {
      body: { email: user.email, password: user.password },
    });
    const mine = await open({ token: user.token });
    const theirs = await open({ token: other.access_token });
    await Promise.all([mine.waitFor(1), theirs.waitFor(1)]);
    await callJson("/api/v1/auth/logout", 204, { token: user.token, body: { all: true } });
    expect(await mine.closedSoon()).toMatchObject({ code: 4001 });
    expect(await theirs.closedSoon()).toMatchObject({ code: 4001 });
  });
});

describe("opening the focus WebSocket", () => {
  it("refuses a used ticket and a forged one with 401", async () => {
    const user = await createUser();
    const ticket = await ticketFor(user);
    await open({ ticket });
    for (const bad of [ticket, `${ticket.slice(0, -4)}AAAA`, user.token]) {
      const res = await connect({ ticket: bad });
      expect(res.status).toBe(401);
      expect((await problemOf(res)).code).toBe("unauthorized");
    }
  });

  it("refuses no credentials with 401, a token without focus:read with 403, and a plain GET with 426", async () => {
    const user = await createUser();
    expect((await connect()).status).toBe(401);
    const { token } = await createApiToken(user.token, { name: "tasks only", scopes: ["tasks:read"] });
    const forbidden = await connect({ token });
    expect(forbidden.status).toBe(403);
    await forbidden.text();
    const plain = await call("/api/v1/focus/ws", { token: user.token });
    expect(plain.status).toBe(426);
    expect((await problemOf(plain)).code).toBe("upgrade_required");
  });

  it("accepts a bearer token in the Authorization header from clients that can send one", async () => {
    const user = await createUser();
    const res = await call("/api/v1/focus/ws", { token: user.token, headers: { upgrade: "websocket" } });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBeNull();
    res.webSocket?.accept();
    res.webSocket?.close(1000, "done");
  });
});
