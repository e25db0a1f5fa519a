import { afterEach, describe, expect, it } from "vitest";
import type { FocusPush } from "../src/features/rooms/member-focus";
import { callJson, createUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { focusAction, openSocket, runTimerAlarm, startFocus, type TestSocket } from "./helpers/focus";
import {
  events,
  expectGapFree,
  leaveRoom,
  openRoomSocket,
  type RoomMessage,
  type RoomSocket,
  roomObject,
  roomOf,
  roomWith,
} from "./helpers/rooms";
import { createTask } from "./helpers/tasks";

const sockets: TestSocket<unknown>[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.close();
});

async function open(roomId: string, token: string): Promise<RoomSocket> {
  const socket = await openRoomSocket(roomId, { token });
  sockets.push(socket);
  await socket.waitFor(1);
  return socket;
}

/** The focus of the member at `index` in the room's view a message carries. */
const focusIn = (message: RoomMessage | undefined, index: number) => message?.state?.members[index]?.focus;

describe("members' timers in a room", () => {
  it("reach every other member's sockets as they change: start, pause, resume, finish", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const room = await roomWith(alice, [bob, carol]);
    const bobs = await open(room.room_id, bob.token);
    const carols = await open(room.room_id, carol.token);
    const hello = bobs.messages[0]?.seq ?? 0;

    const started = await startFocus(alice, { kind: "custom", duration_minutes: 20 });
    await focusAction(alice, "pause");
    await focusAction(alice, "resume");
    await focusAction(alice, "finish");
    for (const socket of [bobs, carols]) {
      const messages = await socket.waitFor(5);
      expect(events(messages)).toEqual([
        [hello + 1, "member_focus"],
        [hello + 2, "member_focus"],
        [hello + 3, "member_focus"],
        [hello + 4, "member_focus"],
      ]);
      expect(expectGapFree(messages)).toBe(true);
      expect(focusIn(messages[1], 0)).toMatchObject({
        status: "focusing",
        session_id: started.session?.session_id,
        kind: "custom",
        ends_at: started.session?.ends_at,
        task: null,
      });
      expect(focusIn(messages[1], 0)?.remaining_seconds).toBeGreaterThan(19 * 60);
      expect(focusIn(messages[2], 0)).toMatchObject({ status: "paused", ends_at: null });
      expect(focusIn(messages[3], 0)).toMatchObject({ status: "focusing" });
      expect(focusIn(messages[4], 0)).toMatchObject({ status: "on_break", kind: "short_break" });
      // Only Alice's timer moved.
      expect(messages[4]?.state?.members.slice(1).map((m) => m.focus.status)).toEqual(["idle", "idle"]);
    }
    await focusAction(alice, "skip-break");
    expect(focusIn((await bobs.waitFor(6))[5], 0)).toMatchObject({
      status: "done",
      session_id: started.session?.session_id,
    });
  });

  it("reach them when the timer's own alarm ends the work and then the break", async () => {
    const clock = freezeClock();
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    await startFocus(alice, { kind: "custom", duration_minutes: 10 });
    await bobs.waitFor(2);
    clock.tick(10 * 60_000);
    await runTimerAlarm(alice);
    const [, , breakTime] = await bobs.waitFor(3);
    expect(focusIn(breakTime, 0)).toMatchObject({ status: "on_break", kind: "short_break" });
    clock.tick(2 * 60_000);
    await runTimerAlarm(alice);
    const [, , , over] = await bobs.waitFor(4);
    expect(focusIn(over, 0)).toMatchObject({ status: "done", kind: "custom" });
    expect(expectGapFree(bobs.messages)).toBe(true);
  });

  it("reach them when the member acts over the focus socket too", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    const focus = await openSocket({ token: alice.token });
    sockets.push(focus);
    await focus.waitFor(1);
    focus.ws.send(JSON.stringify({ type: "action", action: "start", kind: "short_burst", request_id: "a1" }));
    const [, change] = await bobs.waitFor(2);
    expect(change).toMatchObject({ type: "state", event: "member_focus" });
    expect(focusIn(change, 0)).toMatchObject({ status: "focusing", kind: "short_burst" });
  });

  it("show a member's task only while that member shares it", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const task = await createTask(alice, { title: "Alice's private essay" });
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    await startFocus(alice, { task_id: task.task_id });
    const [, hidden] = await bobs.waitFor(2);
    expect(focusIn(hidden, 0)).toMatchObject({ status: "focusing", task: null });
    expect(JSON.stringify(bobs.messages)).not.toContain("private essay");

    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { share_task: true },
    });
    const [, , shared] = await bobs.waitFor(3);
    expect(shared?.event).toBe("member_updated");
    expect(focusIn(shared, 0)?.task).toEqual({ task_id: task.task_id, title: "Alice's private essay" });
    expect((await roomOf(bob, room.room_id)).members[0]?.focus.task?.title).toBe("Alice's private essay");
  });

  it("are shown to a member who joins later, and stop once the member has left", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    await startFocus(alice, { kind: "deep_work" });
    const room = await roomWith(alice, [bob]);
    expect((await roomOf(bob, room.room_id)).members[0]?.focus).toMatchObject({
      status: "focusing",
      kind: "deep_work",
    });
    const alices = await open(room.room_id, alice.token);
    await leaveRoom(bob, room.room_id);
    await startFocus(bob);
    await focusAction(alice, "pause");
    const messages = await alices.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_left", "member_focus"]);
    expect(focusIn(messages[2], 0)?.status).toBe("paused");
    expect(messages[2]?.state?.members).toHaveLength(1);
  });

  it("keep the newest snapshot: a late or repeated one is dropped, a stranger's refused", async () => {
    const [alice, bob, mallory] = [await createUser(), await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    await startFocus(alice, { kind: "custom", duration_minutes: 30 });
    const [, current] = await bobs.waitFor(2);
    const stale: FocusPush = {
      seq: 0,
      status: "idle",
      session_id: null,
      kind: null,
      started_at: null,
      ends_at: null,
      remaining_seconds: null,
      planned_minutes: null,
      ended_at: null,
      task: null,
      by_room: false,
    };
    const object = roomObject(room.room_id);
    expect(await object.memberFocus(room.room_id, alice.id, stale)).toEqual({ member: true });
    expect(await object.memberFocus(room.room_id, mallory.id, { ...stale, seq: 99 })).toEqual({
      member: false,
    });
    expect((await roomOf(bob, room.room_id)).members[0]?.focus.status).toBe("focusing");
    await focusAction(alice, "pause");
    const [, , paused] = await bobs.waitFor(3);
    expect(paused?.seq).toBe((current?.seq ?? 0) + 1);
  });
});
