import { createRoute } from "@hono/zod-openapi";
import { issueSocketTicket, TICKET_TTL_SECONDS } from "../../lib/auth/socket-ticket";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError } from "../../lib/errors";
import { BEARER_SUBPROTOCOL_PREFIX, SOCKET_MAX_AGE_MINUTES } from "../../lib/live-socket";
import {
  authenticateSocket,
  forwardUpgrade,
  SocketQuerySchema,
  SocketTicketSchema,
  socketGrant,
} from "../../lib/live-socket-routes";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { MEMBER_EVENTS, ROOM_SUBPROTOCOL, roomChannel } from "./protocol";
import { ROOM_EVENTS } from "./room-rules";
import { RoomIdParamsSchema } from "./schemas";
import { focusRoom, requireMembership } from "./service";

const tags = ["Rooms"];
const CHANNEL = {
  subprotocol: ROOM_SUBPROTOCOL,
  readScope: "focus:read",
  writeScope: "focus:write",
} as const;
const base = (roomId: string) => `/api/v1/rooms/${encodeURIComponent(roomId)}`;

const createTicketRoute = createRoute({
  method: "post",
  path: "/{room_id}/ws-ticket",
  tags,
  summary: "A one-time ticket to open a room's WebSocket (for browsers, which cannot set headers)",
  description: "Good for this room only. 404 unless you are a member.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: CHANNEL.readScope }),
  request: { params: RoomIdParamsSchema },
  responses: {
    201: jsonResponse(SocketTicketSchema, `The ticket: valid ${TICKET_TTL_SECONDS} s, for one connection`),
    ...errorResponses(401, 403, 404, 422),
  },
});

const openSocketRoute = createRoute({
  method: "get",
  path: "/{room_id}/ws",
  tags,
  summary: "A room's live WebSocket: every member's timer and presence as it changes",
  description:
    `Upgrade with \`?ticket=\` (from POST …/ws-ticket), or offer the subprotocols \`${ROOM_SUBPROTOCOL}, ` +
    `${BEARER_SUBPROTOCOL_PREFIX}<token>\`, or send an Authorization header; 401 without, 404 unless you are a ` +
    'member (both before the upgrade). On connect: `{"type":"hello","seq":N,"state":RoomView,"replayed":k,' +
    '"gap":false,"you":"<your member_id>"}` (`?since=<seq>` replays what you missed first; `gap: true` when ' +
    "it no longer can: trust the hello's view). Then one message per change, with no gaps in `seq`, carrying " +
    'only what changed — apply it to your view: `{"type":"state","seq":N+1,"event":E,"at":iso,…}` where ' +
    `${MEMBER_EVENTS.join(", ")} carry \`"member": RoomMember\` (the member as the view shows them, ` +
    'replacing or adding theirs); member_left and member_removed carry `"member_id"` (remove them); ' +
    'round_started carries `"member_id"` (whose start opened it) and `"round": {round_id, kind, ' +
    'duration_minutes, started_at}`; room_closed carries `"room": {room_id, status, closed_at}`. ' +
    `Events: ${ROOM_EVENTS.join(", ")}. The socket takes no actions (an action gets \`error\` 422; make changes ` +
    'over REST); `{"type":"ping"}` gets `{"type":"pong"}`. Closed with 4004 when you leave or are removed, ' +
    `4003 when your account is deleted, 4001 when its credential expires (at most ${SOCKET_MAX_AGE_MINUTES} minutes) or is revoked.`,
  security: BEARER_SECURITY,
  request: {
    params: RoomIdParamsSchema,
    query: SocketQuerySchema,
  },
  responses: {
    101: { description: "Switching Protocols: the room's WebSocket" },
    ...errorResponses(401, 403, 404, 422, 426),
  },
});

const createTicketHandler: AppRouteHandler<typeof createTicketRoute> = async (c) => {
  const roomId = c.req.valid("param").room_id;
  await requireMembership(usePrimarySession(c), roomId, c.var.principal.userId);
  const ticket = await issueSocketTicket(c.env, roomChannel(roomId), c.var.principal);
  const url = `${base(roomId)}/ws?ticket=${encodeURIComponent(ticket)}`;
  return c.json({ ticket, expires_in: TICKET_TTL_SECONDS, url }, 201);
};

/** Authenticated (401), then a member (404), then an upgrade (426): a non-member learns nothing more. */
const openSocketHandler: AppRouteHandler<typeof openSocketRoute> = async (c) => {
  const roomId = c.req.valid("param").room_id;
  const query = c.req.valid("query");
  const caller = await authenticateSocket(
    c,
    { name: roomChannel(roomId), readScope: CHANNEL.readScope },
    `${base(roomId)}/ws-ticket`,
    query.ticket,
  );
  await requireMembership(usePrimarySession(c), roomId, caller.principal.userId);
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "upgrade_required", "Connect with a WebSocket upgrade request.");
  }
  return forwardUpgrade(
    focusRoom(c.env, roomId),
    new URL(`${base(roomId)}/ws`, c.req.url),
    query.since,
    socketGrant(caller, CHANNEL),
  );
};

/** A room's socket: `POST /api/v1/rooms/{room_id}/ws-ticket`, `GET /api/v1/rooms/{room_id}/ws`. */
export const roomSocketRouter = createRouter()
  .openapi(createTicketRoute, createTicketHandler)
  .openapi(openSocketRoute, openSocketHandler);
