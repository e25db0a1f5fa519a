/**
 * A focus room's live state and its rules, pure: who is here, when an absent member is shown away or
 * removed, when an empty room closes, and the view every member sees. The FocusRoom object stores the
 * state, carries out what falls due, and sets its one alarm at `nextDueAt`.
 */
import type { RoomStatus } from "../../db/schema/rooms";
import { type FocusPush, type MemberFocus, memberFocusAt } from "./member-focus";

export const PRESENCES = ["here", "away"] as const;
export type Presence = (typeof PRESENCES)[number];

/** Every change a room's sockets are told of, one numbered `state` message each (see protocol.ts). */
export const ROOM_EVENTS = [
  "member_joined",
  "member_left",
  "member_focus",
  "member_away",
  "member_back",
  "member_removed",
  "member_updated",
  "round_started",
  "room_closed",
] as const;
export type RoomEvent = (typeof ROOM_EVENTS)[number];

/** A person may be in this many open rooms at once. */
export const MAX_ROOMS_PER_PERSON = 10;
export const DEFAULT_MAX_MEMBERS = 20;
export const MIN_MEMBERS = 2;

export interface RoomMeta {
  room_id: string;
  name: string | null;
  code: string;
  max_members: number;
  sync_pomodoro: boolean;
  status: RoomStatus;
}

export interface RoomMember {
  user_id: string;
  member_id: string;
  display_name: string;
  share_task: boolean;
  sync_pomodoro: boolean;
  joined_at: string;
  presence: Presence;
  /** Since when the member has had no open socket (or since joining, before their first); null while one is open. */
  idle_since: number | null;
  /** The newest snapshot of the member's timer. */
  focus: FocusPush | null;
  /** Whether their timer was linked (tells this room of changes); false: linking failed, tried again. */
  linked: boolean;
  /** The seq of the message telling of their joining: no replay from before it (it is not theirs). */
  joined_seq: number;
}

export interface RoomState {
  room: RoomMeta;
  members: RoomMember[];
  /** Since when the room has had no member; null while it has any. */
  empty_since: number | null;
}

/** How long presence waits, in ms (wrangler.toml vars). */
export interface PresenceTimings {
  awayAfterMs: number;
  removeAfterMs: number;
  closeAfterMs: number;
}

const positive = (raw: string | undefined, fallback: number) => {
  const value = Number(raw);
  return Number.isFinite(value) && value > 0 ? value : fallback;
};

export function presenceTimings(vars: {
  ROOM_AWAY_GRACE_SECONDS?: string | undefined;
  ROOM_REMOVE_AFTER_MINUTES?: string | undefined;
  ROOM_EMPTY_CLOSE_HOURS?: string | undefined;
}): PresenceTimings {
  return {
    awayAfterMs: positive(vars.ROOM_AWAY_GRACE_SECONDS, 60) * 1000,
    removeAfterMs: positive(vars.ROOM_REMOVE_AFTER_MINUTES, 30) * 60_000,
    closeAfterMs: positive(vars.ROOM_EMPTY_CLOSE_HOURS, 24) * 3_600_000,
  };
}

const awayDueAt = (m: RoomMember, t: PresenceTimings) =>
  m.presence === "here" && m.idle_since !== null ? m.idle_since + t.awayAfterMs : null;
const removeDueAt = (m: RoomMember, t: PresenceTimings) =>
  m.idle_since === null ? null : m.idle_since + Math.max(t.removeAfterMs, t.awayAfterMs);
const closeDueAt = (s: RoomState, t: PresenceTimings) =>
  s.room.status === "open" && s.members.length === 0 && s.empty_since !== null
    ? s.empty_since + t.closeAfterMs
    : null;

/** The room's next own moment, for its one alarm; null when nothing will fall due by itself. */
export function nextDueAt(state: RoomState, timings: PresenceTimings): number | null {
  const moments = [
    ...state.members.flatMap((m) => [awayDueAt(m, timings), removeDueAt(m, timings)]),
    closeDueAt(state, timings),
  ].filter((t): t is number => t !== null);
  return moments.length ? Math.min(...moments) : null;
}

/** What has fallen due by `now`: members to show away, members to remove (users), whether to close. */
export function dueAt(
  state: RoomState,
  now: number,
  timings: PresenceTimings,
): { away: string[]; remove: string[]; close: boolean } {
  const remove = state.members
    .filter((m) => (removeDueAt(m, timings) ?? Number.POSITIVE_INFINITY) <= now)
    .map((m) => m.user_id);
  const away = state.members
    .filter((m) => !remove.includes(m.user_id) && (awayDueAt(m, timings) ?? Number.POSITIVE_INFINITY) <= now)
    .map((m) => m.user_id);
  const close = (closeDueAt(state, timings) ?? Number.POSITIVE_INFINITY) <= now;
  return { away, remove, close };
}

/** The state without these members; a room left empty starts counting towards closing. */
export function withoutMembers(state: RoomState, userIds: readonly string[], now: number): RoomState {
  const members = state.members.filter((m) => !userIds.includes(m.user_id));
  return {
    ...state,
    members,
    empty_since: members.length === 0 ? (state.empty_since ?? now) : null,
  };
}

/** The state with one member changed (by user id). */
export function withMember(
  state: RoomState,
  userId: string,
  change: (member: RoomMember) => RoomMember,
): RoomState {
  return { ...state, members: state.members.map((m) => (m.user_id === userId ? change(m) : m)) };
}

export interface MemberView {
  member_id: string;
  display_name: string;
  presence: Presence;
  share_task: boolean;
  sync_pomodoro: boolean;
  joined_at: string;
  focus: MemberFocus;
}

export interface RoomView {
  room_id: string;
  name: string | null;
  code: string;
  max_members: number;
  sync_pomodoro: boolean;
  status: RoomStatus;
  members: MemberView[];
}

/** What every member sees at `now`: no user ids, and a task only where its member shares it. */
export function roomView(state: RoomState, now: number): RoomView {
  const members = [...state.members].sort(
    (a, b) => a.joined_at.localeCompare(b.joined_at) || a.member_id.localeCompare(b.member_id),
  );
  return {
    ...state.room,
    members: members.map((m) => memberView(m, now)),
  };
}

/** One member as every member sees them at `now` (their task only when they share it). */
export function memberView(m: RoomMember, now: number): MemberView {
  return {
    member_id: m.member_id,
    display_name: m.display_name,
    presence: m.presence,
    share_task: m.share_task,
    sync_pomodoro: m.sync_pomodoro,
    joined_at: m.joined_at,
    focus: memberFocusAt(m.focus, now, m.share_task),
  };
}

/** Whether a member's new snapshot replaces what the room holds (older or repeated ones do not). */
export function isNewer(current: FocusPush | null, next: FocusPush): boolean {
  return current === null || next.seq > current.seq;
}

/**
 * Whether this snapshot is a member starting a round the room's opted-in members should share: a
 * session they started themselves (not one a round started), new to the room.
 */
export function startsRound(state: RoomState, member: RoomMember, next: FocusPush): boolean {
  return (
    state.room.sync_pomodoro &&
    member.sync_pomodoro &&
    next.status === "focusing" &&
    !next.by_room &&
    next.session_id !== null &&
    member.focus?.session_id !== next.session_id
  );
}

/** The opted-in members a round starts for: everyone else opted in (their timers refuse a busy one). */
export function roundParticipants(state: RoomState, starter: string): RoomMember[] {
  return state.members.filter((m) => m.user_id !== starter && m.sync_pomodoro);
}
