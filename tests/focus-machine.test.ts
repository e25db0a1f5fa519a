import { describe, expect, it } from "vitest";
import {
  breakAfter,
  DEFAULT_SETTINGS,
  describeKinds,
  type FocusSettings,
  normalizeSettings,
  plannedMinutes,
  type SessionKind,
} from "../src/features/focus/kinds";
import {
  type Effect,
  type FocusAction,
  initialState,
  nextDueAt,
  step,
  type TimerState,
  toView,
} from "../src/features/focus/machine";

const MIN = 60_000;
const T0 = Date.parse("2026-11-25T09:00:00.000Z");
let ids = 0;

function start(
  kind: SessionKind = "pomodoro",
  extra: Partial<Extract<FocusAction, { type: "start" }>> = {},
): FocusAction {
  ids += 1;
  return { type: "start", session_id: `s-${ids}`, kind, settings: DEFAULT_SETTINGS, ...extra };
}

/** Applies the action at `at`, failing the test if it is refused. */
function run(state: TimerState, action: FocusAction | null, at: number) {
  const result = step(state, action, at);
  if (result.error) throw new Error(`${action?.type} refused: ${JSON.stringify(result.error)}`);
  return result;
}

const eventTypes = (effects: Effect[]) =>
  effects.flatMap((e) => (e.type === "event" ? [e.event_type] : e.type === "signal" ? [e.signal] : []));
const records = (effects: Effect[]) => effects.flatMap((e) => (e.type === "record" ? [e.record] : []));

describe("starting", () => {
  it("starts a pomodoro of the user's work length, ending 25 minutes later", () => {
    const { state, effects } = run(initialState("u"), start(), T0);
    const view = toView(state, T0);
    expect(view).toMatchObject({ phase: "work", status: "running", cycle: 0, next_break: "short" });
    expect(view.session).toMatchObject({
      kind: "pomodoro",
      planned_minutes: 25,
      elapsed_seconds: 0,
      remaining_seconds: 25 * 60,
      ends_at: new Date(T0 + 25 * MIN).toISOString(),
    });
    expect(eventTypes(effects)).toEqual(["focus.started", "started"]);
  });

  it("refuses a second start while a session runs with 409", () => {
    const { state } = run(initialState("u"), start(), T0);
    const again = step(state, start(), T0 + MIN);
    expect(again).toMatchObject({ error: { status: 409, code: "focus_session_active" } });
  });

  it.each([
    ["custom", undefined, "needs a duration"],
    ["custom", 4, "5–90"],
    ["custom", 91, "5–90"],
    ["deep_work", 45, "50–90"],
    ["short_burst", 20, "10–15"],
    ["flowtime", 30, "open-ended"],
  ] as const)("refuses a %s session of %s minutes with 422", (kind, minutes, why) => {
    const result = step(initialState("u"), start(kind, { duration_minutes: minutes }), T0);
    expect(result.error).toMatchObject({ status: 422, field: "duration_minutes" });
    expect(result.error?.detail).toContain(why);
  });

  it("plans each kind from the user's settings unless a duration is given", () => {
    const settings: FocusSettings = { ...DEFAULT_SETTINGS, deep_work_minutes: 75, short_burst_minutes: 10 };
    expect(plannedMinutes("deep_work", undefined, settings)).toEqual({ ok: true, minutes: 75 });
    expect(plannedMinutes("short_burst", undefined, settings)).toEqual({ ok: true, minutes: 10 });
    expect(plannedMinutes("pomodoro", 40, settings)).toEqual({ ok: true, minutes: 40 });
    expect(plannedMinutes("flowtime", undefined, settings)).toEqual({ ok: true, minutes: null });
  });

  it("keeps the task and step being worked on", () => {
    const { state } = run(
      initialState("u"),
      start("custom", { duration_minutes: 10, task_id: "t", step_id: "p" }),
      T0,
    );
    expect(toView(state, T0).session).toMatchObject({ task_id: "t", step_id: "p", planned_minutes: 10 });
  });
});

