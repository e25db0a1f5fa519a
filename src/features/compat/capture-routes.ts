import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { conflict } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import {
  LegacyClarifyBodySchema,
  LegacyClarifySchema,
  LegacySaveBodySchema,
  LegacySavedSchema,
} from "./capture-schemas";
import { clarifyCapture, saveCapture } from "./capture-service";

const tags = ["Original clients"];
// Both are steps of a capture, which writes tasks: the scope of POST /api/v1/capture.
const write = requireAuth({ scope: "tasks:write" });

export const clarifyCaptureRoute = createRoute({
  method: "post",
  path: "/capture/clarify",
  tags,
  summary: "Answer a capture's questions (the original API's path)",
  description:
    "For the original mobile app's clarify screen, after POST /api/v1/capture with `query`: our parser asks no " +
    "questions, so this puts the steps in order and answers ready to save. Nothing is stored.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(LegacyClarifyBodySchema) },
  responses: {
    200: jsonResponse(LegacyClarifySchema, "The steps, in order; ready to save"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

export const saveCaptureRoute = createRoute({
  method: "post",
  path: "/capture/save",
  tags,
  summary: "Save a previewed capture as a task (the original API's path)",
  description:
    "For the original mobile app: stores the preview of POST /api/v1/capture (`query`) as a task with its steps, " +
    "as POST /api/v1/tasks does. Steps over 10 minutes become parts of at most 10. Without an Idempotency-Key " +
    "the preview's `task.task_id` keys retries, so the app's Retry never makes a second task; the same preview " +
    "saved again with changes is 409 `capture_already_saved`.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(LegacySaveBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: jsonResponse(LegacySavedSchema, "The saved task and its step ids"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const clarifyHandler: AppRouteHandler<typeof clarifyCaptureRoute> = async (c) =>
  c.json(clarifyCapture(c.req.valid("json").micro_steps), 200);

/** The preview's id keys a save the app retries without an Idempotency-Key. */
const previewKey = (taskId: string) => ({
  key: taskId,
  reused: conflict(
    "capture_already_saved",
    "This capture was already saved; capture the line again to save a changed version.",
  ),
});

const saveHandler: AppRouteHandler<typeof saveCaptureRoute> = async (c) => {
  const { userId } = c.var.principal;
  const body = c.req.valid("json");
  const result = await idempotently(
    c,
    "capture.save",
    body,
    (idem) => saveCapture(c.var.db, userId, body, idem),
    { fallbackKey: body.task.task_id === undefined ? undefined : previewKey(body.task.task_id) },
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

export const captureCompatRouter = createRouter()
  .openapi(clarifyCaptureRoute, clarifyHandler)
  .openapi(saveCaptureRoute, saveHandler);
