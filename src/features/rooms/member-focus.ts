/**
 * What a member's FocusTimer tells the rooms they are in, and how a room shows it. The timer sends a
 * snapshot (never a diff) numbered with its own `seq`, so a room keeps the newest and drops late or
 * repeated ones; time left is derived again from `ends_at` whenever the room is looked at.
 */

import { nowIso } from "../../lib/time";
import { RUN_GAP_MINUTES } from "../focus/kinds";
import { type TimerState, workDueAt, workedMs } from "../focus/machine";

export const MEMBER_FOCUS_STATUSES = ["idle", "focusing", "paused", "on_break", "done"] as const;
export type MemberFocusStatus = (typeof MEMBER_FOCUS_STATUSES)[number];

/** The task a session is on, as its start resolved it (kept beside the timer, keyed by session). */
export interface TaskLabel {
  session_id: string;
  task_id: string;
  title: string;
}

/** A session a room's synchronised round started: the timer marks it so that it starts no round itself. */
export interface RoomRound {
  session_id: string;
  room_id: string;
  round_id: string;
}

export interface FocusPush {
  /** The FocusTimer's sequence number at this state. */
  seq: number;
  status: Exclude<MemberFocusStatus, "done">;
  session_id: string | null;
  kind: string | null;
  started_at: string | null;
  ends_at: string | null;
  /** Time left when paused (frozen); for running phases the room derives it from `ends_at`. */
  remaining_seconds: number | null;
  planned_minutes: number | null;
  /** When the last session ended (idle only): recently is "done". */
  ended_at: string | null;
  task: { task_id: string; title: string } | null;
  /** The session was started by a room's round (it never starts one itself). */
  by_room: boolean;
}

/** What other members see of one member's timer. */
export interface MemberFocus {
  status: MemberFocusStatus;
  session_id: string | null;
  kind: string | null;
  started_at: string | null;
  ends_at: string | null;
  remaining_seconds: number | null;
  task: { task_id: string; title: string } | null;
}

const MINUTE = 60_000;

/** The snapshot a timer in `state` sends (pure: the FocusTimer adds nothing but its storage's labels). */
export function focusPushOf(
  state: TimerState,
  seq: number,
  now: number,
  label: TaskLabel | null,
  round: RoomRound | null,
): FocusPush {
  const work = state.work;
  const labelFor = (sessionId: string | null) =>
    label && sessionId === label.session_id ? { task_id: label.task_id, title: label.title } : null;
  if (work) {
    const due = work.planned_ms === null ? null : workDueAt(work);
    const remaining =
      work.planned_ms === null
        ? null
        : Math.max(0, Math.ceil((work.planned_ms - workedMs(work, now)) / 1000));
    return {
      seq,
      status: work.running_since === null ? "paused" : "focusing",
      session_id: work.session_id,
      kind: work.kind,
      started_at: nowIso(work.started_at),
      ends_at: due === null ? null : nowIso(due),
      remaining_seconds: remaining,
      planned_minutes: work.planned_ms === null ? null : Math.round(work.planned_ms / MINUTE),
      ended_at: null,
      task: labelFor(work.session_id),
      by_room: round?.session_id === work.session_id,
    };
  }
  if (state.break) {
    const ends = state.break.started_at + state.break.planned_ms;
    return {
      seq,
      status: "on_break",
      session_id: state.break.after_session_id,
      kind: `${state.break.kind}_break`,
      started_at: nowIso(state.break.started_at),
      ends_at: nowIso(ends),
      remaining_seconds: Math.max(0, Math.ceil((ends - now) / 1000)),
      planned_minutes: Math.round(state.break.planned_ms / MINUTE),
      ended_at: null,
      task: null,
      by_room: false,
    };
  }
  const last = state.last_record;
  return {
    seq,
    status: "idle",
    session_id: last?.session_id ?? null,
    kind: last?.kind ?? null,
    started_at: last?.started_at ?? null,
    ends_at: null,
    remaining_seconds: null,
    planned_minutes: null,
    ended_at: state.last_ended_at === null ? null : nowIso(state.last_ended_at),
    task: labelFor(last?.session_id ?? null),
    by_room: false,
  };
}

const IDLE: MemberFocus = {
  status: "idle",
  session_id: null,
  kind: null,
  started_at: null,
  ends_at: null,
  remaining_seconds: null,
  task: null,
};

/**
 * The member's focus as others see it at `now`: time left derived from the stored end, "done" for an
 * hour after a session ended (a run's gap, after which a start begins a new run), the task only when
 * the member shares it.
 */
export function memberFocusAt(push: FocusPush | null, now: number, shareTask: boolean): MemberFocus {
  if (!push) return IDLE;
  const task = shareTask ? push.task : null;
  if (push.status === "idle") {
    const ended = push.ended_at === null ? null : Date.parse(push.ended_at);
    if (ended === null || now - ended > RUN_GAP_MINUTES * MINUTE || push.session_id === null) return IDLE;
    return {
      status: "done",
      session_id: push.session_id,
      kind: push.kind,
      started_at: push.started_at,
      ends_at: push.ended_at,
      remaining_seconds: null,
      task,
    };
  }
  const remaining =
    push.status === "paused" || push.ends_at === null
      ? push.remaining_seconds
      : Math.max(0, Math.ceil((Date.parse(push.ends_at) - now) / 1000));
  return {
    status: push.status,
    session_id: push.session_id,
    kind: push.kind,
    started_at: push.started_at,
    ends_at: push.status === "paused" ? null : push.ends_at,
    remaining_seconds: remaining,
    task: push.status === "on_break" ? null : task,
  };
}
