import { createRoute, z } from "@hono/zod-openapi";
import type { Principal } from "../../lib/auth/principal";
import type { AppRouteHandler } from "../../lib/create-app";
import { createRouter } from "../../lib/create-app";
import { ApiError, unauthorized } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { authenticateBearer, bearerToken, requireAuth, requireScope } from "../../middleware/auth";
import {
  BEARER_SUBPROTOCOL_PREFIX,
  FOCUS_SUBPROTOCOL,
  SOCKET_GRANT_HEADER,
  SOCKET_MAX_AGE_MINUTES,
  type SocketGrant,
} from "./messages";
import { SocketTicketSchema } from "./schemas";
import { focusTimer, issueSocketTicket, readSocketTicket, TICKET_TTL_SECONDS } from "./service";

const tags = ["Focus"];
const SOCKET_PATH = "/api/v1/focus/ws";

export const createTicket = createRoute({
  method: "post",
  path: "/ws-ticket",
  tags,
  summary: "A one-time ticket to open the focus WebSocket (for browsers, which cannot set headers)",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "focus:read" }),
  responses: {
    201: jsonResponse(SocketTicketSchema, `The ticket: valid ${TICKET_TTL_SECONDS} s, for one connection`),
    ...errorResponses(401, 403),
  },
});

export const openSocket = createRoute({
  method: "get",
  path: "/ws",
  tags,
  summary: "The live focus WebSocket: every change of your timer, on every device",
  description:
    `Upgrade with \`?ticket=\` (from POST /api/v1/focus/ws-ticket), or offer the subprotocols ` +
    `\`${FOCUS_SUBPROTOCOL}, ${BEARER_SUBPROTOCOL_PREFIX}<token>\`, or send an Authorization header. ` +
    "On connect you get `hello` with the state and its sequence number (`?since=<seq>` replays what you " +
    "missed); then one `state` message per change (started, paused, resumed, interrupted, extended, " +
    "work_over, finished, abandoned, break_over, break_skipped). Send " +
    '`{"type":"action","action":"pause","request_id":"…"}` (any focus action, with its fields) to act; ' +
    'you get `ack` or `error`. `{"type":"ping"}` gets `{"type":"pong"}`.',
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
    101: { description: "Switching Protocols: the focus WebSocket" },
    ...errorResponses(401, 403, 422, 426),
  },
});

const createTicketHandler: AppRouteHandler<typeof createTicket> = async (c) => {
  const ticket = await issueSocketTicket(c.env, c.var.principal);
  const url = `${SOCKET_PATH}?ticket=${encodeURIComponent(ticket)}`;
  return c.json({ ticket, expires_in: TICKET_TTL_SECONDS, url }, 201);
};

/** Authenticated here, before the upgrade reaches the user's Durable Object. */
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
    const read = await readSocketTicket(c.env, query.ticket);
    if (!read) throw unauthorized("The ticket is not valid or has expired; ask for a new one.");
    principal = read.principal;
    ticket = { jti: read.jti, expires_at: read.expiresAt };
  } else {
    const token =
      offered.find((p) => p.startsWith(BEARER_SUBPROTOCOL_PREFIX))?.slice(BEARER_SUBPROTOCOL_PREFIX.length) ??
      bearerToken(c.req.header("authorization"));
    if (!token) {
      throw unauthorized(
        `Authenticate with ?ticket= (POST /api/v1/focus/ws-ticket) or the ${BEARER_SUBPROTOCOL_PREFIX}<token> subprotocol.`,
      );
    }
    principal = await authenticateBearer(c, token);
  }
  requireScope(principal, "focus:read");
  const longest = Date.now() + SOCKET_MAX_AGE_MINUTES * 60_000;
  const grant: SocketGrant = {
    user_id: principal.userId,
    can_write: principal.scopes.has("focus:write"),
    expires_at: Math.min(principal.expiresAt ?? longest, longest),
    credential: { kind: principal.kind, id: principal.credentialId },
    ...(ticket ? { ticket } : {}),
    subprotocol: offered.includes(FOCUS_SUBPROTOCOL),
  };
  const target = new URL(SOCKET_PATH, c.req.url);
  if (query.since !== undefined) target.searchParams.set("since", query.since);
  const headers = new Headers({ upgrade: "websocket", [SOCKET_GRANT_HEADER]: JSON.stringify(grant) });
  return focusTimer(c.env, principal.userId).fetch(new Request(target, { headers }));
};

export const focusSocketRouter = createRouter()
  .openapi(createTicket, createTicketHandler)
  .openapi(openSocket, openSocketHandler);
