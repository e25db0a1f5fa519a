import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import { formatRoomCode, newRoomCodeKey } from "../src/features/rooms/code";
import type { FocusPush } from "../src/features/rooms/member-focus";
import { newId } from "../src/lib/ids";
import { ACCOUNT_GONE } from "../src/lib/live-refusal";
import { SOCKET_GRANT_HEADER } from "../src/lib/live-socket";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { startFocus, timerOf, userWithApiToken } from "./helpers/focus";
import {
  createRoom,
  events,
  insertRoomMemberRow,
  joinRoom,
  leaveRoom,
  membersInD1,
  type Room,
  roomObject,
  roomOf,
  socketsOfTest,
  storedRoomState,
} from "./helpers/rooms";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** What the room object answers a member who is not (or no longer) in the room. */
const NOT_FOUND = { ok: false, error: { status: 404, code: "not_found", detail: "Room was not found." } };
/** What it answers a join of a room that is not open. */
const NO_SUCH_CODE = {
  ok: false,
  error: { status: 404, code: "not_found", detail: "No open room has that code." },
};

function alarmOf(roomId: string): Promise<number | null> {
  return runInDurableObject(roomObject(roomId), (_instance, state) => state.storage.getAlarm());
}

async function roomStatusInD1(roomId: string): Promise<string | undefined> {
  const row = await env.DB.prepare("SELECT status FROM rooms WHERE id = ?")
    .bind(roomId)
    .first<{ status: string }>();
  return row?.status;
}

/** A room D1 has and its object never heard of (its creation reached D1, its object did not). */
async function insertRoomRow(): Promise<{ roomId: string; code: string }> {
  const roomId = newId();
  const key = newRoomCodeKey();
  await env.DB.prepare(
    "INSERT INTO rooms (id, name, code, code_key, max_members, sync_pomodoro, status, created_at) VALUES (?, NULL, ?, ?, 20, 0, 'open', ?)",
  )
    .bind(roomId, formatRoomCode(key), key, new Date().toISOString())
    .run();
  return { roomId, code: formatRoomCode(key) };
}

/** A WebSocket upgrade as the Worker forwards it to the room's object (null: without the Worker's grant). */
function forwardedUpgrade(roomId: string, userId: string | null): Request {
  const headers: Record<string, string> = { upgrade: "websocket" };
  if (userId !== null) {
    headers[SOCKET_GRANT_HEADER] = JSON.stringify({
      user_id: userId,
      can_write: false,
      expires_at: Date.now() + 10 * MINUTE,
      credential: { kind: "session", id: newId() },
      subprotocol: true,
    });
  }
  return new Request(`https://api.test/api/v1/rooms/${roomId}/ws`, { headers });
}

/** A snapshot a member's timer sends the room: focusing on `kind`, numbered `seq`. */
function focusing(seq: number, kind: string): FocusPush {
  const now = Date.now();
  return {
    seq,
    status: "focusing",
    session_id: newId(),
    kind,
    started_at: new Date(now).toISOString(),
    ends_at: new Date(now + 25 * MINUTE).toISOString(),
    remaining_seconds: 25 * 60,
    planned_minutes: 25,
    ended_at: null,
    task: null,
    by_room: false,
  };
}

type LinkRoom = FocusTimer["linkRoom"];

/**
 * Replaces `user`'s timer's answer to a room linking it (every other user's timer is left alone);
 * returns what puts the real one back. `original` is the timer's own linkRoom.
 */
async function replaceLinkRoom(
  user: TestUser,
  replacement: (original: LinkRoom, userId: string, roomId: string) => ReturnType<LinkRoom>,
): Promise<() => void> {
  let restore = () => {};
  await runInDurableObject(timerOf(user), (instance) => {
    const proto = Object.getPrototypeOf(instance) as { linkRoom: LinkRoom };
    const original = proto.linkRoom;
    proto.linkRoom = function (this: FocusTimer, userId: string, roomId: string) {
      const own: LinkRoom = (u, r) => original.call(this, u, r);
      return userId === user.id ? replacement(own, userId, roomId) : own(userId, roomId);
    };
    restore = () => {
      proto.linkRoom = original;
    };
  });
  return restore;
}

async function patchName(user: TestUser, roomId: string, name: string): Promise<Room> {
  return callJson<Room>(`/api/v1/rooms/${roomId}/me`, 200, {
    method: "PATCH",
    token: user.token,
    body: { display_name: name },
  });
}

