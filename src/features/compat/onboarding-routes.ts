import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { callerFromPath } from "./caller";
import {
  OnboardingBodySchema,
  OnboardingCompleteBodySchema,
  OnboardingParamsSchema,
  OnboardingSchema,
} from "./onboarding-schemas";
import * as service from "./onboarding-service";

const tags = ["Original clients"];
// A profile is the person's own: reading takes profile:read, changing it a signed-in session (as PATCH /auth/me).
const read = requireAuth({ scope: "profile:read" });
const write = requireAuth({ sessionOnly: true });

const WHERE =
  "The original API's onboarding, also served at /api/v1/api/v1/users/{user_id}/onboarding (the path the mobile app builds). " +
  "Our own profile lives at /api/v1/auth/me; these preferences feed the splitter (POST /api/v1/tasks/{task_id}/split): " +
  "the support level sets how fine steps are until it has learned your own difficulty, the schedule's hours the energy it assumes.";

export const putOnboardingRoute = createRoute({
  method: "put",
  path: "/users/{user_id}/onboarding",
  tags,
  summary: "Save onboarding answers (the original API's path)",
  description: `Partial: only the fields sent change. ${WHERE}`,
  security: BEARER_SECURITY,
  middleware: [write] as const,
  request: { params: OnboardingParamsSchema, body: jsonBody(OnboardingBodySchema) },
  responses: {
    200: jsonResponse(OnboardingSchema, "The onboarding answers as stored"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const getOnboardingRoute = createRoute({
  method: "get",
  path: "/users/{user_id}/onboarding",
  tags,
  summary: "Read onboarding answers (the original API's path)",
  description: `404 when onboarding has not been started. ${WHERE}`,
  security: BEARER_SECURITY,
  middleware: [read] as const,
  request: { params: OnboardingParamsSchema },
  responses: {
    200: jsonResponse(OnboardingSchema, "The onboarding answers"),
    ...errorResponses(401, 403, 404, 422),
  },
});

export const completeOnboardingRoute = createRoute({
  method: "post",
  path: "/users/{user_id}/onboarding/complete",
  tags,
  summary: "Mark onboarding finished or skipped (the original API's path)",
  description: `completed: true finishes it, false skips it (whichever came last counts). ${WHERE}`,
  security: BEARER_SECURITY,
  middleware: [write] as const,
  request: { params: OnboardingParamsSchema, body: jsonBody(OnboardingCompleteBodySchema) },
  responses: {
    200: jsonResponse(OnboardingSchema, "The onboarding answers"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const deleteOnboardingRoute = createRoute({
  method: "delete",
  path: "/users/{user_id}/onboarding",
  tags,
  summary: "Forget onboarding answers (the original API's path)",
  description: `The app starts onboarding again. ${WHERE}`,
  security: BEARER_SECURITY,
  middleware: [write] as const,
  request: { params: OnboardingParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 422) },
});

const caller = (c: Parameters<AppRouteHandler<typeof getOnboardingRoute>>[0], param: string) =>
  callerFromPath(c.var.db, c.var.principal.userId, param, "Onboarding");

const putHandler: AppRouteHandler<typeof putOnboardingRoute> = async (c) => {
  const userId = await caller(c, c.req.valid("param").user_id);
  return c.json(await service.saveOnboarding(c.var.db, userId, c.req.valid("json")), 200);
};

const getHandler: AppRouteHandler<typeof getOnboardingRoute> = async (c) => {
  const userId = await caller(c, c.req.valid("param").user_id);
  return c.json(await service.getOnboarding(c.var.db, userId), 200);
};

const completeHandler: AppRouteHandler<typeof completeOnboardingRoute> = async (c) => {
  const userId = await caller(c, c.req.valid("param").user_id);
  return c.json(await service.finishOnboarding(c.var.db, userId, c.req.valid("json").completed), 200);
};

const deleteHandler: AppRouteHandler<typeof deleteOnboardingRoute> = async (c) => {
  const userId = await caller(c, c.req.valid("param").user_id);
  await service.deleteOnboarding(c.var.db, userId);
  return c.body(null, 204);
};

/** Mounted twice (compat/index.ts): at /api/v1 and at the mobile app's doubled /api/v1/api/v1. */
export const onboardingCompatRouter = createRouter()
  .openapi(putOnboardingRoute, putHandler)
  .openapi(getOnboardingRoute, getHandler)
  .openapi(completeOnboardingRoute, completeHandler)
  .openapi(deleteOnboardingRoute, deleteHandler);
