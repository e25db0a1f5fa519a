import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { perUser } from "../../middleware/rate-limit";
import { isLegacySplit } from "../compat/split";
import { StepIdParamsSchema, TaskIdParamsSchema } from "../tasks/schemas";
import { DEFAULT_SPLIT_TIMEOUT_MS } from "./ai-splitter";
import * as feedback from "./feedback-service";
import {
  PreferenceSchema,
  SplitResponseSchema,
  SplitStepBodySchema,
  SplitTaskBodySchema,
  StepFeedbackBodySchema,
  StepFeedbackResponseSchema,
} from "./schemas";
import * as service from "./service";
import type { SplitterChoice } from "./splitter";

const tags = ["Task splitting"];
const read = requireAuth({ scope: "tasks:read" });
const write = requireAuth({ scope: "tasks:write" });
// A split reads and writes in batches: the account check rides in them.
const writeInBatch = requireAuth({ scope: "tasks:write", accountLookup: "carried" });
// A split may reach Workers AI: limited per user, besides the limit on every write.
const aiLimit = perUser("AI_LIMITER");

const SPLIT_DESCRIPTION =
  "Scores the work (SIMPLE under 15 minutes, MULTI 15–120, PROJECT over 120) and splits it into 3–7 micro-steps of " +
  "1–10 minutes sized by your energy and how hard it feels (harder → finer); a PROJECT becomes sub-tasks, each with " +
  "its own steps. Workers AI writes the steps when it is available and answers well in time; the local splitter " +
  "(offline, deterministic, built from the kind of task) answers otherwise, and `split_method` says which did. " +
  "`apply: true` replaces the task's pending steps (completed ones stay) or, for a project, creates the sub-tasks, " +
  "each waiting on the one before. Your step ratings teach it your preferred step size per category. " +
  "The original API's clients are answered as they expect: a body with mode adhd or default (any case) or a user_id, " +
  "or on /tasks/{task_id}/split a body with none of our fields (the mobile app's `{}`), applies the split — or, when " +
  "the task already has steps, answers those unchanged (split_method existing, the same step ids). Every answer " +
  "carries the original's micro_steps, next_action and metadata.";

const splitResponses = {
  200: jsonResponse(SplitResponseSchema, "The split (applied or only suggested)"),
  ...errorResponses(400, 401, 403, 404, 409, 413, 422, 429),
};

function splitRoute(path: string, summary: string) {
  return createRoute({
    method: "post",
    path,
    tags,
    summary,
    description: SPLIT_DESCRIPTION,
    security: BEARER_SECURITY,
    middleware: [writeInBatch, aiLimit] as const,
    request: {
      params: TaskIdParamsSchema,
      body: { required: false, content: { "application/json": { schema: SplitTaskBodySchema } } },
      headers: IdempotencyHeadersSchema,
    },
    responses: splitResponses,
  });
}

export const splitTaskRoute = splitRoute("/split/{task_id}", "Split a task into micro-steps");
export const splitTaskAliasRoute = splitRoute(
  "/{task_id}/split",
  "Split a task into micro-steps (same as /split/{task_id})",
);

export const splitStepRoute = createRoute({
  method: "post",
  path: "/{task_id}/steps/{step_id}/split",
  tags,
  summary: "Split one step into 2–5 smaller ones",
  description:
    "For a step that still feels too big. `apply: true` replaces the (pending) step with its parts, in place.",
  security: BEARER_SECURITY,
  middleware: [writeInBatch, aiLimit] as const,
  request: {
    params: StepIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: SplitStepBodySchema } } },
    headers: IdempotencyHeadersSchema,
  },
  responses: splitResponses,
});

