/**
 * What the FocusRoom object and its clients (the routes, the FocusTimer) share: the subprotocol, the
 * answers across RPC, and the refusals they may carry.
 */
import type { RoomStatus } from "../../db/schema/rooms";
import type { LiveRefusal } from "../../lib/live-refusal";
import { nowIso } from "../../lib/time";
import type { MemberView, RoomEvent, RoomView } from "./room-rules";

/** The subprotocol room sockets offer (with `bearer.<token>` to authenticate without a ticket). */
export const ROOM_SUBPROTOCOL = "pap.room.v1";

/** A ticket opens one room's socket: the channel names the room. */
export const roomChannel = (roomId: string) => `room:${roomId}`;

export type RoomAnswer = { ok: true; view: RoomView; you: string } | { ok: false; error: LiveRefusal };

export const ROOM_NOT_FOUND = {
  status: 404,
  code: "not_found",
  detail: "Room was not found.",
} as const satisfies LiveRefusal;

export const ROOM_CODE_NOT_FOUND = {
  status: 404,
  code: "not_found",
  detail: "No open room has that code.",
} as const satisfies LiveRefusal;

export const ROOM_FULL = {
  status: 409,
  code: "room_full",
  detail: "That room is full.",
} as const satisfies LiveRefusal;

export const TOO_MANY_ROOMS = (max: number) =>
  ({
    status: 409,
    code: "too_many_rooms",
    detail: `You are in ${max} open rooms already; leave one first.`,
  }) as const satisfies LiveRefusal;

export const ROOM_UNAVAILABLE = {
  status: 503,
  code: "unavailable",
  detail: "The room service is unavailable; try again.",
} as const satisfies LiveRefusal;

/** A membership's settings as the object applies them (a join's, or a patch's). */
export interface MemberSettings {
  display_name?: string | undefined;
  share_task?: boolean | undefined;
  sync_pomodoro?: boolean | undefined;
}

/** Events whose message carries the changed member as RoomView shows them. */
export const MEMBER_EVENTS = [
  "member_joined",
  "member_focus",
  "member_away",
  "member_back",
  "member_updated",
] as const satisfies readonly RoomEvent[];
export type MemberChangeEvent = (typeof MEMBER_EVENTS)[number];

/** The round a sync_pomodoro member's start opened for every opted-in member. */
export interface RoundStarted {
  round_id: string;
  kind: string | null;
  duration_minutes: number | null;
  started_at: string | null;
}

/**
 * One change, as its numbered `state` message carries it: only what changed, never the whole room,
 * so that what each change costs (building, storing, sending, parsing) does not grow with the room.
 * A client applies it to the RoomView of its hello.
 */
export type RoomChange =
  | { event: MemberChangeEvent; member: MemberView }
  | { event: "member_left" | "member_removed"; member_id: string }
  | { event: "round_started"; member_id: string; round: RoundStarted }
  | { event: "room_closed"; room: { room_id: string; status: RoomStatus; closed_at: string } };

/** What a room socket receives (besides `pong` and `error`). */
export type RoomServerMessage =
  | { type: "hello"; seq: number; state: RoomView; replayed: number; gap: boolean; you: string }
  | ({ type: "state"; seq: number; at: string } & RoomChange);

/** A change as its `state` message, numbered when it is stored (stringified once for every socket). */
export function roomMessage(change: RoomChange, at: number): (seq: number) => string {
  const { event, ...payload } = change;
  // Keys in the documented order: type, seq, event, at, then the change's own fields.
  return (seq) => JSON.stringify({ type: "state", seq, event, at: nowIso(at), ...payload });
}
