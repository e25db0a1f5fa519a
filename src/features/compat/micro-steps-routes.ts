import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { getTask } from "../tasks/service";
import { completeStep, taskIdOfStep } from "../tasks/steps-service";
import { legacyCompletion, legacyProgress } from "./micro-steps-answers";
import {
  LegacyCompleteStepBodySchema,
  LegacyStepCompletionSchema,
  LegacyTaskIdParamsSchema,
  LegacyTaskProgressSchema,
  StepIdParamsSchema,
} from "./micro-steps-schemas";

const tags = ["Original clients"];

export const completeMicroStep = createRoute({
  method: "patch",
  path: "/micro-steps/{step_id}/complete",
  tags,
  summary: "Complete a micro-step by its id alone (the original API's path)",
  description:
    "For the original mobile app and scripts: the same as POST /api/v1/tasks/{task_id}/steps/{step_id}/complete " +
    "(events, XP, the task completing with its last step), answered in the original's shape. The body is " +
    "optional: the app sends none. Completing a step already done changes nothing and earns 0 XP.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:write" }),
  request: {
    params: StepIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: LegacyCompleteStepBodySchema } } },
  },
  responses: {
    200: jsonResponse(
      LegacyStepCompletionSchema,
      "The completed step, the XP it earned and the task's progress",
    ),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const taskProgress = createRoute({
  method: "get",
  path: "/tasks/{task_id}/progress",
  tags,
  summary: "A task's step progress (the original API's path)",
  description:
    "For the original mobile app and scripts: the `progress` of GET /api/v1/tasks/{task_id}, under each of " +
    "the names its clients read (progress_percentage, progress_percent, completion_percentage).",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:read" }),
  request: { params: LegacyTaskIdParamsSchema },
  responses: {
    200: jsonResponse(LegacyTaskProgressSchema, "The task's progress"),
    ...errorResponses(401, 403, 404),
  },
});

const completeMicroStepHandler: AppRouteHandler<typeof completeMicroStep> = async (c) => {
  const { userId } = c.var.principal;
  const stepId = c.req.valid("param").step_id;
  const body = c.req.valid("json");
  const taskId = await taskIdOfStep(c.var.db, userId, stepId);
  const result = await completeStep(c.var.db, userId, taskId, stepId);
  afterWrite(c, result.events);
  const completedNow = result.events.some((e) => e.type === "step.completed");
  return c.json(legacyCompletion(result.body, stepId, completedNow, body?.actual_minutes), 200);
};

const taskProgressHandler: AppRouteHandler<typeof taskProgress> = async (c) => {
  const { userId, agentId } = c.var.principal;
  const task = await getTask(c.var.db, userId, c.req.valid("param").task_id, agentId);
  return c.json(legacyProgress(task), 200);
};

export const microStepsCompatRouter = createRouter()
  .openapi(completeMicroStep, completeMicroStepHandler)
  .openapi(taskProgress, taskProgressHandler);
