import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { SOCKET_GRANT_HEADER } from "../src/lib/live-socket";
import { createUser, problemOf, type TestUser } from "./helpers/api";
import { apiTokenFor } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";
import { focusStateOf, openSocket, type SocketMessage, type TestSocket, timerOf } from "./helpers/focus";
import { createRoom, openRoomSocket } from "./helpers/rooms";

const MIN = 60_000;

const sockets: TestSocket<unknown>[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

/** The focus socket of this bearer, once its hello has arrived. */
async function focusSocket(token: string): Promise<TestSocket> {
  const socket = await openSocket({ token });
  sockets.push(socket);
  await socket.waitFor(1);
  return socket;
}

/** A user acting through an API token (tokenId) that may read and change the focus timer. */
async function focusWriter(): Promise<TestUser & { tokenId: string }> {
  const user = await createUser();
  const { token, id } = await apiTokenFor(user, ["focus:read", "focus:write"]);
  return { ...user, token, tokenId: id };
}

/** The keep-alive ping with a space in it: not the exact text the runtime answers for the object. */
const SPACED_PING = '{ "type": "ping" }';

type StatementMethod = (this: unknown, ...args: unknown[]) => Promise<unknown>;

/**
 * Makes every D1 statement that reads `api_tokens` fail as D1 does when the network drops, in this
 * isolate (the Worker's and its objects' D1 calls share these classes); returns the undo.
 */
function loseApiTokens(): () => void {
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as Record<string, StatementMethod>;
  const originals = new Map<string, StatementMethod>();
  for (const name of ["first", "all", "raw", "run"]) {
    const original = statement[name];
    if (!original) continue;
    originals.set(name, original);
    statement[name] = function (this: unknown, ...args: unknown[]) {
      const text = (this as { statement?: string }).statement ?? "";
      return /\bfrom "api_tokens"/i.test(text)
        ? Promise.reject(new Error("D1_ERROR: Network connection lost."))
        : original.apply(this, args);
    };
  }
  return () => {
    for (const [name, original] of originals) statement[name] = original;
  };
}

describe("what the socket hub answers itself", () => {
  it("answers a binary frame with bad_message, and a ping in other spacing with pong, and stays open", async () => {
    const user = await createUser();
    const socket = await focusSocket(user.token);
    socket.ws.send(new TextEncoder().encode(JSON.stringify({ type: "action", action: "start" })));
    expect((await socket.waitFor(2))[1]).toEqual({
      type: "error",
      request_id: null,
      status: 400,
      code: "bad_message",
      detail: "Messages are JSON text.",
    });
    socket.ws.send(SPACED_PING);
    expect((await socket.waitFor(3))[2]).toEqual({ type: "pong" });
    // The binary "start" was not carried out.
    expect((await focusStateOf(user)).phase).toBe("idle");
  });

  it("answers a ping on a room's socket, which takes no actions, with pong", async () => {
    const user = await createUser();
    const room = await createRoom(user);
    const socket = await openRoomSocket(room.room_id, { token: user.token });
    sockets.push(socket);
    await socket.waitFor(1);
    socket.ws.send(SPACED_PING);
    expect((await socket.waitFor(2))[1]).toEqual({ type: "pong" });
  });

  it("carries out an action sent without a request_id and acks it with a null one", async () => {
    const user = await createUser();
    const socket = await focusSocket(user.token);
    socket.ws.send(JSON.stringify({ type: "action", action: "start", kind: "short_burst" }));
    const [, started, ack] = await socket.waitFor(3);
    expect(started).toMatchObject({ type: "state", seq: 1, event: "started" });
    expect(ack).toEqual({ type: "ack", request_id: null, seq: 1 });
    expect((await focusStateOf(user)).session?.kind).toBe("short_burst");
  });

  it("completes a close the client started without a status code, with 1000", async () => {
    const user = await createUser();
    const socket = await focusSocket(user.token);
    // No code: the object hears 1005, which may not be sent back.
    socket.ws.close();
    expect(await socket.closedSoon()).toEqual({ code: 1000, reason: "" });
  });
});

describe("an action from a socket whose credential cannot be trusted", () => {
  it("is not carried out once the socket outlived its hour: the socket is closed with 4001", async () => {
    const clock = freezeClock();
    const user = await focusWriter();
    const socket = await focusSocket(user.token);
    clock.tick(61 * MIN);
    socket.ws.send(JSON.stringify({ type: "action", action: "start", request_id: "late" }));
    expect(await socket.closedSoon()).toEqual({
      code: 4001,
      reason: "The credential that opened this socket has expired; reconnect with a fresh one.",
    });
    expect(socket.messages.map((m) => m.type)).toEqual(["hello"]);
    expect((await focusStateOf(user)).phase).toBe("idle");
  });

  it("is answered 503 while D1 cannot say whether its API token still holds, and goes through once it can", async () => {
    const user = await focusWriter();
    const socket = await focusSocket(user.token);
    const logged: string[] = [];
    const errors = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      logged.push(args.map(String).join(" "));
    });
    const restore = loseApiTokens();
    let refused: SocketMessage | undefined;
    try {
      socket.ws.send(JSON.stringify({ type: "action", action: "start", request_id: "r1" }));
      refused = (await socket.waitFor(2))[1];
    } finally {
      restore();
      errors.mockRestore();
    }
    expect(refused).toEqual({
      type: "error",
      request_id: "r1",
      status: 503,
      code: "unavailable",
      detail: "The service is unavailable; try again.",
    });
    // The failure is logged with the failed query's text, not the ids bound to it.
    const line = logged.find((l) => l.includes("socket token check failed")) ?? "";
    expect(line).toContain("params: [not logged]");
    for (const id of [user.id, user.tokenId]) expect(line).not.toContain(id);
    expect((await focusStateOf(user)).phase).toBe("idle");
    socket.ws.send(JSON.stringify({ type: "action", action: "start", request_id: "r2" }));
    const [, , started, ack] = await socket.waitFor(4);
    expect(started).toMatchObject({ type: "state", event: "started" });
    expect(ack).toEqual({ type: "ack", request_id: "r2", seq: 1 });
  });
});

describe("the live object's own door", () => {
  it("refuses an upgrade whose grant it cannot read with 426, whoever forwarded it", async () => {
    const user = await createUser();
    const forwarded = (grant: string) =>
      timerOf(user).fetch(
        new Request("https://focus-timer/ws", {
          headers: { upgrade: "websocket", [SOCKET_GRANT_HEADER]: grant },
        }),
      );
    const notAGrant = JSON.stringify({ user_id: user.id, can_write: "yes", expires_at: Date.now() + MIN });
    for (const grant of [notAGrant, "{not json"]) {
      const res = await forwarded(grant);
      expect(res.status, grant).toBe(426);
      expect(res.webSocket, grant).toBeNull();
      expect(await problemOf(res)).toMatchObject({ status: 426, code: "upgrade_required" });
    }
  });
});
