import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { LegacyCaptureSchema } from "../compat/capture-schemas";
import { previewCapture } from "../compat/capture-service";
import { CaptureBodySchema, CapturedTaskSchema } from "./schemas";
import { captureTask } from "./service";

export const capture = createRoute({
  method: "post",
  path: "/",
  tags: ["Capture"],
  summary: "Turn one line of text into a task (date, !priority, #tags, ~estimate parsed)",
  description:
    "With `text`: the task is stored and answered (201). With `query` (the original mobile app): a preview " +
    "in the original's shape with suggested micro-steps, nothing stored (200); POST /api/v1/capture/save stores it.",
  security: BEARER_SECURITY,
  // The account check rides in the capture's own D1 batch: the task's, or the preview's read.
  middleware: requireAuth({ scope: "tasks:write", accountLookup: "carried" }),
  request: {
    body: jsonBody(CaptureBodySchema),
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    200: jsonResponse(LegacyCaptureSchema, "With `query`: the preview (nothing stored)"),
    201: jsonResponse(CapturedTaskSchema, "The captured task, with what was understood"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

const captureHandler: AppRouteHandler<typeof capture> = async (c) => {
  const { userId } = c.var.principal;
  const body = c.req.valid("json");
  const { text, query } = body;
  if (text === undefined) {
    // The schema demands exactly one of them: this is the original app's preview.
    if (query === undefined) throw new Error("capture: neither text nor query");
    return c.json(await previewCapture(c.var.db, userId, { ...body, query }), 200);
  }
  const result = await idempotently(c, "capture", body, (idem) =>
    captureTask(c.var.db, userId, { ...body, text }, idem),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

export const captureRouter = createRouter().openapi(capture, captureHandler);
