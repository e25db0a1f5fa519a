import { afterEach, describe, expect, it } from "vitest";
import type { FocusPush } from "../src/features/rooms/member-focus";
import { callJson, createUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { focusAction, openSocket, runTimerAlarm, startFocus } from "./helpers/focus";
import {
  events,
  expectGapFree,
  leaveRoom,
  type RoomMessage,
  roomObject,
  roomOf,
  roomWith,
  socketsOfTest,
} from "./helpers/rooms";
import { createTask } from "./helpers/tasks";

const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** The focus a change message carries, provided it is that member's (a change names who changed). */
const focusIn = (message: RoomMessage | undefined, memberId: string) =>
  message?.member?.member_id === memberId ? message.member.focus : undefined;

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
      const aliceId = room.you;
      expect(events(messages)).toEqual([
        [hello + 1, "member_focus"],
        [hello + 2, "member_focus"],
        [hello + 3, "member_focus"],
        [hello + 4, "member_focus"],
      ]);
      expect(expectGapFree(messages)).toBe(true);
      expect(focusIn(messages[1], aliceId)).toMatchObject({
        status: "focusing",
        session_id: started.session?.session_id,
        kind: "custom",
        ends_at: started.session?.ends_at,
        task: null,
      });
      expect(focusIn(messages[1], aliceId)?.remaining_seconds).toBeGreaterThan(19 * 60);
      expect(focusIn(messages[2], aliceId)).toMatchObject({ status: "paused", ends_at: null });
      expect(focusIn(messages[3], aliceId)).toMatchObject({ status: "focusing" });
      expect(focusIn(messages[4], aliceId)).toMatchObject({ status: "on_break", kind: "short_break" });
      // Only Alice's timer moved: each change carries her alone, as the view shows her, not the room.
      for (const change of messages.slice(1)) {
        expect(Object.keys(change).sort()).toEqual(["at", "event", "member", "seq", "type"]);
        expect(change.member).toMatchObject({ member_id: aliceId, presence: "here", share_task: false });
      }
    }
    await focusAction(alice, "skip-break");
    expect(focusIn((await bobs.waitFor(6))[5], room.you)).toMatchObject({
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
    expect(focusIn(breakTime, room.you)).toMatchObject({ status: "on_break", kind: "short_break" });
    clock.tick(2 * 60_000);
    await runTimerAlarm(alice);
    const [, , , over] = await bobs.waitFor(4);
    expect(focusIn(over, room.you)).toMatchObject({ status: "done", kind: "custom" });
    expect(expectGapFree(bobs.messages)).toBe(true);
  });

  it("reach them when the member acts over the focus socket too", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    const focus = await openSocket({ token: alice.token });
    sockets.track(focus);
    await focus.waitFor(1);
    focus.ws.send(JSON.stringify({ type: "action", action: "start", kind: "short_burst", request_id: "a1" }));
    const [, change] = await bobs.waitFor(2);
    expect(change).toMatchObject({ type: "state", event: "member_focus" });
    expect(focusIn(change, room.you)).toMatchObject({ status: "focusing", kind: "short_burst" });
  });

  it("show a member's task only while that member shares it", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const task = await createTask(alice, { title: "Alice's private essay" });
    const room = await roomWith(alice, [bob]);
    const bobs = await open(room.room_id, bob.token);
    await startFocus(alice, { task_id: task.task_id });
    const [, hidden] = await bobs.waitFor(2);
    expect(focusIn(hidden, room.you)).toMatchObject({ status: "focusing", task: null });
    expect(JSON.stringify(bobs.messages)).not.toContain("private essay");

    await callJson(`/api/v1/rooms/${room.room_id}/me`, 200, {
      method: "PATCH",
      token: alice.token,
      body: { share_task: true },
    });
    const [, , shared] = await bobs.waitFor(3);
    expect(shared?.event).toBe("member_updated");
    expect(shared?.member).toMatchObject({ member_id: room.you, share_task: true });
    expect(focusIn(shared, room.you)?.task).toEqual({
      task_id: task.task_id,
      title: "Alice's private essay",
    });
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
    const bobId = (await roomOf(bob, room.room_id)).you;
    await leaveRoom(bob, room.room_id);
    await startFocus(bob);
    await focusAction(alice, "pause");
    const messages = await alices.waitFor(3);
    expect(events(messages).map(([, e]) => e)).toEqual(["member_left", "member_focus"]);
    expect(messages[1]?.member_id).toBe(bobId);
    expect(focusIn(messages[2], room.you)?.status).toBe("paused");
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
