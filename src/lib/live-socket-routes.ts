import { createRoute, z } from "@hono/zod-openapi";
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
import { type AppRouteHandler, createRouter } from "./create-app";
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
      query: z.object({
        ticket: z.string().max(2000).optional(),
        since: z
          .string()
          .regex(/^\d{1,15}$/)
          .optional()
          .openapi({ description: "Last seq you saw" }),
      }),
    },
    responses: {
      101: { description: `Switching Protocols: the ${channel.name} WebSocket` },
      ...errorResponses(401, 403, 422, 426),
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
    const offered = (c.req.header("sec-websocket-protocol") ?? "")
      .split(",")
      .map((p) => p.trim())
      .filter(Boolean);

    let principal: Principal;
    let ticket: SocketGrant["ticket"];
    if (query.ticket !== undefined) {
      const read = await readSocketTicket(c.env, channel.name, query.ticket);
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
        offered
          .find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))
          ?.slice(BEARER_SUBPROTOCOL_PREFIX.length) ?? bearerToken(c.req.header("authorization"));
      if (!token) {
        throw unauthorized(
          `Authenticate with ?ticket= (POST ${channel.basePath}/ws-ticket) or the ${BEARER_SUBPROTOCOL_PREFIX}<token> subprotocol.`,
        );
      }
      principal = await authenticateBearer(c, token);
    }
    requireScope(principal, channel.readScope);
    // A login's ticket or access token is a signed claim: the account behind it may have been deleted
    // since (an API token's row went with it, so its check above already refused it).
    if (principal.kind === "session") await requireAccount(c.env.DB, principal.userId);
    const longest = Date.now() + SOCKET_MAX_AGE_MINUTES * 60_000;
    const grant: SocketGrant = {
      user_id: principal.userId,
      can_write: principal.scopes.has(channel.writeScope),
      expires_at: Math.min(principal.expiresAt ?? longest, longest),
      credential: { kind: principal.kind, id: principal.credentialId },
      ...(ticket ? { ticket } : {}),
      subprotocol: offered.includes(channel.subprotocol),
    };
    const target = new URL(socketPath, c.req.url);
    if (query.since !== undefined) target.searchParams.set("since", query.since);
    const headers = new Headers({ upgrade: "websocket", [SOCKET_GRANT_HEADER]: JSON.stringify(grant) });
    return channel.objectFor(c.env, principal.userId).fetch(new Request(target, { headers }));
  };

  return createRouter().openapi(createTicket, createTicketHandler).openapi(openSocket, openSocketHandler);
}
