/**
 * The focus timer as a pure state machine: (state, action, now) → state and effects. The FocusTimer
 * Durable Object stores the state, carries out the effects and arms its one alarm at `nextDueAt`.
 * Nothing ticks: time worked and time left are derived from timestamps, and `advance` replays every
 * moment that fell due (work over, break over, a pause left too long) exactly at its due time, so a
 * late alarm — or none — changes nothing about what is recorded.
 */
import type { EndReason } from "../../db/schema/focus";
import type { EventData, EventEffect, EventType } from "../../lib/events/catalog";
import { nowIso } from "../../lib/time";
import {
  type BreakKind,
  breakAfter,
  DEFAULT_SETTINGS,
  FLOWTIME_CAP_MINUTES,
  type FocusSettings,
  MAX_BREAK_MINUTES,
  MAX_PAUSE_MINUTES,
  MAX_PLANNED_MINUTES,
  minutesOf,
  plannedMinutes,
  RUN_GAP_MINUTES,
  type SessionKind,
} from "./kinds";
import type { FocusRecordDto } from "./schemas";

const MINUTE = 60_000;
/** Interruption notes kept per session (the count goes on past it). */
export const MAX_LOGGED_INTERRUPTIONS = 50;

export interface Interruption {
  at: number;
  note: string | null;
}

export interface WorkSession {
  session_id: string;
  kind: SessionKind;
  /** Planned work including extensions; null for flowtime (open-ended). */
  planned_ms: number | null;
  extended_ms: number;
  started_at: number;
  /** Start of the current running stretch; null while paused. */
  running_since: number | null;
  /** Work time from the stretches before the current one. */
  banked_ms: number;
  paused_at: number | null;
  pauses: number;
  paused_ms: number;
  interruptions: number;
  interruption_log: Interruption[];
  task_id: string | null;
  step_id: string | null;
}

export interface BreakPhase {
  kind: BreakKind;
  planned_ms: number;
  started_at: number;
  after_session_id: string;
}

/** A work session that ended: what D1's focus_sessions keeps. Times are ISO strings. */
export interface FocusRecord {
  session_id: string;
  user_id: string;
  kind: SessionKind;
  planned_minutes: number | null;
  actual_seconds: number;
  completed: boolean;
  end_reason: EndReason;
  interruptions: number;
  interruption_log: { at: string; note: string | null }[];
  pauses: number;
  paused_seconds: number;
  extended_minutes: number;
  /** Completed work sessions in the run when this one ended (this one included if completed). */
  cycle: number;
  task_id: string | null;
  step_id: string | null;
  started_at: string;
  ended_at: string;
}

export interface TimerState {
  user_id: string;
  work: WorkSession | null;
  break: BreakPhase | null;
  /** Work sessions completed in the current run (consecutive sessions of one kind). */
  run_count: number;
  run_kind: SessionKind | null;
  /** When the last work session or break ended: a start within RUN_GAP_MINUTES continues the run. */
  last_ended_at: number | null;
  /** The settings the current run was started with (break lengths follow them). */
  settings: FocusSettings;
  last_record: FocusRecord | null;
}

export const FOCUS_SIGNALS = [
  "started",
  "paused",
  "resumed",
  "interrupted",
  "extended",
  "work_over",
  "finished",
  "abandoned",
  "break_over",
  "break_skipped",
] as const;
/** What happened, as every device of the user is told over the WebSocket. */
export type FocusSignal = (typeof FOCUS_SIGNALS)[number];

export const FOCUS_EVENT_TYPES = [
  "focus.started",
  "focus.completed",
  "focus.abandoned",
  "break.due",
  "break.over",
] as const satisfies readonly EventType[];
export type FocusEventType = (typeof FOCUS_EVENT_TYPES)[number];

export type Effect =
  | { type: "signal"; signal: FocusSignal; at: number }
  | { type: "record"; record: FocusRecord }
  | EventEffect<FocusEventType>;

export type FocusAction =
  | {
      type: "start";
      session_id: string;
      kind: SessionKind;
      duration_minutes?: number | undefined;
      task_id?: string | null | undefined;
      step_id?: string | null | undefined;
      settings: FocusSettings;
    }
  | { type: "pause" }
  | { type: "resume" }
  | { type: "interrupt"; note?: string | undefined; pause?: boolean | undefined }
  | { type: "extend"; minutes: number }
  | { type: "finish"; take_break?: boolean | undefined }
  | { type: "abandon" }
  | { type: "skip_break" };

