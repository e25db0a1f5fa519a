import { createDatabase } from "../src/db";
import type { Env } from "../src/env";
import { isApiTokenActive } from "../src/lib/auth/api-token";
import { loggableError } from "../src/lib/db-errors";
import { PROBLEM_CONTENT_TYPE, problemBody } from "../src/lib/errors";
import { ACCOUNT_GONE } from "../src/lib/live-refusal";
import {
  CLOSE_ACCOUNT_DELETED,
  CLOSE_CREDENTIAL_EXPIRED,
  clientMessageSchema,
  PING,
  PONG,
  SOCKET_GRANT_HEADER,
  SOCKET_MAX_AGE_MINUTES,
  type SocketGrant,
  SocketGrantSchema,
} from "../src/lib/live-socket";
import type { LiveStorage } from "./live-storage";

/** What each socket keeps (hibernation-safe): the grant it was opened with. */
export type SocketAttachment = Omit<SocketGrant, "ticket" | "subprotocol">;

/** An action a client sent, checked and ready for the owner to carry out. */
export interface SocketAction {
  ws: WebSocket;
  grant: SocketAttachment;
  action: string;
  requestId: string | null;
  /** The action's own fields, for the owner to parse (and to hash, parsed, with `socketIdempotency`). */
  params: Record<string, unknown>;
}

type Reply =
  | { type: "ack"; request_id: string | null; seq: number }
  | { type: "error"; request_id: string | null; status: number; code: string; detail: string };

/** Stands in for a channel without actions: a name no client action can be refused as anything but unknown. */
const NO_ACTIONS = ["-"] as const;

/** A problem+json answer to a request the object itself refuses (the Worker's handler is not in between). */
export function problem(status: number, code: string, detail: string): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail)), {
    status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
  });
}