describe("a room D1 does not have", () => {
  it("answers every call not found, refuses a socket 404, and keeps nothing of it", async () => {
    const roomId = newId();
    const userId = newId();
    const room = roomObject(roomId);
    expect(await room.view(roomId, userId)).toEqual(NOT_FOUND);
    expect(await room.leave(roomId, userId)).toEqual(NOT_FOUND);
    expect(await room.updateMember(roomId, userId, { display_name: "Ghost" })).toEqual(NOT_FOUND);
    expect(await room.join(roomId, userId, {})).toEqual(NO_SUCH_CODE);
    expect(await room.memberErased(roomId, userId)).toBe(0);
    const res = await room.fetch(forwardedUpgrade(roomId, userId));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ status: 404, code: "not_found" });
    expect(await membersInD1(roomId)).toBe(0);
    expect(await storedRoomState(roomId)).toBeUndefined();
    expect(await alarmOf(roomId)).toBeNull();
  });

  it("lets an alarm left without a room pass without arming another", async () => {
    const roomId = newId();
    await runInDurableObject(roomObject(roomId), (_instance, state) =>
      state.storage.setAlarm(Date.now() + MINUTE),
    );
    expect(await runDurableObjectAlarm(roomObject(roomId))).toBe(true);
    expect(await alarmOf(roomId)).toBeNull();
    expect(await storedRoomState(roomId)).toBeUndefined();
  });

  it("refuses an upgrade that did not come through the Worker (no grant) with 426", async () => {
    const roomId = newId();
    const res = await roomObject(roomId).fetch(forwardedUpgrade(roomId, null));
    expect(res.status).toBe(426);
    expect(await res.json()).toMatchObject({ code: "upgrade_required" });
    expect(await storedRoomState(roomId)).toBeUndefined();
  });
});

describe("calls that arrive after the room closed", () => {
  it("refuse a join (as an unknown code), a look, a leave and a socket", async () => {
    const clock = freezeClock();
    const alice = await userWithApiToken();
    const room = await createRoom(alice);
    await leaveRoom(alice, room.room_id);
    const object = roomObject(room.room_id);
    const bobId = newId();
    // The close reached D1 and its answer was lost: the object still holds the room open. A join whose
    // code was looked up just before is refused by D1 as the code of no open room.
    await env.DB.prepare("UPDATE rooms SET status = 'closed', closed_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), room.room_id)
      .run();
    expect((await storedRoomState(room.room_id))?.room.status).toBe("open");
    expect(await object.join(room.room_id, bobId, {})).toEqual(NO_SUCH_CODE);
    expect(await membersInD1(room.room_id)).toBe(0);

    clock.tick(25 * HOUR);
    await runDurableObjectAlarm(object);
    expect((await storedRoomState(room.room_id))?.room.status).toBe("closed");
    expect(await object.join(room.room_id, bobId, {})).toEqual(NO_SUCH_CODE);
    expect(await object.view(room.room_id, alice.id)).toEqual(NOT_FOUND);
    expect(await object.leave(room.room_id, alice.id)).toEqual(NOT_FOUND);
    const res = await object.fetch(forwardedUpgrade(room.room_id, alice.id));
    expect(res.status).toBe(404);
    expect(await membersInD1(room.room_id)).toBe(0);
  });
});

describe("calls for a member who has left", () => {
  it("answer not found (patch, look, socket), a leave done, and change nothing the others see", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    await joinRoom(bob, room.code);
    const alices = await open(room.room_id, alice.token);
    await leaveRoom(bob, room.room_id);
    const object = roomObject(room.room_id);
    // Each as the Worker forwards it when its membership check passed just before Bob's leave landed.
    expect(await object.updateMember(room.room_id, bob.id, { display_name: "Bob Late" })).toEqual(NOT_FOUND);
    // A leave is done once the person is out: a retry whose first answer was lost is not refused.
    expect(await object.leave(room.room_id, bob.id)).toEqual({ ok: true });
    expect(await object.view(room.room_id, bob.id)).toEqual(NOT_FOUND);
    const res = await object.fetch(forwardedUpgrade(room.room_id, bob.id));
    expect(res.status).toBe(404);
    expect(await membersInD1(room.room_id)).toBe(1);

    await patchName(alice, room.room_id, "Alice Next");
    const messages = await alices.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_left", "member_updated"]);
    expect((await roomOf(alice, room.room_id)).members.map((m) => m.display_name)).toEqual(["Alice Next"]);
  });
});