export interface ActionError {
  /** 401: the account is gone (its timer was erased and refuses everything). */
  status: 401 | 404 | 409 | 422 | 503;
  code: string;
  detail: string;
  field?: string;
}

export type Transition =
  | { ok: true; state: TimerState; effects: Effect[] }
  | { ok: false; error: ActionError };

export function initialState(userId: string): TimerState {
  return {
    user_id: userId,
    work: null,
    break: null,
    run_count: 0,
    run_kind: null,
    last_ended_at: null,
    settings: DEFAULT_SETTINGS,
    last_record: null,
  };
}

export type Phase = "idle" | "work" | "break";

export function phaseOf(state: TimerState): Phase {
  if (state.work) return "work";
  if (state.break) return "break";
  return "idle";
}

/** Time worked so far in a session, at `now`. */
export function workedMs(work: WorkSession, now: number): number {
  return work.banked_ms + (work.running_since === null ? 0 : Math.max(0, now - work.running_since));
}

/** The moment a running session's planned time (or flowtime's cap) is reached; null while paused. */
export function workDueAt(work: WorkSession): number | null {
  if (work.running_since === null) return null;
  const limit = work.planned_ms ?? FLOWTIME_CAP_MINUTES * MINUTE;
  return work.running_since + Math.max(0, limit - work.banked_ms);
}

const pauseDueAt = (work: WorkSession) =>
  work.paused_at === null ? null : work.paused_at + MAX_PAUSE_MINUTES * MINUTE;
const breakDueAt = (b: BreakPhase) => b.started_at + b.planned_ms;

/** The next moment something falls due by itself, for the alarm; null when nothing will. */
export function nextDueAt(state: TimerState): number | null {
  if (state.work) return workDueAt(state.work) ?? pauseDueAt(state.work);
  if (state.break) return breakDueAt(state.break);
  return null;
}

function eventData(record: FocusRecord): EventData<"focus.completed"> {
  return {
    session_id: record.session_id,
    kind: record.kind,
    planned_minutes: record.planned_minutes,
    actual_minutes: minutesOf(record.actual_seconds),
    completed: record.completed,
    end_reason: record.end_reason,
    interruptions: record.interruptions,
    task_id: record.task_id,
    step_id: record.step_id,
    started_at: record.started_at,
    ended_at: record.ended_at,
  };
}

/** Ends the work session at `at`: the record, its event, and the break when one follows. */
function endWork(
  state: TimerState,
  at: number,
  reason: EndReason,
  takeBreak: boolean,
): { state: TimerState; effects: Effect[] } {
  const work = state.work;
  if (!work) return { state, effects: [] };
  const completed = reason === "finished" || reason === "time_up" || reason === "flowtime_cap";
  const worked = workedMs(work, at);
  const pausedMs = work.paused_ms + (work.paused_at === null ? 0 : Math.max(0, at - work.paused_at));
  const runCount = state.run_count + (completed ? 1 : 0);
  const record: FocusRecord = {
    session_id: work.session_id,
    user_id: state.user_id,
    kind: work.kind,
    planned_minutes: work.planned_ms === null ? null : Math.round(work.planned_ms / MINUTE),
    actual_seconds: Math.round(worked / 1000),
    completed,
    end_reason: reason,
    interruptions: work.interruptions,
    interruption_log: work.interruption_log.map((i) => ({ at: nowIso(i.at), note: i.note })),
    pauses: work.pauses,
    paused_seconds: Math.round(pausedMs / 1000),
    extended_minutes: Math.round(work.extended_ms / MINUTE),
    cycle: runCount,
    task_id: work.task_id,
    step_id: work.step_id,
    started_at: nowIso(work.started_at),
    ended_at: nowIso(at),
  };
  const effects: Effect[] = [
    { type: "record", record },
    {
      type: "event",
      event_type: completed ? "focus.completed" : "focus.abandoned",
      data: eventData(record),
      at,
    },
  ];
  let next: TimerState = {
    ...state,
    work: null,
    run_count: runCount,
    last_record: record,
    last_ended_at: at,
  };
  if (completed && takeBreak) {
    const b = breakAfter(work.kind, worked / MINUTE, runCount, state.settings);
    const brk: BreakPhase = {
      kind: b.kind,
      planned_ms: b.minutes * MINUTE,
      started_at: at,
      after_session_id: work.session_id,
    };
    next = { ...next, break: brk };
    effects.push({
      type: "event",
      event_type: "break.due",
      data: {
        session_id: work.session_id,
        break_kind: b.kind,
        break_minutes: b.minutes,
        ends_at: nowIso(breakDueAt(brk)),
      },
      at,
    });
  }
  return { state: next, effects };
}