describe("pausing and resuming", () => {
  it("derives elapsed and remaining time across a pause, and moves the end back", () => {
    let s = run(initialState("u"), start(), T0).state;
    s = run(s, { type: "pause" }, T0 + 10 * MIN).state;
    const paused = toView(s, T0 + 14 * MIN);
    expect(paused.status).toBe("paused");
    expect(paused.session).toMatchObject({ elapsed_seconds: 600, remaining_seconds: 900, ends_at: null });
    s = run(s, { type: "resume" }, T0 + 15 * MIN).state;
    expect(toView(s, T0 + 20 * MIN).session).toMatchObject({
      elapsed_seconds: 15 * 60,
      remaining_seconds: 10 * 60,
      paused_seconds: 5 * 60,
      pauses: 1,
      ends_at: new Date(T0 + 30 * MIN).toISOString(),
    });
    expect(nextDueAt(s)).toBe(T0 + 30 * MIN);
  });

  it("refuses pausing a paused session and resuming a running one with 409", () => {
    const running = run(initialState("u"), start(), T0).state;
    expect(step(running, { type: "resume" }, T0)).toMatchObject({ error: { code: "not_paused" } });
    const paused = run(running, { type: "pause" }, T0 + MIN).state;
    expect(step(paused, { type: "pause" }, T0 + 2 * MIN)).toMatchObject({
      error: { status: 409, code: "already_paused" },
    });
  });

  it("ends a session left paused for an hour, as not completed, at the hour", () => {
    let s = run(initialState("u"), start(), T0).state;
    s = run(s, { type: "pause" }, T0 + 5 * MIN).state;
    expect(nextDueAt(s)).toBe(T0 + 65 * MIN);
    const { state, effects } = run(s, null, T0 + 3 * 60 * MIN);
    expect(state.work).toBeNull();
    expect(records(effects)).toMatchObject([
      {
        completed: false,
        end_reason: "pause_timeout",
        actual_seconds: 300,
        paused_seconds: 3600,
        ended_at: new Date(T0 + 65 * MIN).toISOString(),
      },
    ]);
    expect(eventTypes(effects)).toEqual(["focus.abandoned", "abandoned"]);
  });
});

describe("time running out", () => {
  it("records a completed session at its due moment and starts the break there", () => {
    const s = run(initialState("u"), start(), T0).state;
    const { state, effects } = run(s, null, T0 + 25 * MIN + 1234);
    expect(records(effects)).toMatchObject([
      {
        completed: true,
        end_reason: "time_up",
        actual_seconds: 1500,
        planned_minutes: 25,
        cycle: 1,
        ended_at: new Date(T0 + 25 * MIN).toISOString(),
      },
    ]);
    expect(eventTypes(effects)).toEqual(["focus.completed", "break.due", "work_over"]);
    const view = toView(state, T0 + 25 * MIN + 1234);
    expect(view).toMatchObject({ phase: "break", cycle: 1 });
    expect(view.break).toMatchObject({
      kind: "short",
      planned_minutes: 5,
      ends_at: new Date(T0 + 30 * MIN).toISOString(),
    });
  });

  it("does nothing more when advanced again at the same moment", () => {
    const s = run(run(initialState("u"), start(), T0).state, null, T0 + 26 * MIN).state;
    const again = run(s, null, T0 + 26 * MIN);
    expect(again.effects).toEqual([]);
    expect(again.state).toEqual(s);
  });

  it("replays work over and break over at their own times when advanced hours late", () => {
    const s = run(initialState("u"), start(), T0).state;
    const { state, effects } = run(s, null, T0 + 5 * 60 * MIN);
    expect(eventTypes(effects)).toEqual([
      "focus.completed",
      "break.due",
      "work_over",
      "break.over",
      "break_over",
    ]);
    const breakOver = effects.find((e) => e.type === "signal" && e.signal === "break_over");
    expect(breakOver).toMatchObject({ at: T0 + 30 * MIN });
    expect(toView(state, T0 + 5 * 60 * MIN)).toMatchObject({ phase: "idle", status: "idle", break: null });
    expect(nextDueAt(state)).toBeNull();
  });
});