describe("a membership only D1 has", () => {
  it("can be left: the row goes, and the others are told of no one leaving", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    const alices = await open(room.room_id, alice.token);
    await insertRoomMemberRow(room.room_id, bob.id, "Bob Unseen");

    await leaveRoom(bob, room.room_id);
    expect(await membersInD1(room.room_id)).toBe(1);
    expect((await call(`/api/v1/rooms/${room.room_id}`, { token: bob.token })).status).toBe(404);
    await patchName(alice, room.room_id, "Alice Next");
    const messages = await alices.waitFor(2);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_updated"]);
    expect(JSON.stringify(alices.messages)).not.toContain("Bob Unseen");
  });

  it("of an account being deleted: the room forgets its replay log, as for a member it held", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    await patchName(alice, room.room_id, "Alice Next");
    const before = await open(room.room_id, alice.token, "since=0");
    expect(before.messages[0]).toMatchObject({ type: "state", event: "member_updated" });
    expect(await before.waitFor(2)).toMatchObject([{}, { type: "hello", replayed: 1, gap: false }]);
    before.close();
    await insertRoomMemberRow(room.room_id, bob.id, "Bob Unseen");

    const deleted = await call("/api/v1/auth/me", {
      method: "DELETE",
      token: bob.token,
      body: { password: bob.password },
    });
    expect(deleted.status).toBe(204);
    expect(await membersInD1(room.room_id)).toBe(1);
    const after = await open(room.room_id, alice.token, "since=0");
    expect(after.messages[0]).toMatchObject({ type: "hello", replayed: 0, gap: true });
    expect(after.messages[0]?.state?.members.map((m) => m.display_name)).toEqual(["Alice Next"]);
  });
});

describe("a room whose object never heard of it", () => {
  it("emptied by an erasure, is loaded by it and closes a day after", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await userWithApiToken(), await createUser()];
    const { roomId, code } = await insertRoomRow();
    await insertRoomMemberRow(roomId, bob.id, "Bob");
    const deleted = await call("/api/v1/auth/me", {
      method: "DELETE",
      token: bob.token,
      body: { password: bob.password },
    });
    expect(deleted.status).toBe(204);
    expect(await membersInD1(roomId)).toBe(0);
    // Told of the erasure, the object loaded the room to take the member out: empty now, its close armed
    // without anyone reaching it again.
    expect((await storedRoomState(roomId))?.members).toEqual([]);
    expect(await alarmOf(roomId)).toBe(clock.now() + 24 * HOUR);
    expect(await roomObject(roomId).view(roomId, alice.id)).toEqual(NOT_FOUND);
    clock.tick(24 * HOUR);
    await runDurableObjectAlarm(roomObject(roomId));
    expect(await roomStatusInD1(roomId)).toBe("closed");
    const join = await call("/api/v1/rooms/join", { token: alice.token, body: { code } });
    expect(join.status).toBe(404);
  });

  it("told of an erasure while D1 cannot be read, answers anyway, and loads the room on its next call", async () => {
    const bob = await createUser();
    const { roomId } = await insertRoomRow();
    await insertRoomMemberRow(roomId, bob.id, "Bob");
    const down = () => {
      throw new Error("D1 is unreachable (test)");
    };
    await runInDurableObject(roomObject(roomId), (instance) => {
      Object.defineProperty(instance, "env", { value: { ...env, DB: { prepare: down, batch: down } } });
    });
    // The erasure's own part (the timer, the D1 rows) goes on: the room answers, holding nothing.
    expect(await roomObject(roomId).memberErased(roomId, bob.id)).toBe(0);
    expect(await storedRoomState(roomId)).toBeUndefined();
    await runInDurableObject(roomObject(roomId), (instance) => {
      Object.defineProperty(instance, "env", { value: env });
    });
    expect(await roomObject(roomId).memberErased(roomId, bob.id)).toBe(0);
    expect((await storedRoomState(roomId))?.members).toEqual([]);
  });

  it("loaded by two calls at once, keeps what the first to finish loading changed", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const { roomId } = await insertRoomRow();
    await insertRoomMemberRow(roomId, alice.id, "Alice");
    await insertRoomMemberRow(roomId, bob.id, "Bob");
    // While the object loads the room for Alice's look, asking Bob's timer for his focus, Carol's join
    // arrives, loads the room itself and admits her.
    let carolsJoin: Awaited<ReturnType<ReturnType<typeof roomObject>["join"]>> | undefined;
    let arrived = false;
    const restore = await replaceLinkRoom(bob, async (original, userId, linkedRoom) => {
      if (!arrived) {
        arrived = true;
        carolsJoin = await roomObject(linkedRoom).join(linkedRoom, carol.id, { display_name: "Carol" });
      }
      return original(userId, linkedRoom);
    });
    let seen: Room;
    try {
      seen = await roomOf(alice, roomId);
    } finally {
      restore();
    }
    expect(carolsJoin).toMatchObject({ ok: true });
    expect(seen.members.map((m) => m.display_name)).toEqual(["Alice", "Bob", "Carol"]);
    expect((await storedRoomState(roomId))?.members.map((m) => m.display_name)).toEqual([
      "Alice",
      "Bob",
      "Carol",
    ]);
  });
});

