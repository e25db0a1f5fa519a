/**
 * The live WebSocket protocol shared by the per-user objects (the focus timer, the pet): a grant the
 * Worker proves before forwarding an upgrade, and one discriminated union of messages each way. Every
 * change is one `state` message carrying the whole state and a sequence number one higher than the
 * last, so a client that sees a gap (or reconnects with `?since=<seq>`) knows what to trust.
 */
import { z } from "@hono/zod-openapi";
import { caseInsensitiveEnum } from "./enums";

/** Offered with a channel's own subprotocol to authenticate without a ticket: `bearer.<token>`. */
export const BEARER_SUBPROTOCOL_PREFIX = "bearer.";

/** A socket lives at most this long, and never past the credential that opened it; then it is closed. */
export const SOCKET_MAX_AGE_MINUTES = 60;
/** The close code for a socket whose credential lapsed: refresh it, then reconnect with `?since=`. */
export const CLOSE_CREDENTIAL_EXPIRED = 4001;
/** The close code for every socket of an account being deleted: there is nothing to reconnect to. */
export const CLOSE_ACCOUNT_DELETED = 4003;

/**
 * What the Worker proved about a client before forwarding its upgrade to the user's object (in
 * SOCKET_GRANT_HEADER, built afresh by the Worker, never taken from the client). The socket keeps it.
 */
export const SocketGrantSchema = z.object({
  user_id: z.string().min(1),
  /** Whether actions may be sent over the socket (the channel's write scope). */
  can_write: z.boolean(),
  /** When the socket stops being served (ms since the epoch). */
  expires_at: z.number(),
  credential: z.object({ kind: z.enum(["session", "api_token", "agent"]), id: z.string() }),
  /** The one-time ticket used to connect, if any: the object remembers it as used. */
  ticket: z.object({ jti: z.string(), expires_at: z.number() }).optional(),
  /** The client offered the channel's subprotocol, so the answer selects it. */
  subprotocol: z.boolean(),
});
export type SocketGrant = z.infer<typeof SocketGrantSchema>;
export const SOCKET_GRANT_HEADER = "x-live-grant";

/** What the server sends, for a channel whose state is S and whose change events are E. */
export type ServerMessage<S, E extends string> =
  /** On connect: the current state, after replaying what the client missed when it could. */
  | { type: "hello"; seq: number; state: S; replayed: number; gap: boolean }
  | { type: "state"; seq: number; event: E; at: string; state: S }
  | { type: "ack"; request_id: string | null; seq: number }
  | { type: "error"; request_id: string | null; status: number; code: string; detail: string }
  | { type: "pong" }
  /** A new inbox notification (not numbered: the inbox is its record; clients dedupe by its id). */
  | { type: "notification"; notification: unknown };

/** What a client sends: a ping, or an action of the channel's (its fields beside `action`). */
export function clientMessageSchema<const A extends readonly [string, ...string[]]>(actions: A) {
  return z.discriminatedUnion("type", [
    z.object({ type: z.literal("ping") }),
    z
      .object({
        type: z.literal("action"),
        action: caseInsensitiveEnum(actions),
        request_id: z.string().max(100).optional(),
      })
      // The action's own fields sit beside `action` and are checked by its body schema.
      .passthrough(),
  ]);
}

/** The one ping the runtime answers without waking a hibernated object. */
export const PING = JSON.stringify({ type: "ping" });
export const PONG = JSON.stringify({ type: "pong" });
