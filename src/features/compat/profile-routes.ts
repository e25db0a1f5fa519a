import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { UserSchema } from "../auth/schemas";
import { getUser, toUserDto } from "../auth/service";

export const profile = createRoute({
  method: "get",
  path: "/auth/profile",
  tags: ["Original clients"],
  summary: "The signed-in user (the original API's path)",
  description:
    "The same answer as GET /api/v1/auth/me: `user_id`, `username`, `email`, `full_name`, `created_at` and " +
    "`is_active` as the original mobile app reads them, beside our own fields.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "profile:read" })] as const,
  responses: { 200: jsonResponse(UserSchema, "The user"), ...errorResponses(401, 403) },
});

const profileHandler: AppRouteHandler<typeof profile> = async (c) =>
  c.json(toUserDto(await getUser(c.var.db, c.var.principal.userId)), 200);

export const profileCompatRouter = createRouter().openapi(profile, profileHandler);
