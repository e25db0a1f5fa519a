import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { listModels } from "./models-list";
import { predictEnergy, predictTaskDifficulty, predictTaskDuration } from "./predictions";
import { requestRetraining } from "./retrain";
import {
  DifficultyPredictionSchema,
  DurationPredictionSchema,
  EnergyPredictionSchema,
  ModelsQuerySchema,
  ModelVersionSchema,
  RetrainSchema,
  SuggestionsQuerySchema,
  SuggestionsSchema,
  TaskIdQuerySchema,
} from "./schemas";
import { suggestNow } from "./suggestions";

// Predictions, suggestions and models are Insight: the analytics scopes, like the dashboard.
const read = requireAuth({ scope: "analytics:read" });

export const durationRoute = createRoute({
  method: "get",
  path: "/predictions/duration",
  tags: ["Learning"],
  summary: "How long a task will really take",
  description:
    "Your own model's prediction once it is trained and promoted (after 15 timed tasks), the population model's " +
    "until then, or your estimate (else 25 minutes) before any model exists. Names the model and its error.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: TaskIdQuerySchema },
  responses: {
    200: jsonResponse(DurationPredictionSchema, "The prediction and the model that answered"),
    ...errorResponses(401, 403, 404, 422),
  },
});

export const difficultyRoute = createRoute({
  method: "get",
  path: "/predictions/difficulty",
  tags: ["Learning"],
  summary: "How hard a task will feel (1–5)",
  description: "Learned from the difficulty you give when splitting tasks; 3 before any model exists.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: TaskIdQuerySchema },
  responses: {
    200: jsonResponse(DifficultyPredictionSchema, "The prediction and the model that answered"),
    ...errorResponses(401, 403, 404, 422),
  },
});

export const energyRoute = createRoute({
  method: "get",
  path: "/predictions/energy",
  tags: ["Learning"],
  summary: "Your energy through the day",
  description:
    "For each local hour, the likeliest level (low, medium, high) and its probability, from your check-ins; and " +
    "per kind of task, the block of the day when it most often finishes within its estimate (best_times).",
  security: BEARER_SECURITY,
  middleware: read,
  responses: {
    200: jsonResponse(EnergyPredictionSchema, "24 local hours and the best ones"),
    ...errorResponses(401, 403),
  },
});

export const suggestionsRoute = createRoute({
  method: "get",
  path: "/suggestions/now",
  tags: ["Learning"],
  summary: "What to do now",
  description:
    "Open tasks with nothing left to wait on, ranked by due date, priority, how hard they look against your " +
    "energy at this hour, and whether their predicted time still fits before they are due; with reasons.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: SuggestionsQuerySchema },
  responses: {
    200: jsonResponse(SuggestionsSchema, "The best next tasks, best first"),
    ...errorResponses(401, 403, 422),
  },
});

export const modelsRoute = createRoute({
  method: "get",
  path: "/models",
  tags: ["Learning"],
  summary: "Your model versions",
  description:
    "Every version trained for you (newest first) with its held-out metrics against the baselines and whether it " +
    "is promoted; the first page also lists the population models in use. Promoted versions show their live error " +
    'from your scored predictions. The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ModelsQuerySchema },
  responses: {
    200: pageResponse(ModelVersionSchema, "A page of model versions"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const retrainRoute = createRoute({
  method: "post",
  path: "/models/retrain",
  tags: ["Learning"],
  summary: "Retrain your models now",
  description:
    "Queues a training of your models (after importing history, say). At most once an hour: 429 with Retry-After " +
    "otherwise (a failed one does not count); 409 with Retry-After while one of yours is queued or running; 503 " +
    "with Retry-After when the queue refused it (nothing was started).",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "analytics:write" }),
  responses: {
    202: jsonResponse(RetrainSchema, "Queued"),
    ...errorResponses(401, 403, 409, 429, 503),
  },
});

const durationHandler: AppRouteHandler<typeof durationRoute> = async (c) =>
  c.json(await predictTaskDuration(c.var.db, c.var.principal.userId, c.req.valid("query").task_id), 200);

const difficultyHandler: AppRouteHandler<typeof difficultyRoute> = async (c) =>
  c.json(await predictTaskDifficulty(c.var.db, c.var.principal.userId, c.req.valid("query").task_id), 200);

const energyHandler: AppRouteHandler<typeof energyRoute> = async (c) =>
  c.json(await predictEnergy(c.var.db, c.var.principal.userId), 200);

const suggestionsHandler: AppRouteHandler<typeof suggestionsRoute> = async (c) =>
  c.json(await suggestNow(c.var.db, c.var.principal.userId, c.req.valid("query").limit), 200);

const modelsHandler: AppRouteHandler<typeof modelsRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await listModels(c.var.db, c.var.principal.userId, query, pageAfter(query.cursor));
  return c.json(withNextLink(c, page), 200);
};

const retrainHandler: AppRouteHandler<typeof retrainRoute> = async (c) =>
  c.json(await requestRetraining(c.var.db, c.env, c.var.principal.userId), 202);

export const learningRouter = createRouter()
  .openapi(durationRoute, durationHandler)
  .openapi(difficultyRoute, difficultyHandler)
  .openapi(energyRoute, energyHandler)
  .openapi(suggestionsRoute, suggestionsHandler)
  .openapi(modelsRoute, modelsHandler)
  .openapi(retrainRoute, retrainHandler);
