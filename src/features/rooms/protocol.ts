/**
 * What the FocusRoom object and its clients (the routes, the FocusTimer) share: the subprotocol, the
 * answers across RPC, and the refusals they may carry.
 */
import type { LiveRefusal } from "../../lib/live-refusal";
import type { RoomView } from "./room-rules";

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
