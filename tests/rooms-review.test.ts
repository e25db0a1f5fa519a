import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { RoomState } from "../src/features/rooms/room-rules";
import { call, callJson, createUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { startFocus, timerOf } from "./helpers/focus";
import {
  insertRoomMemberRow,
  joinRoom,
  leaveRoom,
  membersInD1,
  myRooms,
  type Room,
  roomObject,
  roomOf,
  roomWith,
  socketsOfTest,
  storedRoomState,
} from "./helpers/rooms";
import { createTask } from "./helpers/tasks";

const HOUR = 3_600_000;
const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** The room object's message log, as text. */
function loggedText(roomId: string): Promise<string> {
  return runInDurableObject(roomObject(roomId), (_instance, state) =>
    JSON.stringify(state.storage.sql.exec("SELECT body FROM messages").toArray()),
  );
}

/** Polls until the room shows `check` true for `user` (a timer tells rooms after it answers). */
async function eventually(
  user: Parameters<typeof roomOf>[0],
  roomId: string,
  check: (room: Room) => boolean,
) {
  for (let i = 0; i < 100; i++) {
    const room = await roomOf(user, roomId);
    if (check(room)) return room;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("the room never showed the change");
}

describe("a member who leaves", () => {
  it("leaves nothing of them in the replay log, even once their account is deleted", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const task = await createTask(alice, { title: "Alice secret chapter" });
    const room = await roomWith(alice, [bob]);
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { display_name: "Alice Secretname", share_task: true },
    });
    const bobs = await open(room.room_id, bob.token);
    const since = bobs.messages[0]?.seq ?? 0;
    await startFocus(alice, { task_id: task.task_id });
    await bobs.waitFor(2);
    expect(await loggedText(room.room_id)).toContain("Alice secret chapter");

    await leaveRoom(alice, room.room_id);
    const deleted = await call("/api/v1/auth/me", {
      method: "DELETE",
      token: alice.token,
      body: { password: alice.password },
    });
    expect(deleted.status).toBe(204);
    const logged = await loggedText(room.room_id);
    expect(logged).not.toContain("Alice Secretname");
    expect(logged).not.toContain("Alice secret chapter");

    bobs.close();
    const again = await open(room.room_id, bob.token, `since=${since}`);
    const [hello] = again.messages;
    expect(hello).toMatchObject({ type: "hello", gap: true, replayed: 0 });
    expect(hello?.state?.members).toHaveLength(1);
    expect(JSON.stringify(again.messages)).not.toContain("Alice");
  });

  it("removed for being away, is forgotten by the log too", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, []);
    await joinRoom(bob, room.code, { display_name: "Bob Awayname" });
    await open(room.room_id, alice.token);
    expect(await loggedText(room.room_id)).toContain("Bob Awayname");
    clock.tick(31 * 60_000);
    await runDurableObjectAlarm(roomObject(room.room_id));
    expect(await membersInD1(room.room_id)).toBe(1);
    expect(await loggedText(room.room_id)).not.toContain("Bob Awayname");
  });
});

describe("replay for a new member", () => {
  it("never reaches back before they joined: ?since=0 gets hello with gap and the room as it is", async () => {
    const [alice, carol] = [await createUser(), await createUser()];
    const room = await roomWith(alice, []);
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { display_name: "Old Alias" },
    });
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { display_name: "Alice" },
    });
    await joinRoom(carol, room.code);
    const carols = await open(room.room_id, carol.token, "since=0");
    const [hello] = carols.messages;
    expect(hello).toMatchObject({ type: "hello", gap: true, replayed: 0 });
    expect(hello?.state?.members.map((m) => m.display_name)).toContain("Alice");
    expect(JSON.stringify(carols.messages)).not.toContain("Old Alias");

    // From their own hello on, replay works as before.
    const seq = hello?.seq ?? 0;
    carols.close();
    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { display_name: "Alice B" },
    });
    const back = await open(room.room_id, carol.token, `since=${seq}`);
    const [replayed, helloAgain] = await back.waitFor(2);
    expect(replayed).toMatchObject({ type: "state", event: "member_updated", seq: seq + 1 });
    expect(helloAgain).toMatchObject({ type: "hello", gap: false, replayed: 1, seq: seq + 1 });
  });
});

