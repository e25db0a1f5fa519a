import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Env } from "../env";
import {
  authenticateBearer,
  bearerToken,
  requireAccount,
  requireAuth,
  requireScope,
} from "../middleware/auth";
import { isApiTokenActive } from "./auth/api-token";
import type { Principal, Scope } from "./auth/principal";
import { issueSocketTicket, readSocketTicket, TICKET_TTL_SECONDS } from "./auth/socket-ticket";
import { commaList } from "./comma-list";
import { type AppEnv, type AppRouteHandler, createRouter } from "./create-app";
import { ApiError, problemResponse, unauthorized } from "./errors";
import {
  BEARER_SUBPROTOCOL_PREFIX,
  SOCKET_GRANT_HEADER,
  SOCKET_MAX_AGE_MINUTES,
  type SocketGrant,
} from "./live-socket";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "./openapi";

export const SocketTicketSchema = z
  .object({
    ticket: z.string(),
    expires_in: z.number().int().openapi({ description: "Seconds; the ticket opens one connection" }),
    url: z.string().openapi({ example: "/api/v1/focus/ws?ticket=…" }),
  })
  .openapi("SocketTicket");

/** The query of every live socket's upgrade: a one-time ticket, and the last seq the client saw. */
export const SocketQuerySchema = z.object({
  ticket: z.string().max(2000).optional(),
  since: z
    .string()
    .regex(/^\d{1,15}$/)
    .optional()
    .openapi({ description: "Last seq you saw" }),
});

export type SocketTicketDto = z.infer<typeof SocketTicketSchema>;

export interface LiveChannel {
  /** Names the channel (tickets are good for one channel only). */
  name: string;
  /** Where the feature's router is mounted: the socket is `${basePath}/ws`. */
  basePath: string;
  tag: string;
  subprotocol: string;
  readScope: Scope;
  writeScope: Scope;
  /** Sentences for the docs: what the socket carries. */
  description: string;
  /** When the user's object may refuse the upgrade with 404 (a pet socket before there is a pet): why. */
  notFound?: string;
  /** The user's object, which accepts the forwarded upgrade. */
  objectFor: (env: Env, userId: string) => { fetch(request: Request): Promise<Response> };
}

/**
 * A channel's WebSocket routes: `POST …/ws-ticket` (a one-time ticket, for browsers, which cannot set
 * headers) and `GET …/ws`, which authenticates the client — by ticket, by the `bearer.<token>`
 * subprotocol, or by the Authorization header — before the upgrade reaches the user's object, and
 * forwards it with a grant: who, whether they may act, until when.
 */
export function liveSocketRouter(channel: LiveChannel) {
  const socketPath = `${channel.basePath}/ws`;
  const createTicket = createRoute({
    method: "post",
    path: "/ws-ticket",
    tags: [channel.tag],
    summary: `A one-time ticket to open the ${channel.name} WebSocket (for browsers, which cannot set headers)`,
    security: BEARER_SECURITY,
    middleware: requireAuth({ scope: channel.readScope }),
    responses: {
      201: jsonResponse(SocketTicketSchema, `The ticket: valid ${TICKET_TTL_SECONDS} s, for one connection`),
      ...errorResponses(401, 403),
    },
  });

  const openSocket = createRoute({
    method: "get",
    path: "/ws",
    tags: [channel.tag],
    summary: `The live ${channel.name} WebSocket: every change, on every device`,
    description:
      `Upgrade with \`?ticket=\` (from POST ${channel.basePath}/ws-ticket), or offer the subprotocols ` +
      `\`${channel.subprotocol}, ${BEARER_SUBPROTOCOL_PREFIX}<token>\`, or send an Authorization header. ` +
      "On connect you get `hello` with the state and its sequence number (`?since=<seq>` replays what you " +
      `missed); then one \`state\` message per change. ${channel.description} ` +
      'Send `{"type":"action","action":"…","request_id":"<unique>"}` (with the action\'s fields) to act ' +
      `(needs ${channel.writeScope}); you get \`ack\` or \`error\`. \`{"type":"ping"}\` gets \`{"type":"pong"}\`. ` +
      `A socket lives as long as its credential, at most ${SOCKET_MAX_AGE_MINUTES} minutes (then closed with 4001).`,
    security: BEARER_SECURITY,
    request: {
      query: SocketQuerySchema,
    },
    responses: {
      101: { description: `Switching Protocols: the ${channel.name} WebSocket` },
      // 503: D1 or the object could not be reached to check the account or load the state.
      ...errorResponses(401, 403, 422, 426, 503),
      ...(channel.notFound ? { 404: problemResponse(channel.notFound) } : {}),
    },
  });

  const createTicketHandler: AppRouteHandler<typeof createTicket> = async (c) => {
    const ticket = await issueSocketTicket(c.env, channel.name, c.var.principal);
    const url = `${socketPath}?ticket=${encodeURIComponent(ticket)}`;
    return c.json({ ticket, expires_in: TICKET_TTL_SECONDS, url }, 201);
  };

  const openSocketHandler: AppRouteHandler<typeof openSocket> = async (c) => {
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade request.");
    }
    const query = c.req.valid("query");
    const caller = await authenticateSocket(c, channel, `${channel.basePath}/ws-ticket`, query.ticket);
    const grant = socketGrant(caller, channel);
    return forwardUpgrade(
      channel.objectFor(c.env, caller.principal.userId),
      new URL(socketPath, c.req.url),
      query.since,
      grant,
    );
  };

  return createRouter().openapi(createTicket, createTicketHandler).openapi(openSocket, openSocketHandler);
}