/** Runs `n` pomodoros back to back, each started the moment the previous break ends. */
function pomodoros(n: number, settings: FocusSettings = DEFAULT_SETTINGS) {
  let s = initialState("u");
  let at = T0;
  const breaks: string[] = [];
  for (let i = 0; i < n; i++) {
    s = run(s, start("pomodoro", { settings }), at).state;
    at += settings.pomodoro_work_minutes * MIN;
    s = run(s, null, at).state;
    breaks.push(`${s.break?.kind}:${(s.break?.planned_ms ?? 0) / MIN}`);
    at += s.break?.planned_ms ?? 0;
    s = run(s, null, at).state;
  }
  return { state: s, breaks, at };
}

describe("pomodoro runs", () => {
  it("gives a 15-minute long break after every 4th pomodoro in a run", () => {
    expect(pomodoros(8).breaks).toEqual([
      "short:5",
      "short:5",
      "short:5",
      "long:15",
      "short:5",
      "short:5",
      "short:5",
      "long:15",
    ]);
  });

  it("follows the user's own pomodoro settings", () => {
    const settings = {
      ...DEFAULT_SETTINGS,
      pomodoro_work_minutes: 50,
      short_break_minutes: 10,
      long_break_minutes: 30,
      long_break_every: 2,
    };
    expect(pomodoros(4, settings).breaks).toEqual(["short:10", "long:30", "short:10", "long:30"]);
  });

  it("shows the run's count only while the run can still continue", () => {
    const { state, at } = pomodoros(2);
    expect(toView(state, at + 59 * MIN).cycle).toBe(2);
    expect(toView(state, at + 61 * MIN).cycle).toBe(0);
  });

  it("starts counting again after a gap of more than an hour", () => {
    const { state, at } = pomodoros(3);
    expect(state.run_count).toBe(3);
    const later = run(state, start(), at + 61 * MIN).state;
    expect(toView(later, at + 61 * MIN)).toMatchObject({ cycle: 0, next_break: "short" });
    const soon = run(state, start(), at + 10 * MIN).state;
    expect(toView(soon, at + 10 * MIN)).toMatchObject({ cycle: 3, next_break: "long" });
  });

  it("ends the break early when the next session starts during it", () => {
    let s = run(initialState("u"), start(), T0).state;
    s = run(s, null, T0 + 26 * MIN).state;
    expect(s.break).not.toBeNull();
    const { state, effects } = run(s, start(), T0 + 27 * MIN);
    expect(state.break).toBeNull();
    expect(toView(state, T0 + 27 * MIN)).toMatchObject({ phase: "work", cycle: 1 });
    // The break.due sent at work over gets its closing break.over, marked as skipped.
    expect(eventTypes(effects)).toEqual(["break.over", "break_skipped", "focus.started", "started"]);
    expect(effects[0]).toMatchObject({ data: { reason: "skipped", break_kind: "short" }, at: T0 + 27 * MIN });
  });
});