/**
 * Ends the break at `at`: by time (`break_over`) or because the user moved on (`break_skipped`, also
 * when a session starts during it). Either way `break.over` closes the `break.due` it answers.
 */
function endBreak(
  state: TimerState,
  at: number,
  reason: "time_up" | "skipped",
): { state: TimerState; effects: Effect[] } {
  const brk = state.break;
  if (!brk) return { state, effects: [] };
  return {
    state: { ...state, break: null, last_ended_at: at },
    effects: [
      {
        type: "event",
        event_type: "break.over",
        data: { session_id: brk.after_session_id, break_kind: brk.kind, reason },
        at,
      },
      { type: "signal", signal: reason === "time_up" ? "break_over" : "break_skipped", at },
    ],
  };
}

/** How many due moments one call may replay: work over, then its break over, is the longest chain. */
const MAX_ADVANCE_STEPS = 4;

/**
 * Replays every moment due by `now` at its own due time: work over (the session is recorded as
 * completed and its break begins), a pause left longer than MAX_PAUSE_MINUTES (recorded as not
 * completed), break over. Running it again at the same `now` finds nothing more to do.
 */
export function advance(state: TimerState, now: number): { state: TimerState; effects: Effect[] } {
  let current = state;
  const effects: Effect[] = [];
  for (let step = 0; step < MAX_ADVANCE_STEPS; step++) {
    const work = current.work;
    if (work) {
      const due = workDueAt(work);
      if (due !== null && due <= now) {
        const ended = endWork(current, due, work.planned_ms === null ? "flowtime_cap" : "time_up", true);
        current = ended.state;
        effects.push(...ended.effects, { type: "signal", signal: "work_over", at: due });
        continue;
      }
      const pauseDue = pauseDueAt(work);
      if (pauseDue !== null && pauseDue <= now) {
        const ended = endWork(current, pauseDue, "pause_timeout", false);
        current = ended.state;
        effects.push(...ended.effects, { type: "signal", signal: "abandoned", at: pauseDue });
        continue;
      }
    } else if (current.break) {
      const due = breakDueAt(current.break);
      if (due <= now) {
        const ended = endBreak(current, due, "time_up");
        current = ended.state;
        effects.push(...ended.effects);
        continue;
      }
    }
    break;
  }
  return { state: current, effects };
}

const conflict = (code: string, detail: string): Transition => ({
  ok: false,
  error: { status: 409, code, detail },
});
const invalid = (field: string, detail: string): Transition => ({
  ok: false,
  error: { status: 422, code: "validation_failed", detail: `${field}: ${detail}.`, field },
});

const noSession = () => conflict("no_focus_session", "There is no focus session running.");
const onBreak = () =>
  conflict("on_break", "You are on a break; start a session first (or skip the break and start).");

