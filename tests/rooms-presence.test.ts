import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { call } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { userWithApiToken } from "./helpers/focus";
import {
  events,
  expectGapFree,
  joinRoom,
  leaveRoom,
  membersInD1,
  roomObject,
  roomOf,
  roomWith,
  socketsOfTest,
} from "./helpers/rooms";

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** The room's one alarm (ms), or null. */
function alarmOf(roomId: string): Promise<number | null> {
  return runInDurableObject(roomObject(roomId), (_instance, state) => state.storage.getAlarm());
}

/** Waits until the room has armed its alarm for `at` (a socket's close is handled after the client's). */
async function alarmArmedFor(roomId: string, at: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await alarmOf(roomId)) === at) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`the room's alarm is ${await alarmOf(roomId)}, not ${at}`);
}

const runAlarm = (roomId: string) => runDurableObjectAlarm(roomObject(roomId));

describe("presence in a room", () => {
  it("shows a member away once the grace after their last socket passes, and back when one opens", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await userWithApiToken(), await userWithApiToken()];
    const room = await roomWith(alice, [bob]);
    const alices = await open(room.room_id, alice.token);
    const bobPhone = await open(room.room_id, bob.token);
    const bobLaptop = await open(room.room_id, bob.token);
    // Everyone here with a socket: nothing will fall due.
    expect(await alarmOf(room.room_id)).toBeNull();

    bobPhone.close();
    bobLaptop.close();
    const closedAt = clock.now();
    await alarmArmedFor(room.room_id, closedAt + 60 * SECOND);
    clock.tick(59 * SECOND);
    await runAlarm(room.room_id);
    expect((await roomOf(alice, room.room_id)).members[1]?.presence).toBe("here");
    clock.tick(2 * SECOND);
    await runAlarm(room.room_id);
    const [hello, away] = await alices.waitFor(2);
    expect(away).toMatchObject({ type: "state", event: "member_away", seq: (hello?.seq ?? 0) + 1 });
    const bobId = (await roomOf(bob, room.room_id)).you;
    expect(away?.member).toMatchObject({ member_id: bobId, presence: "away" });
    // Removal is next: 30 minutes after the last socket closed.
    expect(await alarmOf(room.room_id)).toBe(closedAt + 30 * MINUTE);

    const back = await open(room.room_id, bob.token);
    expect(back.messages[0]?.state?.members[1]?.presence).toBe("here");
    const messages = await alices.waitFor(3);
    expect(messages[2]?.member).toMatchObject({ member_id: bobId, presence: "here" });
    expect(events(messages).map(([, e]) => e)).toEqual(["member_away", "member_back"]);
    expect(expectGapFree(messages)).toBe(true);
    expect(await alarmOf(room.room_id)).toBeNull();
  });

  it("removes a member away too long, counting from joining for one who never opened a socket", async () => {
    const clock = freezeClock();
    const [alice, bob, carol] = [
      await userWithApiToken(),
      await userWithApiToken(),
      await userWithApiToken(),
    ];
    const room = await roomWith(alice, [bob]);
    const bobId = (await roomOf(bob, room.room_id)).you;
    const joinedAt = clock.now();
    const alices = await open(room.room_id, alice.token);
    clock.tick(30 * SECOND);
    const carolId = (await joinRoom(carol, room.code)).you;
    // One alarm, at the earliest moment: Bob shown away a minute after joining.
    expect(await alarmOf(room.room_id)).toBe(joinedAt + 60 * SECOND);
    clock.tick(31 * SECOND);
    await runAlarm(room.room_id);
    clock.tick(30 * MINUTE - 61 * SECOND);
    await runAlarm(room.room_id);
    expect(await membersInD1(room.room_id)).toBe(2);
    expect(await alarmOf(room.room_id)).toBe(joinedAt + 30 * SECOND + 30 * MINUTE);
    const messages = await alices.waitFor(5);
    expect(events(messages).map(([, e]) => e)).toEqual([
      "member_joined",
      "member_away",
      "member_away",
      "member_removed",
    ]);
    expect(expectGapFree(messages)).toBe(true);
    expect(messages.slice(1).map((m) => m.member?.member_id ?? m.member_id)).toEqual([
      carolId,
      bobId,
      carolId,
      bobId,
    ]);
    expect(messages[4]).not.toHaveProperty("member");
    expect((await call(`/api/v1/rooms/${room.room_id}`, { token: bob.token })).status).toBe(404);
    expect((await roomOf(alice, room.room_id)).members.map((m) => m.presence)).toEqual(["here", "away"]);
  });

  it("closes a room left empty for a day, freeing its code", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await userWithApiToken(), await userWithApiToken()];
    const room = await roomWith(alice, []);
    await leaveRoom(alice, room.room_id);
    const emptyAt = clock.now();
    expect(await alarmOf(room.room_id)).toBe(emptyAt + 24 * HOUR);
    clock.tick(23 * HOUR);
    await runAlarm(room.room_id);
    const open = await env.DB.prepare("SELECT status FROM rooms WHERE id = ?").bind(room.room_id).first();
    expect(open).toEqual({ status: "open" });
    clock.tick(HOUR);
    await runAlarm(room.room_id);
    const closed = await env.DB.prepare("SELECT status, closed_at FROM rooms WHERE id = ?")
      .bind(room.room_id)
      .first();
    expect(closed).toEqual({ status: "closed", closed_at: new Date(clock.now()).toISOString() });
    expect(await alarmOf(room.room_id)).toBeNull();
    const join = await call("/api/v1/rooms/join", { token: bob.token, body: { code: room.code } });
    expect(join.status).toBe(404);
  });

  it("stays open when someone joins before the empty day is over", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await userWithApiToken(), await userWithApiToken()];
    const room = await roomWith(alice, []);
    await leaveRoom(alice, room.room_id);
    clock.tick(12 * HOUR);
    await joinRoom(bob, room.code);
    clock.tick(13 * HOUR);
    await runAlarm(room.room_id);
    const row = await env.DB.prepare("SELECT status FROM rooms WHERE id = ?").bind(room.room_id).first();
    expect(row).toEqual({ status: "open" });
  });
});