/** Who opens a socket, proven: the principal, the ticket to use up (if one was sent), the subprotocols offered. */
export interface SocketCaller {
  principal: Principal;
  ticket: SocketGrant["ticket"];
  offered: string[];
}

/**
 * Authenticates a socket request — by `ticket` (for the channel named `channel.name`), by the
 * `bearer.<token>` subprotocol, or by the Authorization header — and checks the channel's read scope
 * and that the account still exists. 401/403 otherwise. The ticket is not used up here: the object
 * does that once it accepts the socket.
 */
export async function authenticateSocket(
  c: Context<AppEnv>,
  channel: { name: string; readScope: Scope },
  ticketRoute: string,
  ticketText: string | undefined,
): Promise<SocketCaller> {
  const offered = commaList(c.req.header("sec-websocket-protocol"));
  let principal: Principal;
  let ticket: SocketGrant["ticket"];
  if (ticketText !== undefined) {
    const read = await readSocketTicket(c.env, channel.name, ticketText);
    if (!read) throw unauthorized("The ticket is not valid or has expired; ask for a new one.");
    // The token behind the ticket may have been revoked since it was asked for.
    if (
      read.principal.kind !== "session" &&
      !(await isApiTokenActive(c.var.db, read.principal.userId, read.principal.credentialId))
    ) {
      throw unauthorized("The API token behind this ticket was revoked or has expired.");
    }
    principal = read.principal;
    ticket = { jti: read.jti, expires_at: read.expiresAt };
  } else {
    const token =
      offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))?.slice(BEARER_SUBPROTOCOL_PREFIX.length) ??
      bearerToken(c.req.header("authorization"));
    if (!token) {
      throw unauthorized(
        `Authenticate with ?ticket= (POST ${ticketRoute}) or the ${BEARER_SUBPROTOCOL_PREFIX}<token> subprotocol.`,
      );
    }
    principal = await authenticateBearer(c, token);
  }
  requireScope(principal, channel.readScope);
  // A login's ticket or access token is a signed claim: the account behind it may have been deleted
  // since (an API token's row went with it, so its check above already refused it).
  if (principal.kind === "session") await requireAccount(c, principal.userId);
  return { principal, ticket, offered };
}

/** What the object is told about the socket's caller: who, whether they may act, until when. */
export function socketGrant(
  caller: SocketCaller,
  channel: { subprotocol: string; writeScope: Scope },
): SocketGrant {
  const { principal, ticket, offered } = caller;
  const longest = Date.now() + SOCKET_MAX_AGE_MINUTES * 60_000;
  return {
    user_id: principal.userId,
    can_write: principal.scopes.has(channel.writeScope),
    expires_at: Math.min(principal.expiresAt ?? longest, longest),
    credential: { kind: principal.kind, id: principal.credentialId },
    ...(ticket ? { ticket } : {}),
    subprotocol: offered.includes(channel.subprotocol),
  };
}

/** Forwards the upgrade to the object that serves the socket, with the grant the Worker built. */
export function forwardUpgrade(
  object: { fetch(request: Request): Promise<Response> },
  target: URL,
  since: string | undefined,
  grant: SocketGrant,
): Promise<Response> {
  if (since !== undefined) target.searchParams.set("since", since);
  const headers = new Headers({ upgrade: "websocket", [SOCKET_GRANT_HEADER]: JSON.stringify(grant) });
  return object.fetch(new Request(target, { headers }));
}