/** Applies one action at `now` to a state already advanced to `now`. */
export function applyAction(state: TimerState, action: FocusAction, now: number): Transition {
  const work = state.work;
  switch (action.type) {
    case "start": {
      if (work) return conflict("focus_session_active", "A focus session is already running; end it first.");
      const plan = plannedMinutes(action.kind, action.duration_minutes, action.settings);
      if (!plan.ok) return invalid(plan.field, plan.message);
      const skipped = endBreak(state, now, "skipped");
      const effects: Effect[] = [...skipped.effects];
      let next = skipped.state;
      const continuesRun =
        next.run_kind === action.kind &&
        next.last_ended_at !== null &&
        now - next.last_ended_at <= RUN_GAP_MINUTES * MINUTE;
      const session: WorkSession = {
        session_id: action.session_id,
        kind: action.kind,
        planned_ms: plan.minutes === null ? null : plan.minutes * MINUTE,
        extended_ms: 0,
        started_at: now,
        running_since: now,
        banked_ms: 0,
        paused_at: null,
        pauses: 0,
        paused_ms: 0,
        interruptions: 0,
        interruption_log: [],
        task_id: action.task_id ?? null,
        step_id: action.step_id ?? null,
      };
      next = {
        ...next,
        work: session,
        run_kind: action.kind,
        run_count: continuesRun ? next.run_count : 0,
        settings: action.settings,
      };
      effects.push(
        {
          type: "event",
          event_type: "focus.started",
          data: {
            session_id: session.session_id,
            kind: session.kind,
            planned_minutes: plan.minutes,
            task_id: session.task_id,
            step_id: session.step_id,
            ends_at: plan.minutes === null ? null : nowIso(now + plan.minutes * MINUTE),
          },
          at: now,
        },
        { type: "signal", signal: "started", at: now },
      );
      return { ok: true, state: next, effects };
    }
    case "pause": {
      if (!work) return state.break ? onBreak() : noSession();
      if (work.running_since === null) return conflict("already_paused", "The session is already paused.");
      const paused: WorkSession = {
        ...work,
        banked_ms: workedMs(work, now),
        running_since: null,
        paused_at: now,
        pauses: work.pauses + 1,
      };
      return {
        ok: true,
        state: { ...state, work: paused },
        effects: [{ type: "signal", signal: "paused", at: now }],
      };
    }
    case "resume": {
      if (!work) return state.break ? onBreak() : noSession();
      if (work.paused_at === null) return conflict("not_paused", "The session is not paused.");
      const resumed: WorkSession = {
        ...work,
        running_since: now,
        paused_ms: work.paused_ms + Math.max(0, now - work.paused_at),
        paused_at: null,
      };
      return {
        ok: true,
        state: { ...state, work: resumed },
        effects: [{ type: "signal", signal: "resumed", at: now }],
      };
    }
    case "interrupt": {
      if (!work) return state.break ? onBreak() : noSession();
      const log =
        work.interruption_log.length < MAX_LOGGED_INTERRUPTIONS
          ? [...work.interruption_log, { at: now, note: action.note ?? null }]
          : work.interruption_log;
      let next: WorkSession = { ...work, interruptions: work.interruptions + 1, interruption_log: log };
      if (action.pause && next.running_since !== null) {
        next = {
          ...next,
          banked_ms: workedMs(next, now),
          running_since: null,
          paused_at: now,
          pauses: next.pauses + 1,
        };
      }
      return {
        ok: true,
        state: { ...state, work: next },
        effects: [{ type: "signal", signal: "interrupted", at: now }],
      };
    }
    case "extend": {
      const add = action.minutes * MINUTE;
      if (work) {
        if (work.planned_ms === null)
          return conflict("open_ended", "A flowtime session has no planned end to extend.");
        if (work.planned_ms + add > MAX_PLANNED_MINUTES * MINUTE)
          return invalid("minutes", `a session can be planned for at most ${MAX_PLANNED_MINUTES} minutes`);
        return {
          ok: true,
          state: {
            ...state,
            work: { ...work, planned_ms: work.planned_ms + add, extended_ms: work.extended_ms + add },
          },
          effects: [{ type: "signal", signal: "extended", at: now }],
        };
      }
      if (state.break) {
        if (state.break.planned_ms + add > MAX_BREAK_MINUTES * MINUTE)
          return invalid("minutes", `a break can last at most ${MAX_BREAK_MINUTES} minutes`);
        return {
          ok: true,
          state: { ...state, break: { ...state.break, planned_ms: state.break.planned_ms + add } },
          effects: [{ type: "signal", signal: "extended", at: now }],
        };
      }
      return noSession();
    }
    case "finish": {
      if (!work) return state.break ? onBreak() : noSession();
      const ended = endWork(state, now, "finished", action.take_break ?? true);
      return {
        ok: true,
        state: ended.state,
        effects: [...ended.effects, { type: "signal", signal: "finished", at: now }],
      };
    }
    case "abandon": {
      if (!work) return state.break ? onBreak() : noSession();
      const ended = endWork(state, now, "abandoned", false);
      return {
        ok: true,
        state: ended.state,
        effects: [...ended.effects, { type: "signal", signal: "abandoned", at: now }],
      };
    }
    case "skip_break": {
      if (!state.break) return conflict("not_on_break", "There is no break to skip.");
      return {
        ok: true,
        ...endBreak(state, now, "skipped"),
      };
    }
  }
}

/** The session id an action applies to, to refuse actions a stale client meant for another one. */
export function currentSessionId(state: TimerState): string | null {
  return state.work?.session_id ?? state.break?.after_session_id ?? null;
}

export interface StepResult {
  /** The state after advancing, and after the action when it was accepted. */
  state: TimerState;
  effects: Effect[];
  error: ActionError | null;
}

/**
 * What every caller of the machine does: advance to `now`, then apply the action (if any). A refused
 * action still returns the advanced state, so what fell due meanwhile is kept. `expectedSessionId`
 * refuses an action a stale client meant for a session that is no longer the current one.
 */
