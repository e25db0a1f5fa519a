import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { MAX_ROOMS_PER_PERSON } from "./room-rules";
import {
  CreateRoomBodySchema,
  JoinRoomBodySchema,
  PatchMembershipBodySchema,
  RoomIdParamsSchema,
  RoomSchema,
  RoomSummarySchema,
} from "./schemas";
import { createRoom, joinRoom, leaveRoom, myRooms, patchMembership, viewRoom } from "./service";

const tags = ["Rooms"];
const read = requireAuth({ scope: "focus:read" });
const write = requireAuth({ scope: "focus:write" });
/**
 * Membership is written by the rooms' objects straight to D1, beside this request's session: reads
 * of it go to the primary, so a join is never followed by a 404 from a lagging replica.
 */
const primary = createMiddleware<AppEnv>(async (c, next) => {
  usePrimarySession(c);
  await next();
});
const roomResponse = (description: string) => jsonResponse(RoomSchema, description);

export const createRoomRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Open a focus room (body doubling): you are its first member",
  description:
    "Answers the room with its join `code` (like K7PM-3QXA) to hand to others. `max_members` 2–20 (default 20); " +
    "with `sync_pomodoro`, a round one opted-in member starts starts for every opted-in member who is idle. " +
    `409 \`too_many_rooms\` when you are in ${MAX_ROOMS_PER_PERSON} open rooms already. Retry-safe with an Idempotency-Key.`,
  security: BEARER_SECURITY,
  middleware: [write, primary] as const,
  request: { body: jsonBody(CreateRoomBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: roomResponse("The room, with you in it"),
    ...errorResponses(400, 401, 403, 409, 413, 422, 503),
  },
});

export const joinRoomRoute = createRoute({
  method: "post",
  path: "/join",
  tags,
  summary: "Join a room by its code",
  description:
    "The code in any case, with or without its dash or spaces. 404 for a code no open room has; 409 `room_full`; " +
    `409 \`too_many_rooms\` when you are in ${MAX_ROOMS_PER_PERSON} open rooms. Joining a room you are in answers it again.`,
  security: BEARER_SECURITY,
  middleware: [write, primary] as const,
  request: { body: jsonBody(JoinRoomBodySchema) },
  responses: {
    200: roomResponse("The room, with you in it"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

export const listRoomsRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Your open rooms",
  description: `At most ${MAX_ROOMS_PER_PERSON} (you cannot be in more), newest joined first: no paging.`,
  security: BEARER_SECURITY,
  middleware: [read, primary] as const,
  responses: {
    200: jsonResponse(z.array(RoomSummarySchema), "Your open rooms"),
    ...errorResponses(401, 403),
  },
});

export const getRoomRoute = createRoute({
  method: "get",
  path: "/{room_id}",
  tags,
  summary: "A room: its members, here or away, and their timers",
  description:
    "Each member's focus: idle, focusing, paused, on_break or done (an hour after a session ended), with " +
    "time left; the task only when that member shares it. 404 unless you are a member.",
  security: BEARER_SECURITY,
  middleware: [read, primary] as const,
  request: { params: RoomIdParamsSchema },
  responses: {
    200: roomResponse("The room"),
    ...errorResponses(401, 403, 404, 422, 503),
  },
});

export const leaveRoomRoute = createRoute({
  method: "post",
  path: "/{room_id}/leave",
  tags,
  summary: "Leave a room",
  description:
    "Your room sockets close with 4004; the others see `member_left`. A room left empty closes after a day.",
  security: BEARER_SECURITY,
  middleware: [write, primary] as const,
  request: { params: RoomIdParamsSchema },
  responses: { 204: { description: "You left" }, ...errorResponses(401, 403, 404, 422, 503) },
});

export const patchMembershipRoute = createRoute({
  method: "patch",
  path: "/{room_id}/me",
  tags,
  summary: "Change how you appear in a room",
  description: "Your display name, whether you share your task, whether you follow sync rounds.",
  security: BEARER_SECURITY,
  middleware: [write, primary] as const,
  request: { params: RoomIdParamsSchema, body: jsonBody(PatchMembershipBodySchema) },
  responses: {
    200: roomResponse("The room after the change"),
    ...errorResponses(400, 401, 403, 404, 413, 422, 503),
  },
});

const createRoomHandler: AppRouteHandler<typeof createRoomRoute> = async (c) => {
  const input = c.req.valid("json");
  const result = await idempotently(c, "rooms.create", input, (idempotency) =>
    createRoom(c.env, c.var.db, c.var.principal.userId, input, idempotency),
  );
  return c.json(result.room, 201);
};

const joinRoomHandler: AppRouteHandler<typeof joinRoomRoute> = async (c) =>
  c.json(await joinRoom(c.env, c.var.db, c.var.principal.userId, c.req.valid("json")), 200);

const listRoomsHandler: AppRouteHandler<typeof listRoomsRoute> = async (c) =>
  c.json(await myRooms(c.var.db, c.var.principal.userId), 200);

const getRoomHandler: AppRouteHandler<typeof getRoomRoute> = async (c) =>
  c.json(await viewRoom(c.env, c.var.db, c.var.principal.userId, c.req.valid("param").room_id), 200);

const leaveRoomHandler: AppRouteHandler<typeof leaveRoomRoute> = async (c) => {
  await leaveRoom(c.env, c.var.db, c.var.principal.userId, c.req.valid("param").room_id);
  return c.body(null, 204);
};

const patchMembershipHandler: AppRouteHandler<typeof patchMembershipRoute> = async (c) =>
  c.json(
    await patchMembership(
      c.env,
      c.var.db,
      c.var.principal.userId,
      c.req.valid("param").room_id,
      c.req.valid("json"),
    ),
    200,
  );

export const roomsRouter = createRouter()
  .openapi(createRoomRoute, createRoomHandler)
  .openapi(joinRoomRoute, joinRoomHandler)
  .openapi(listRoomsRoute, listRoomsHandler)
  .openapi(getRoomRoute, getRoomHandler)
  .openapi(leaveRoomRoute, leaveRoomHandler)
  .openapi(patchMembershipRoute, patchMembershipHandler);