describe("other kinds", () => {
  it.each([
    ["deep_work", 50, 10],
    ["deep_work", 90, 18],
    ["short_burst", 15, 3],
    ["short_burst", 10, 2],
    ["custom", 5, 1],
    ["custom", 90, 18],
  ] as const)("a %s session of %i minutes earns a %i-minute break", (kind, minutes, breakMinutes) => {
    const s = run(initialState("u"), start(kind, { duration_minutes: minutes }), T0).state;
    const over = run(s, null, T0 + minutes * MIN).state;
    expect(toView(over, T0 + minutes * MIN).break).toMatchObject({
      kind: "short",
      planned_minutes: breakMinutes,
    });
  });

  it("runs flowtime open-ended and sizes its break as a share of the time worked", () => {
    let s = run(initialState("u"), start("flowtime"), T0).state;
    const view = toView(s, T0 + 40 * MIN);
    expect(view.session).toMatchObject({ planned_minutes: null, remaining_seconds: null, ends_at: null });
    expect(view.session?.elapsed_seconds).toBe(2400);
    s = run(s, { type: "finish" }, T0 + 40 * MIN).state;
    expect(toView(s, T0 + 40 * MIN).break).toMatchObject({ planned_minutes: 8 });
  });

  it("gives flowtime at least a one-minute break", () => {
    let s = run(initialState("u"), start("flowtime"), T0).state;
    s = run(s, { type: "finish" }, T0 + 2 * MIN).state;
    expect(toView(s, T0 + 2 * MIN).break?.planned_minutes).toBe(1);
  });

  it("ends a forgotten flowtime session at the 4-hour cap, as completed", () => {
    const s = run(initialState("u"), start("flowtime"), T0).state;
    expect(nextDueAt(s)).toBe(T0 + 240 * MIN);
    const { effects } = run(s, null, T0 + 300 * MIN);
    expect(records(effects)).toMatchObject([
      { completed: true, end_reason: "flowtime_cap", actual_seconds: 240 * 60, planned_minutes: null },
    ]);
  });

  it("caps a flowtime break at an hour however long the work and high the share", () => {
    const settings = { ...DEFAULT_SETTINGS, flowtime_break_percent: 50 };
    let s = run(initialState("u"), start("flowtime", { settings }), T0).state;
    s = run(s, null, T0 + 240 * MIN).state;
    expect(toView(s, T0 + 240 * MIN).break?.planned_minutes).toBe(60);
  });

  it("sizes a proportional break by the time actually worked, at most 20 minutes", () => {
    let early = run(initialState("u"), start("deep_work", { duration_minutes: 90 }), T0).state;
    early = run(early, { type: "finish" }, T0 + 30 * MIN).state;
    expect(toView(early, T0 + 30 * MIN).break?.planned_minutes).toBe(6);
    let long = run(initialState("u"), start("custom", { duration_minutes: 90 }), T0).state;
    long = run(long, { type: "extend", minutes: 60 }, T0 + MIN).state;
    long = run(long, null, T0 + 150 * MIN).state;
    expect(toView(long, T0 + 150 * MIN).break?.planned_minutes).toBe(20);
  });

  it("refuses to extend flowtime with 409", () => {
    const s = run(initialState("u"), start("flowtime"), T0).state;
    expect(step(s, { type: "extend", minutes: 5 }, T0)).toMatchObject({
      error: { status: 409, code: "open_ended" },
    });
  });
});

describe("interruptions, extending, finishing, abandoning", () => {
  it("logs interruptions with their notes, and pauses when asked", () => {
    let s = run(initialState("u"), start(), T0).state;
    s = run(s, { type: "interrupt", note: "phone call" }, T0 + 3 * MIN).state;
    s = run(s, { type: "interrupt", pause: true }, T0 + 7 * MIN).state;
    const view = toView(s, T0 + 9 * MIN);
    expect(view.status).toBe("paused");
    expect(view.session).toMatchObject({
      interruptions: 2,
      elapsed_seconds: 7 * 60,
      interruption_log: [
        { at: new Date(T0 + 3 * MIN).toISOString(), note: "phone call" },
        { at: new Date(T0 + 7 * MIN).toISOString(), note: null },
      ],
    });
  });

  it("extends a session and its break, within the caps", () => {
    let s = run(initialState("u"), start(), T0).state;
    s = run(s, { type: "extend", minutes: 10 }, T0 + MIN).state;
    expect(toView(s, T0 + MIN).session).toMatchObject({ planned_minutes: 35, extended_minutes: 10 });
    expect(nextDueAt(s)).toBe(T0 + 35 * MIN);
    expect(step(s, { type: "extend", minutes: 240 }, T0 + MIN)).toMatchObject({
      error: { status: 422, field: "minutes" },
    });
    s = run(s, null, T0 + 35 * MIN).state;
    s = run(s, { type: "extend", minutes: 5 }, T0 + 36 * MIN).state;
    expect(toView(s, T0 + 36 * MIN).break).toMatchObject({ planned_minutes: 10 });
  });

  it("records a finished session as completed with the time actually worked", () => {
    let s = run(initialState("u"), start(), T0).state;
    const finished = run(s, { type: "finish" }, T0 + 12 * MIN);
    s = finished.state;
    expect(records(finished.effects)).toMatchObject([
      { completed: true, end_reason: "finished", actual_seconds: 720, cycle: 1 },
    ]);
    expect(eventTypes(finished.effects)).toEqual(["focus.completed", "break.due", "finished"]);
    expect(toView(s, T0 + 12 * MIN)).toMatchObject({
      phase: "break",
      last_session: { session_id: `s-${ids}` },
    });
  });

  it("finishes straight to idle when no break is wanted", () => {
    const s = run(initialState("u"), start(), T0).state;
    const { state } = run(s, { type: "finish", take_break: false }, T0 + 20 * MIN);
    expect(toView(state, T0 + 20 * MIN).phase).toBe("idle");
  });

  it("records an abandoned session as not completed, with no break and no run credit", () => {
    const s = run(initialState("u"), start(), T0).state;
    const { state, effects } = run(s, { type: "abandon" }, T0 + 4 * MIN);
    expect(records(effects)).toMatchObject([{ completed: false, end_reason: "abandoned", cycle: 0 }]);
    expect(eventTypes(effects)).toEqual(["focus.abandoned", "abandoned"]);
    expect(state).toMatchObject({ work: null, break: null, run_count: 0 });
  });

  it("skips a break, and refuses to skip when there is none", () => {
    let s = run(initialState("u"), start(), T0).state;
    expect(step(s, { type: "skip_break" }, T0)).toMatchObject({ error: { code: "not_on_break" } });
    s = run(s, { type: "finish" }, T0 + 24 * MIN).state;
    const skipped = run(s, { type: "skip_break" }, T0 + 26 * MIN);
    expect(toView(skipped.state, T0 + 26 * MIN).phase).toBe("idle");
    expect(eventTypes(skipped.effects)).toEqual(["break.over", "break_skipped"]);
    expect(skipped.effects[0]).toMatchObject({ data: { reason: "skipped" } });
  });

  it.each(["pause", "resume", "interrupt", "finish", "abandon"] as const)(
    "refuses %s with no session (409) and during a break (409 on_break)",
    (type) => {
      const action = { type } as FocusAction;
      expect(step(initialState("u"), action, T0)).toMatchObject({
        error: { status: 409, code: "no_focus_session" },
      });
      const onBreak = run(run(initialState("u"), start(), T0).state, { type: "finish" }, T0 + MIN).state;
      expect(step(onBreak, action, T0 + 2 * MIN)).toMatchObject({
        error: { status: 409, code: "on_break" },
      });
    },
  );
});