export function step(
  state: TimerState,
  action: FocusAction | null,
  now: number,
  expectedSessionId?: string,
): StepResult {
  const advanced = advance(state, now);
  if (!action) return { ...advanced, error: null };
  if (expectedSessionId !== undefined && expectedSessionId !== currentSessionId(advanced.state)) {
    return {
      ...advanced,
      error: {
        status: 409,
        code: "session_mismatch",
        detail: "That focus session is no longer the current one.",
      },
    };
  }
  const applied = applyAction(advanced.state, action, now);
  if (!applied.ok) return { ...advanced, error: applied.error };
  return { state: applied.state, effects: [...advanced.effects, ...applied.effects], error: null };
}

/** A record as clients see it (the owner is implied). */
export function recordToDto(record: FocusRecord): FocusRecordDto {
  const { user_id: _owner, ...rest } = record;
  return { ...rest, actual_minutes: minutesOf(record.actual_seconds) };
}

export interface FocusView {
  phase: Phase;
  status: "idle" | "running" | "paused";
  session: {
    session_id: string;
    kind: SessionKind;
    planned_minutes: number | null;
    started_at: string;
    ends_at: string | null;
    elapsed_seconds: number;
    remaining_seconds: number | null;
    paused_at: string | null;
    pauses: number;
    paused_seconds: number;
    interruptions: number;
    interruption_log: { at: string; note: string | null }[];
    extended_minutes: number;
    task_id: string | null;
    step_id: string | null;
  } | null;
  break: {
    kind: BreakKind;
    planned_minutes: number;
    started_at: string;
    ends_at: string;
    remaining_seconds: number;
    after_session_id: string;
  } | null;
  cycle: number;
  /** The break the current pomodoro will earn if it completes. */
  next_break: BreakKind | null;
  last_session: FocusRecordDto | null;
  server_time: string;
}

/** Sessions completed in the run going on at `now`: none once the gap after the last one is too long. */
function runCountAt(state: TimerState, now: number): number {
  if (state.work || state.break) return state.run_count;
  const lapsed = state.last_ended_at === null || now - state.last_ended_at > RUN_GAP_MINUTES * MINUTE;
  return lapsed ? 0 : state.run_count;
}

/** What clients see: everything derived at `now` from the stored timestamps. */
export function toView(state: TimerState, now: number): FocusView {
  const work = state.work;
  const brk = state.break;
  let session: FocusView["session"] = null;
  let nextBreak: BreakKind | null = null;
  if (work) {
    const worked = workedMs(work, now);
    const due = work.planned_ms === null ? null : workDueAt(work);
    const pausedMs = work.paused_ms + (work.paused_at === null ? 0 : Math.max(0, now - work.paused_at));
    session = {
      session_id: work.session_id,
      kind: work.kind,
      planned_minutes: work.planned_ms === null ? null : Math.round(work.planned_ms / MINUTE),
      started_at: nowIso(work.started_at),
      ends_at: due === null ? null : nowIso(due),
      elapsed_seconds: Math.floor(worked / 1000),
      remaining_seconds:
        work.planned_ms === null ? null : Math.max(0, Math.ceil((work.planned_ms - worked) / 1000)),
      paused_at: work.paused_at === null ? null : nowIso(work.paused_at),
      pauses: work.pauses,
      paused_seconds: Math.round(pausedMs / 1000),
      interruptions: work.interruptions,
      interruption_log: work.interruption_log.map((i) => ({ at: nowIso(i.at), note: i.note })),
      extended_minutes: Math.round(work.extended_ms / MINUTE),
      task_id: work.task_id,
      step_id: work.step_id,
    };
    if (work.kind === "pomodoro") {
      nextBreak = breakAfter("pomodoro", worked / MINUTE, state.run_count + 1, state.settings).kind;
    }
  }
  return {
    phase: phaseOf(state),
    status: work ? (work.running_since === null ? "paused" : "running") : brk ? "running" : "idle",
    session,
    break: brk
      ? {
          kind: brk.kind,
          planned_minutes: Math.round(brk.planned_ms / MINUTE),
          started_at: nowIso(brk.started_at),
          ends_at: nowIso(breakDueAt(brk)),
          remaining_seconds: Math.max(0, Math.ceil((breakDueAt(brk) - now) / 1000)),
          after_session_id: brk.after_session_id,
        }
      : null,
    cycle: runCountAt(state, now),
    next_break: nextBreak,
    last_session: state.last_record && recordToDto(state.last_record),
    server_time: nowIso(now),
  };
}
