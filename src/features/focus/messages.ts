/**
 * The focus WebSocket protocol: one discriminated union each way. Every change is one `state`
 * message carrying the whole state and a sequence number one higher than the last, so a client that
 * sees a gap (or reconnects with `?since=<seq>`) knows it missed something and the state to trust.
 */
import { z } from "@hono/zod-openapi";
import { COMMAND_TYPES } from "./commands";
import type { FocusSignal } from "./machine";
import type { FocusStateDto } from "./schemas";

/** The subprotocol clients offer (with `bearer.<token>` to authenticate without a ticket). */
export const FOCUS_SUBPROTOCOL = "pap.focus.v1";
export const BEARER_SUBPROTOCOL_PREFIX = "bearer.";

export type ServerMessage =
  /** On connect: the current state, after replaying what the client missed when it could. */
  | { type: "hello"; seq: number; state: FocusStateDto; replayed: number; gap: boolean }
  | { type: "state"; seq: number; event: FocusSignal; at: string; state: FocusStateDto }
  | { type: "ack"; request_id: string | null; seq: number }
  | { type: "error"; request_id: string | null; status: number; code: string; detail: string }
  | { type: "pong" };

export const ClientMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ping") }),
  z
    .object({
      type: z.literal("action"),
      action: z.enum(COMMAND_TYPES),
      request_id: z.string().max(100).optional(),
    })
    // The command's own fields sit beside `action` and are checked by its body schema.
    .passthrough(),
]);

export type ClientMessage = z.infer<typeof ClientMessageSchema>;

/** The one ping the runtime answers without waking a hibernated object. */
export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" } satisfies ServerMessage);

/**
 * Set by the Worker on the upgrade it forwards to the user's FocusTimer, after authenticating:
 * the user, the used ticket ("<jti> <expires-at-ms>") and whether the client offered FOCUS_SUBPROTOCOL.
 */
export const SOCKET_USER_HEADER = "x-focus-user-id";
export const SOCKET_TICKET_HEADER = "x-focus-ticket";
export const SOCKET_PROTOCOL_HEADER = "x-focus-subprotocol";