describe("kinds and settings", () => {
  it("describes the five kinds with the user's defaults", () => {
    const kinds = describeKinds({ ...DEFAULT_SETTINGS, pomodoro_work_minutes: 30 });
    expect(kinds.map((k) => k.kind)).toEqual(["pomodoro", "deep_work", "short_burst", "flowtime", "custom"]);
    expect(kinds[0]).toMatchObject({ default_minutes: 30, min_minutes: 5, max_minutes: 90 });
    expect(kinds[3]).toMatchObject({ default_minutes: null, min_minutes: null, max_minutes: null });
  });

  it("replaces missing or out-of-range settings with defaults", () => {
    expect(normalizeSettings({ pomodoro_work_minutes: 45, long_break_every: 99 })).toEqual({
      ...DEFAULT_SETTINGS,
      pomodoro_work_minutes: 45,
    });
    expect(normalizeSettings(null)).toEqual(DEFAULT_SETTINGS);
  });

  it("never gives a break under a minute", () => {
    expect(breakAfter("custom", 0, 1, DEFAULT_SETTINGS).minutes).toBe(1);
    expect(breakAfter("flowtime", 0, 1, DEFAULT_SETTINGS).minutes).toBe(1);
  });
});

describe("stale clients and refused actions", () => {
  it("refuses an action meant for a session that is no longer the current one with 409", () => {
    const s = run(initialState("u"), start(), T0).state;
    const current = s.work?.session_id ?? "";
    expect(step(s, { type: "pause" }, T0 + MIN, "some-old-session").error).toMatchObject({
      status: 409,
      code: "session_mismatch",
    });
    expect(step(s, { type: "pause" }, T0 + MIN, current).error).toBeNull();
  });

  it("keeps what fell due even when the action itself is refused", () => {
    const s = run(initialState("u"), start(), T0).state;
    const result = step(s, { type: "pause" }, T0 + 26 * MIN);
    expect(result.error).toMatchObject({ status: 409, code: "on_break" });
    expect(eventTypes(result.effects)).toEqual(["focus.completed", "break.due", "work_over"]);
    expect(result.state.break).not.toBeNull();
  });
});