describe("an alarm closing an empty room", () => {
  it("leaves it open when D1 holds a join the object missed, and tries again a day later", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await userWithApiToken(), await userWithApiToken()];
    const room = await createRoom(alice);
    await leaveRoom(alice, room.room_id);
    // Bob's join reached D1; its answer, and the object's mirroring of it, were lost.
    const bobsMembership = await insertRoomMemberRow(room.room_id, bob.id, "Bob");
    clock.tick(25 * HOUR);
    await runDurableObjectAlarm(roomObject(room.room_id));
    expect(await roomStatusInD1(room.room_id)).toBe("open");
    expect(await alarmOf(room.room_id)).toBe(clock.now() + 24 * HOUR);

    const seen = await roomOf(bob, room.room_id);
    expect(seen.you).toBe(bobsMembership);
    expect(seen.status).toBe("open");
  });
});

describe("a joining member's timer", () => {
  it("telling of a change before the room holds them: the newest snapshot is kept, the timer stays linked", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    const alices = await open(room.room_id, alice.token);
    const newest = focusing(1_000_000, "deep_work");
    const older = focusing(999_999, "short_burst");
    const answers: { member: boolean }[] = [];
    const restore = await replaceLinkRoom(bob, async (original, userId, roomId) => {
      const linked = await original(userId, roomId);
      // Two changes the timer tells of, out of order, while the room waits for this answer.
      answers.push(await roomObject(roomId).memberFocus(roomId, userId, newest));
      answers.push(await roomObject(roomId).memberFocus(roomId, userId, older));
      return linked;
    });
    let joined: Room;
    try {
      joined = await joinRoom(bob, room.code);
    } finally {
      restore();
    }
    expect(answers).toEqual([{ member: true }, { member: true }]);
    const bobsFocus = { status: "focusing", kind: "deep_work", session_id: newest.session_id };
    expect(joined.members.find((m) => m.member_id === joined.you)?.focus).toMatchObject(bobsFocus);
    const [, joinedMessage] = await alices.waitFor(2);
    expect(joinedMessage).toMatchObject({ event: "member_joined", member: { focus: bobsFocus } });
  });

  it("that refuses the link (its account is going) is shown idle and not asked again", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    let asked = 0;
    const restore = await replaceLinkRoom(bob, async () => {
      asked += 1;
      return { ok: false, error: ACCOUNT_GONE };
    });
    try {
      const joined = await joinRoom(bob, room.code);
      expect(joined.members.find((m) => m.member_id === joined.you)?.focus.status).toBe("idle");
      expect(asked).toBe(1);
      await roomOf(bob, room.room_id);
      expect(asked).toBe(1);
    } finally {
      restore();
    }
  });

  it("linked though its answer was lost is linked again without telling the others its focus twice", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    const restore = await replaceLinkRoom(bob, async (original, userId, roomId) => {
      await original(userId, roomId);
      throw new Error("the answer was lost on its way");
    });
    try {
      await joinRoom(bob, room.code);
    } finally {
      restore();
    }
    const bobIn = async () =>
      (await storedRoomState(room.room_id))?.members.find((m) => m.user_id === bob.id);
    expect((await bobIn())?.linked).toBe(false);
    const alices = await open(room.room_id, alice.token);
    await startFocus(bob, { kind: "deep_work" });
    const [, focused] = await alices.waitFor(2);
    expect(focused).toMatchObject({ event: "member_focus", member: { focus: { status: "focusing" } } });

    // The next look links the timer again; its focus is what the room already shows.
    const seen = await roomOf(bob, room.room_id);
    expect(seen.members.find((m) => m.member_id === seen.you)?.focus.status).toBe("focusing");
    expect((await bobIn())?.linked).toBe(true);
    await patchName(alice, room.room_id, "Alice Next");
    const messages = await alices.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_focus", "member_updated"]);
  });
});

describe("a join and a look at the room at once", () => {
  it("admit the member once: the others see one member_joined", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await createRoom(alice);
    const alices = await open(room.room_id, alice.token);
    let look: Awaited<ReturnType<ReturnType<typeof roomObject>["view"]>> | undefined;
    let arrived = false;
    const restore = await replaceLinkRoom(bob, async (original, userId, roomId) => {
      const linked = await original(userId, roomId);
      // Bob's look arrives while his join waits for his timer: D1 has his membership already.
      if (!arrived) {
        arrived = true;
        look = await roomObject(roomId).view(roomId, userId);
      }
      return linked;
    });
    let joined: Room;
    try {
      joined = await joinRoom(bob, room.code);
    } finally {
      restore();
    }
    expect(look).toMatchObject({ ok: true, you: joined.you });
    expect(joined.members).toHaveLength(2);
    await patchName(alice, room.room_id, "Alice Next");
    const messages = await alices.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_joined", "member_updated"]);
  });
});