function readGrant(header: string | null): SocketGrant | undefined {
  if (!header) return undefined;
  try {
    const parsed = SocketGrantSchema.safeParse(JSON.parse(header));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function closeExpired(ws: WebSocket, reason: string): void {
  try {
    ws.close(CLOSE_CREDENTIAL_EXPIRED, reason);
  } catch {
    // already closing
  }
}

/**
 * The sockets of one live object (hibernatable): opening them from an upgrade the Worker already
 * authenticated, numbered broadcasts with replay for reconnecting clients, and reading what clients
 * send — each socket served only while the grant it was opened with holds.
 */
export class SocketHub {
  /** Built at the first client message: most wake-ups (a REST call, a room push) never read one. */
  private schema: ReturnType<typeof clientMessageSchema> | undefined;
  /**
   * Each socket's grant as read from its attachment: a broadcast reaches every socket, and reading an
   * attachment deserializes it. Written once, at open, so the copy stays true while the object lives.
   */
  private readonly grants = new WeakMap<WebSocket, SocketAttachment | null>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly store: LiveStorage<unknown>,
    private readonly options: {
      subprotocol: string;
      /** The actions clients may send; none (a room's socket only listens): every action is refused. */
      actions?: readonly [string, ...string[]];
      writeScope: string;
    },
  ) {
    // Keep-alive pings are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The grant of a forwarded upgrade, or the problem to answer it with. Its ticket is not used yet. */
  grantOf(request: Request): SocketGrant | Response {
    if (this.store.isTombstone()) return problem(ACCOUNT_GONE.status, ACCOUNT_GONE.code, ACCOUNT_GONE.detail);
    const grant = readGrant(request.headers.get(SOCKET_GRANT_HEADER));
    if (!grant || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return problem(426, "upgrade_required", "Connect with a WebSocket upgrade request.");
    }
    return grant;
  }

  /**
   * Uses the grant's ticket (401 when it already was) and accepts the socket: sends what the client
   * missed since `?since=` (when the log still has it), then `hello` with the state at `seq`. Returns
   * the 101 answer. The ticket is used only here, once the object has agreed to open the socket, so
   * a refusal (no pet yet) leaves it good for another try. `tags` mark the socket (a room tags each
   * with its user, to find one member's sockets); `hello` adds fields to the hello message;
   * `replayFrom`: the oldest `since` replayed (older: hello with `gap`, as if the log had lost it).
   */
  open(
    request: Request,
    grant: SocketGrant,
    seq: number,
    state: unknown,
    now: number,
    extra: { tags?: string[]; hello?: Record<string, unknown>; replayFrom?: number } = {},
  ): Response {
    // An upgrade authenticated just before its credential was revoked may arrive after closeCredential.
    if (this.store.isRevoked(grant.credential.id, now)) {
      return problem(401, "unauthorized", "The credential behind this connection was revoked.");
    }
    if (grant.ticket && !this.store.useTicket(grant.ticket.jti, grant.ticket.expires_at, now)) {
      return problem(401, "unauthorized", "This ticket was already used; ask for a new one.");
    }
    const sinceText = new URL(request.url).searchParams.get("since");
    const since = sinceText !== null && /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : null;
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, extra.tags);
    const { ticket: _ticket, subprotocol, ...kept } = grant;
    server.serializeAttachment(kept satisfies SocketAttachment);
    this.grants.set(server, kept);
    let replayed = 0;
    let gap = false;
    if (since !== null && since !== seq) {
      const replayable = since < seq && since >= (extra.replayFrom ?? 0);
      const missed = replayable ? this.store.messagesAfter(since) : [];
      if (since < seq && missed.length === seq - since) {
        for (const message of missed) server.send(message);
        replayed = missed.length;
      } else {
        gap = true;
      }
    }
    server.send(JSON.stringify({ type: "hello", seq, state, replayed, gap, ...extra.hello }));
    const headers = new Headers();
    if (subprotocol) headers.set("Sec-WebSocket-Protocol", this.options.subprotocol);
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  /**
   * Closes (4001) the sockets opened with this credential, now revoked: they get nothing more, and
   * their client learns at once to sign in again. Returns how many were open.
   */
  closeCredential(credentialId: string, now: number): number {
    // Remembered as long as a socket can live, for an upgrade already on its way here.
    this.store.revokeCredential(credentialId, now + SOCKET_MAX_AGE_MINUTES * 60_000, now);
    let closed = 0;
    for (const socket of this.ctx.getWebSockets()) {
      const grant = this.grantOfSocket(socket);
      if (grant?.credential.id !== credentialId) continue;
      closeExpired(socket, "The credential that opened this socket was revoked.");
      closed += 1;
    }
    return closed;
  }

  /** Closes every socket with this code (the account is being deleted); returns how many were open. */
  closeAll(code: number, reason: string): number {
    const sockets = this.ctx.getWebSockets();
    for (const socket of sockets) {
      try {
        socket.close(code, reason);
      } catch {
        // already closing
      }
    }
    return sockets.length;
  }

  /** Closes the sockets carrying this tag (one member's, in a room); returns how many were open. */
  closeTagged(tag: string, code: number, reason: string): number {
    const sockets = this.ctx.getWebSockets(tag);
    for (const socket of sockets) {
      try {
        socket.close(code, reason);
      } catch {
        // already closing
      }
    }
    return sockets.length;
  }

  /**
   * Sends messages to every socket whose grant still holds (the others are closed instead), except
   * those of the user `except` (a member whose sockets were just closed).
   */
  broadcast(messages: readonly string[], now: number, except?: string): void {
    if (messages.length === 0) return;
    for (const socket of this.ctx.getWebSockets()) {
      const grant = this.liveGrant(socket, now);
      if (!grant || grant.user_id === except) continue;
      for (const message of messages) {
        try {
          socket.send(message);
        } catch {
          // A socket closing right now misses it; on reconnect its hello (and ?since=) catch up.
        }
      }
    }
  }

  /** The socket's grant while it holds; past its expiry the socket is closed and undefined returned. */
  private liveGrant(ws: WebSocket, now: number): SocketAttachment | undefined {
    const grant = this.grantOfSocket(ws);
    if (grant && grant.expires_at > now) return grant;
    closeExpired(ws, "The credential that opened this socket has expired; reconnect with a fresh one.");
    return undefined;
  }

  /** The grant the socket was opened with (null for a socket accepted without one). */
  grantOfSocket(ws: WebSocket): SocketAttachment | null {
    let grant = this.grants.get(ws);
    if (grant === undefined) {
      grant = ws.deserializeAttachment() as SocketAttachment | null;
      this.grants.set(ws, grant);
    }
    return grant;
  }

  reply(ws: WebSocket, message: Reply): void {
    ws.send(JSON.stringify(message));
  }

  private refuse(
    ws: WebSocket,
    status: number,
    code: string,
    detail: string,
    requestId: string | null = null,
  ): undefined {
    this.reply(ws, { type: "error", request_id: requestId, status, code, detail });
    return undefined;
  }

  /**
   * A message from a client: a ping or anything malformed is answered here; an action the socket may
   * make is returned for the owner to carry out (and answer with `reply`).
   */
  async read(ws: WebSocket, raw: string | ArrayBuffer, now: number): Promise<SocketAction | undefined> {
    if (this.store.isTombstone()) {
      // A socket the erasure could not reach (closing it failed): nothing to serve, ever.
      try {
        ws.close(CLOSE_ACCOUNT_DELETED, "This account was deleted.");
      } catch {
        // already closing
      }
      return undefined;
    }
    const grant = this.liveGrant(ws, now);
    if (!grant) return undefined;
    if (typeof raw !== "string") return this.refuse(ws, 400, "bad_message", "Messages are JSON text.");
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return this.refuse(ws, 400, "malformed_json", "The message is not valid JSON.");
    }
    if (!this.options.actions && (json as { type?: unknown } | null)?.type === "action") {
      return this.refuse(
        ws,
        422,
        "validation_failed",
        'This socket takes no actions: make changes over the REST API (send {"type":"ping"} to check it).',
      );
    }
    this.schema ??= clientMessageSchema(this.options.actions ?? NO_ACTIONS);
    const parsed = this.schema.safeParse(json);
    if (!parsed.success) {
      return this.refuse(
        ws,
        422,
        "validation_failed",
        'Send {"type":"action","action":"…"} or {"type":"ping"}.',
      );
    }
    const message = parsed.data;
    if (message.type === "ping") {
      ws.send(PONG);
      return undefined;
    }
    const { type: _type, action, request_id, ...params } = message;
    const requestId = request_id ?? null;
    // A revoked token's socket is closed whatever it asks (a backstop to closeCredential, which the
    // revocation calls): the credential is checked before its scope, as over HTTP.
    if (grant.credential.kind !== "session") {
      const active = await this.tokenStillActive(grant);
      if (active === undefined)
        return this.refuse(ws, 503, "unavailable", "The service is unavailable; try again.", requestId);
      if (!active) {
        closeExpired(ws, "The API token that opened this socket was revoked or has expired.");
        return undefined;
      }
    }
    if (!grant.can_write) {
      return this.refuse(
        ws,
        403,
        "forbidden",
        `This socket was opened without the "${this.options.writeScope}" scope.`,
        requestId,
      );
    }
    return {
      ws,
      grant,
      action,
      requestId,
      params,
    };
  }

  /** Whether the socket's API token still holds (HTTP checks that on every request); undefined: D1 is unreachable. */
  private async tokenStillActive(grant: SocketAttachment): Promise<boolean | undefined> {
    try {
      return await isApiTokenActive(createDatabase(this.env.DB), grant.user_id, grant.credential.id);
    } catch (error) {
      // Without the values bound to the failed query (the user's and the token's ids), as the Worker logs.
      console.error(
        JSON.stringify({ level: "error", message: "socket token check failed", error: loggableError(error) }),
      );
      return undefined;
    }
  }

  /** Completes the close a client started; 1005 and 1006 are not codes one may send back. */
  close(ws: WebSocket, code: number, reason: string): void {
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }
}
