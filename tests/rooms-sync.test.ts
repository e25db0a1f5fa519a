import { afterEach, describe, expect, it } from "vitest";
import { callJson, createUser, type TestUser } from "./helpers/api";
import { type FocusState, focusAction, focusStateOf, startFocus, timerOf } from "./helpers/focus";
import { events, expectGapFree, joinRoom, roomOf, roomWith, socketsOfTest } from "./helpers/rooms";

const sockets = socketsOfTest();
const open = sockets.open;

afterEach(sockets.closeAll);

/** The user's timer once it shows a session (a round starts it after the starter's answer). */
async function sessionOf(user: TestUser): Promise<FocusState> {
  for (let i = 0; i < 100; i++) {
    const state = await focusStateOf(user);
    if (state.session) return state;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error("no session started");
}

describe("a sync_pomodoro room", () => {
  it("starts an opted-in member's round for every idle opted-in member, once, and for nobody else", async () => {
    const [alice, bob, carol, dave] = [
      await createUser(),
      await createUser(),
      await createUser(),
      await createUser(),
    ];
    const room = await roomWith(alice, [bob], { sync_pomodoro: true });
    await joinRoom(carol, room.code, { sync_pomodoro: false });
    // Dave is busy with his own session when he joins (started in the room, it would start a round).
    const daves = await startFocus(dave, { kind: "deep_work" });
    await joinRoom(dave, room.code);
    const alices = await open(room.room_id, alice.token);
    const hello = alices.messages[0]?.seq ?? 0;

    const started = await startFocus(alice, { kind: "pomodoro", duration_minutes: 20 });
    const bobs = await sessionOf(bob);
    expect(bobs.session).toMatchObject({ kind: "pomodoro", planned_minutes: 20, task_id: null });
    const messages = await alices.waitFor(4);
    expect(events(messages)).toEqual([
      [hello + 1, "member_focus"],
      [hello + 2, "round_started"],
      [hello + 3, "member_focus"],
    ]);
    expect(expectGapFree(messages)).toBe(true);
    expect(messages[1]?.member).toMatchObject({ member_id: room.you, focus: { status: "focusing" } });
    expect(messages[2]).toMatchObject({
      member_id: room.you,
      round: { round_id: started.session?.session_id, kind: "pomodoro", duration_minutes: 20 },
    });
    expect(messages[2]).not.toHaveProperty("member");
    const bobId = (await roomOf(bob, room.room_id)).you;
    expect(messages[3]?.member?.member_id).toBe(bobId);
    expect(messages[3]?.member?.focus).toMatchObject({
      status: "focusing",
      session_id: bobs.session?.session_id,
    });
    // Carol opted out; Dave was busy with his own session, which goes on untouched.
    expect((await focusStateOf(carol)).phase).toBe("idle");
    expect((await focusStateOf(dave)).session?.session_id).toBe(daves.session?.session_id);

    // The round is asked again (a retried push): nothing starts twice, even once Bob is idle again.
    await focusAction(bob, "abandon");
    const round = {
      room_id: room.room_id,
      round_id: started.session?.session_id ?? "",
      kind: "pomodoro" as const,
      duration_minutes: 20,
    };
    expect(await timerOf(bob).joinRound(bob.id, round)).toBe(false);
    expect((await focusStateOf(bob)).phase).toBe("idle");
    // Bob's round started by the room started no round of its own: one round_started in all.
    const all = await alices.waitFor(5);
    expect(all.filter((m) => m.event === "round_started")).toHaveLength(1);
    expect((await roomOf(alice, room.room_id)).members[1]?.focus.status).toBe("done");
  });

  it("starts nothing in a room without sync, nor for a member's own round when they opted out", async () => {
    const [alice, bob, carol] = [await createUser(), await createUser(), await createUser()];
    const plain = await roomWith(alice, [bob]);
    const synced = await roomWith(carol, [], { sync_pomodoro: true });
    await joinRoom(bob, synced.code);
    // Carol opts out of her own room's rounds.
    await callJson(`/api/v1/rooms/${synced.room_id}/me`, 200, {
      method: "PATCH",
      token: carol.token,
      body: { sync_pomodoro: false },
    });
    const bobs = await open(plain.room_id, bob.token);
    await startFocus(alice);
    await startFocus(carol);
    const [, focus] = await bobs.waitFor(2);
    expect(focus?.event).toBe("member_focus");
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await focusStateOf(bob)).phase).toBe("idle");
    expect(bobs.messages.filter((m) => m.event === "round_started")).toEqual([]);
  });
});
