import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import {
  HookIdParamsSchema,
  HookInputSchema,
  HookSchema,
  SampleEventParamsSchema,
  SampleSchema,
} from "./hooks-schemas";
import * as hooks from "./hooks-service";

const tags = ["REST hooks"];

export const subscribeHookRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Subscribe a target URL to one event type (REST Hooks, as Zapier and Make call it)",
  description:
    "Deliveries are POSTs of `{type, timestamp, data}`, signed like every webhook. Subscribing the same " +
    "target to the same event again answers the existing hook. A target that answers 410 Gone is " +
    "unsubscribed. Counts toward the 20 webhooks of an account (409).",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "webhooks:write" }),
  request: { body: jsonBody(HookInputSchema) },
  responses: {
    201: jsonResponse(HookSchema, "The subscription"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const unsubscribeHookRoute = createRoute({
  method: "delete",
  path: "/{hook_id}",
  tags,
  summary: "Unsubscribe",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "webhooks:write" }),
  request: { params: HookIdParamsSchema },
  responses: { 204: { description: "Unsubscribed" }, ...errorResponses(401, 403, 404) },
});

export const hookSamplesRoute = createRoute({
  method: "get",
  path: "/samples/{event}",
  tags,
  summary: "Recent payloads of an event type, so a no-code tool can list its fields",
  description:
    "Your latest (up to 3) events of this type, shaped as deliveries carry them plus their `id`; an " +
    'example made from the catalog\'s schema (id "sample") when you have none yet.',
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "webhooks:read" }),
  request: { params: SampleEventParamsSchema },
  responses: {
    200: jsonResponse(z.array(SampleSchema), "Sample payloads, newest first"),
    ...errorResponses(401, 403, 422),
  },
});

const subscribeHandler: AppRouteHandler<typeof subscribeHookRoute> = async (c) =>
  c.json(await hooks.subscribeHook(c.var.db, c.env, c.var.principal.userId, c.req.valid("json")), 201);

const unsubscribeHandler: AppRouteHandler<typeof unsubscribeHookRoute> = async (c) => {
  await hooks.unsubscribeHook(c.var.db, c.var.principal.userId, c.req.valid("param").hook_id);
  return c.body(null, 204);
};

const samplesHandler: AppRouteHandler<typeof hookSamplesRoute> = async (c) =>
  c.json(await hooks.samplesOf(c.var.db, c.var.principal.userId, c.req.valid("param").event), 200);

export const hooksRouter = createRouter()
  .openapi(subscribeHookRoute, subscribeHandler)
  .openapi(hookSamplesRoute, samplesHandler)
  .openapi(unsubscribeHookRoute, unsubscribeHandler);