export const stepFeedbackRoute = createRoute({
  method: "post",
  path: "/{task_id}/steps/{step_id}/feedback",
  tags,
  summary: "Rate a step: too large, too small or just right",
  description:
    "Exactly one of the three, as `rating` or as one flag set to true; optionally how long it really took and your " +
    "energy. Rating a step again replaces its rating. Updates what the splitter learned for the task's category.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: StepIdParamsSchema, body: jsonBody(StepFeedbackBodySchema) },
  responses: {
    200: jsonResponse(StepFeedbackResponseSchema, "The rating and the updated preference"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const preferencesRoute = createRoute({
  method: "get",
  path: "/split/preferences",
  tags,
  summary: "What the splitter has learned about you, per category",
  security: BEARER_SECURITY,
  middleware: read,
  responses: {
    200: jsonResponse(z.array(PreferenceSchema), "One entry per category you have rated steps in"),
    ...errorResponses(401, 403),
  },
});

function splitterChoice(c: Context<AppEnv>, asked: "auto" | "local"): SplitterChoice {
  const timeout = Number(c.env.SPLIT_AI_TIMEOUT_MS);
  return {
    ai: c.env.AI,
    useAi: asked === "auto" && c.env.SPLITTER !== "local",
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_SPLIT_TIMEOUT_MS,
  };
}

/** The body as sent, before defaults: whether a field was given decides whose split this is. */
async function bodyAsSent(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return {}; // no body (or one the validator already let through as none)
  }
}

function splitTaskHandlerFor(originalPath: boolean): AppRouteHandler<typeof splitTaskRoute> {
  return async (c) => {
    const parsed = SplitTaskBodySchema.parse(c.req.valid("json") ?? {});
    const legacy = isLegacySplit(originalPath, await bodyAsSent(c));
    // The original's split puts the steps on the task; its modes are a replace.
    const input = legacy ? { ...parsed, apply: true, mode: "replace" as const } : parsed;
    const { userId, agentId } = c.var.principal;
    const taskId = c.req.valid("param").task_id;
    const result = await idempotently(c, `tasks.split:${taskId}`, input, (idempotency) =>
      service.splitTaskFor(c.var.db, userId, taskId, input, splitterChoice(c, input.splitter), {
        agentId,
        idempotency,
        keepExisting: legacy,
      }),
    );
    afterWrite(c, result.events);
    return c.json(result.body, 200);
  };
}

const splitStepHandler: AppRouteHandler<typeof splitStepRoute> = async (c) => {
  const input = SplitStepBodySchema.parse(c.req.valid("json") ?? {});
  const { userId, agentId } = c.var.principal;
  const { task_id, step_id } = c.req.valid("param");
  const result = await idempotently(c, `tasks.split-step:${task_id}:${step_id}`, input, (idempotency) =>
    service.splitStepFor(
      c.var.db,
      userId,
      { taskId: task_id, stepId: step_id },
      input,
      splitterChoice(c, input.splitter),
      { agentId, idempotency },
    ),
  );
  return c.json(result.body, 200);
};

const stepFeedbackHandler: AppRouteHandler<typeof stepFeedbackRoute> = async (c) => {
  const { task_id, step_id } = c.req.valid("param");
  const { userId, agentId } = c.var.principal;
  return c.json(
    await feedback.rateStep(
      c.var.db,
      userId,
      { taskId: task_id, stepId: step_id },
      c.req.valid("json"),
      agentId,
    ),
    200,
  );
};

// What a person's ratings taught is theirs: an agent's own token sees none (as with private templates).
const preferencesHandler: AppRouteHandler<typeof preferencesRoute> = async (c) =>
  c.json(
    c.var.principal.agentId ? [] : await feedback.listPreferences(c.var.db, c.var.principal.userId),
    200,
  );

export const splittingRouter = createRouter()
  .openapi(preferencesRoute, preferencesHandler)
  .openapi(splitTaskRoute, splitTaskHandlerFor(false))
  .openapi(splitTaskAliasRoute, splitTaskHandlerFor(true))
  .openapi(splitStepRoute, splitStepHandler)
  .openapi(stepFeedbackRoute, stepFeedbackHandler);
