import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { CaptureBodySchema, CapturedTaskSchema } from "./schemas";
import { captureTask } from "./service";

export const capture = createRoute({
  method: "post",
  path: "/",
  tags: ["Capture"],
  summary: "Turn one line of text into a task (date, !priority, #tags, ~estimate parsed)",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:write" }),
  request: {
    body: jsonBody(CaptureBodySchema),
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    201: jsonResponse(CapturedTaskSchema, "The captured task, with what was understood"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

const captureHandler: AppRouteHandler<typeof capture> = async (c) => {
  const { userId } = c.var.principal;
  const body = c.req.valid("json");
  const result = await idempotently(c, "capture", body, (idem) => captureTask(c.var.db, userId, body, idem));
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

export const captureRouter = createRouter().openapi(capture, captureHandler);
