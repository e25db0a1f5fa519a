import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import type { FocusSettingsDto } from "../src/features/focus/schemas";
import { callJson, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import {
  focusAction,
  focusStateOf,
  runTimerAlarm,
  sessionsOf,
  startFocus,
  timerOf,
  userWithApiToken,
} from "./helpers/focus";

const MIN = 60_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The timer's alarm, read inside the object. */
function alarmOf(user: TestUser): Promise<number | null> {
  return runInDurableObject(timerOf(user), (_instance: FocusTimer, state) => state.storage.getAlarm());
}

async function eventCounts(user: TestUser): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    "SELECT type, count(*) AS n FROM events WHERE user_id = ? GROUP BY type",
  )
    .bind(user.id)
    .all<{ type: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.type, r.n]));
}

async function storedSessions(user: TestUser): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM focus_sessions WHERE user_id = ?")
    .bind(user.id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

describe("the alarm", () => {
  it("is armed at the session's end, moved by a pause and an extension", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    const started = await startFocus(user);
    expect(await alarmOf(user)).toBe(Date.parse(started.session?.ends_at ?? ""));
    clock.tick(5 * MIN);
    await focusAction(user, "pause");
    // Paused: the next due moment is the forgotten-pause timeout, an hour on.
    expect(await alarmOf(user)).toBe(Date.now() + 60 * MIN);
    clock.tick(2 * MIN);
    const resumed = await focusAction(user, "resume");
    await focusAction(user, "extend", { minutes: 5 });
    expect(await alarmOf(user)).toBe(Date.parse(resumed.session?.ends_at ?? "") + 5 * MIN);
  });

  it("is cleared when nothing is left to wake for", async () => {
    const user = await userWithApiToken();
    await startFocus(user);
    await focusAction(user, "abandon");
    expect(await alarmOf(user)).toBeNull();
  });

  it("at work over records the session, writes focus.completed and break.due, and starts the break", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    await startFocus(user);
    clock.tick(25 * MIN);
    expect(await runTimerAlarm(user)).toBe(true);
    expect(await storedSessions(user)).toBe(1);
    expect(await eventCounts(user)).toEqual({ "focus.started": 1, "focus.completed": 1, "break.due": 1 });
    const state = await focusStateOf(user);
    expect(state).toMatchObject({ phase: "break", break: { kind: "short", remaining_seconds: 300 } });
    // Re-armed for the end of the break.
    expect(await alarmOf(user)).toBe(Date.parse(state.break?.ends_at ?? ""));
  });

  it("does nothing more when run twice for the same moment", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    await startFocus(user);
    clock.tick(25 * MIN);
    await runTimerAlarm(user);
    const seq = (await focusStateOf(user)).seq;
    expect(await runTimerAlarm(user)).toBe(true);
    expect(await eventCounts(user)).toEqual({ "focus.started": 1, "focus.completed": 1, "break.due": 1 });
    expect(await storedSessions(user)).toBe(1);
    expect((await focusStateOf(user)).seq).toBe(seq);
  });

  it("at break over ends the break with a break.over event, and then sleeps", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    await startFocus(user);
    clock.tick(25 * MIN);
    await runTimerAlarm(user);
    clock.tick(5 * MIN);
    await runTimerAlarm(user);
    expect(await focusStateOf(user)).toMatchObject({ phase: "idle", break: null, cycle: 1 });
    expect((await eventCounts(user))["break.over"]).toBe(1);
    expect(await alarmOf(user)).toBeNull();
  });
});

describe("durability", () => {
  it("keeps a paused session across eviction, with its times and sequence", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    await startFocus(user, { kind: "custom", duration_minutes: 30 });
    clock.tick(7 * MIN);
    await focusAction(user, "interrupt", { note: "courier", pause: true });
    const before = await focusStateOf(user);
    await evictDurableObject(timerOf(user));
    clock.tick(3 * MIN);
    const after = await focusStateOf(user);
    expect(after.seq).toBe(before.seq);
    expect(after.session).toMatchObject({
      session_id: before.session?.session_id,
      elapsed_seconds: 7 * 60,
      remaining_seconds: 23 * 60,
      paused_seconds: 3 * 60,
      interruption_log: [{ note: "courier" }],
    });
    const resumed = await focusAction(user, "resume");
    expect(resumed.status).toBe("running");
  });

  it("retries a settings change D1 refused, even before any session was ever started", async () => {
    const user = await userWithApiToken();
    const batch = vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("D1 is down"));
    const changed = await callJson<FocusSettingsDto>("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: user.token,
      body: { pomodoro_work_minutes: 40 },
    });
    expect(changed.pomodoro_work_minutes).toBe(40);
    batch.mockRestore();
    const stored = () =>
      env.DB.prepare("SELECT pomodoro_work_minutes AS m FROM focus_settings WHERE user_id = ?")
        .bind(user.id)
        .first<{ m: number }>();
    expect(await stored()).toBeNull();
    expect(await runTimerAlarm(user)).toBe(true);
    expect(await stored()).toEqual({ m: 40 });
    expect(await alarmOf(user)).toBeNull();
  });

  it("loses nothing when D1 fails while recording: the alarm writes it later, once", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    const started = await startFocus(user);
    const batch = vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("D1 is down"));
    clock.tick(3 * MIN);
    const finished = await focusAction(user, "finish");
    expect(finished.last_session?.session_id).toBe(started.session?.session_id);
    expect(batch).toHaveBeenCalled();
    expect(await storedSessions(user)).toBe(0);
    // The retry is armed, earlier than the break's end.
    const retryAt = await alarmOf(user);
    expect(retryAt).not.toBeNull();
    expect(retryAt).toBeLessThan(Date.parse(finished.break?.ends_at ?? ""));
    batch.mockRestore();
    clock.tick(10_000);
    await runTimerAlarm(user);
    expect(await storedSessions(user)).toBe(1);
    expect(await eventCounts(user)).toEqual({ "focus.started": 1, "focus.completed": 1, "break.due": 1 });
    await runTimerAlarm(user);
    expect(await storedSessions(user)).toBe(1);
    expect((await sessionsOf(user))[0]).toMatchObject({ completed: true, end_reason: "finished" });
  });
});
