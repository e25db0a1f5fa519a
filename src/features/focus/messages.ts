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

/** The one ping the runtime answers without waking a hibernated object. */
export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" } satisfies ServerMessage);

/** A socket lives at most this long, and never past the credential that opened it; then it is closed. */
export const SOCKET_MAX_AGE_MINUTES = 60;
/** The close code for a socket whose credential lapsed: refresh it, then reconnect with `?since=`. */
export const CLOSE_CREDENTIAL_EXPIRED = 4001;

/**
 * What the Worker proved about a client before forwarding its upgrade to the user's FocusTimer (in
 * SOCKET_GRANT_HEADER, built afresh by the Worker, never taken from the client). The socket keeps it.
 */
export const SocketGrantSchema = z.object({
  user_id: z.string().min(1),
  /** Whether actions may be sent over the socket (the "focus:write" scope). */
  can_write: z.boolean(),
  /** When the socket stops being served (ms since the epoch). */
  expires_at: z.number(),
  credential: z.object({ kind: z.enum(["session", "api_token", "agent"]), id: z.string() }),
  /** The one-time ticket used to connect, if any: the timer remembers it as used. */
  ticket: z.object({ jti: z.string(), expires_at: z.number() }).optional(),
  /** The client offered FOCUS_SUBPROTOCOL, so the answer selects it. */
  subprotocol: z.boolean(),
});
export type SocketGrant = z.infer<typeof SocketGrantSchema>;
export const SOCKET_GRANT_HEADER = "x-focus-grant";