describe("a member whose timer could not be linked", () => {
  it("is linked again on the next look at the room, and the others then see their focus", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, []);
    let restore = () => {};
    await runInDurableObject(timerOf(bob), (instance) => {
      const proto = Object.getPrototypeOf(instance) as { linkRoom: unknown };
      const original = proto.linkRoom;
      proto.linkRoom = async () => {
        throw new Error("transient");
      };
      restore = () => {
        proto.linkRoom = original;
      };
    });
    try {
      expect((await joinRoom(bob, room.code)).members).toHaveLength(2);
    } finally {
      restore();
    }
    expect((await storedRoomState(room.room_id))?.members.find((m) => m.user_id === bob.id)?.linked).toBe(
      false,
    );

    await roomOf(bob, room.room_id);
    expect((await storedRoomState(room.room_id))?.members.find((m) => m.user_id === bob.id)?.linked).toBe(
      true,
    );
    await startFocus(bob, { kind: "deep_work" });
    const seen = await eventually(alice, room.room_id, (r) => r.members[1]?.focus.status === "focusing");
    expect(seen.members[1]?.focus.kind).toBe("deep_work");
  });
});

describe("replaying a room's creation", () => {
  it("answers the room again without joining the creator who has since left", async () => {
    const alice = await createUser();
    const key = crypto.randomUUID();
    const body = { name: "Writing", display_name: "Custom" };
    const headers = { "idempotency-key": key };
    const first = await callJson<Room>("/api/v1/rooms", 201, { token: alice.token, body, headers });
    await leaveRoom(alice, first.room_id);

    const again = await call("/api/v1/rooms", { method: "POST", token: alice.token, body, headers });
    expect(again.status).toBe(201);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const replayed = (await again.json()) as Room;
    expect(replayed).toMatchObject({ room_id: first.room_id, code: first.code, you: first.you });
    expect(replayed.members.map((m) => m.display_name)).toEqual(["Custom"]);
    expect(await myRooms(alice)).toEqual([]);
    expect(await membersInD1(first.room_id)).toBe(0);
  });
});

describe("a membership D1 has and the room's object missed", () => {
  it("is admitted on GET and on the socket, as GET /rooms lists it", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, []);
    const memberId = await insertRoomMemberRow(room.room_id, bob.id, "Bob Stale");
    expect((await myRooms(bob)).map((r) => r.room_id)).toEqual([room.room_id]);

    const seen = await roomOf(bob, room.room_id);
    expect(seen.you).toBe(memberId);
    expect(seen.members.map((m) => m.display_name)).toEqual([expect.any(String), "Bob Stale"]);

    const carol = await createUser();
    await joinRoom(carol, room.code);
    await env.DB.prepare("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
      .bind(room.room_id, carol.id)
      .run();
    await runInDurableObject(roomObject(room.room_id), async (_instance, state) => {
      const stored = JSON.parse(
        state.storage.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'state'").one().value,
      ) as RoomState;
      const kept = { ...stored, members: stored.members.filter((m) => m.user_id !== bob.id) };
      state.storage.sql.exec("UPDATE meta SET value = ? WHERE key = 'state'", JSON.stringify(kept));
    });
    // The live object holds its state in memory too: evicted, it reads back the edited one.
    await evictDurableObject(roomObject(room.room_id));
    const bobs = await open(room.room_id, bob.token);
    expect(bobs.messages[0]).toMatchObject({ type: "hello", you: memberId });
  });

  it("replaces the old one when it is a new membership (a rejoin that raced a removal)", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const alices = await open(room.room_id, alice.token);
    // The removal reached D1, then the rejoin did, before the object heard of either.
    await env.DB.prepare("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
      .bind(room.room_id, bob.id)
      .run();
    const memberId = await insertRoomMemberRow(room.room_id, bob.id, "Bob Again");
    const joined = await joinRoom(bob, room.code);
    expect(joined.you).toBe(memberId);
    expect(joined.members.map((m) => m.display_name)).toEqual([expect.any(String), "Bob Again"]);
    const [, , joinedMessage] = await alices.waitFor(3);
    expect(joinedMessage).toMatchObject({ type: "state", event: "member_joined" });
  });
});

describe("closing an empty room", () => {
  it("mirrors a close D1 already has instead of arming the alarm again", async () => {
    const clock = freezeClock();
    const alice = await createUser();
    const room = await roomWith(alice, []);
    await leaveRoom(alice, room.room_id);
    await env.DB.prepare("UPDATE rooms SET status = 'closed', closed_at = ? WHERE id = ?")
      .bind(new Date().toISOString(), room.room_id)
      .run();
    clock.tick(25 * HOUR);
    await runDurableObjectAlarm(roomObject(room.room_id));
    expect((await storedRoomState(room.room_id))?.room.status).toBe("closed");
    const alarm = await runInDurableObject(roomObject(room.room_id), (_i, state) => state.storage.getAlarm());
    expect(alarm).toBeNull();
  });
});
