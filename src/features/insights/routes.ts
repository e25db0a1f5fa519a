import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import {
  aiRephraser,
  DEFAULT_INSIGHTS_AI_TIMEOUT_MS,
  type InsightWriter,
  localWriter,
} from "./insight-writer";
import { MIN_CONFIDENCE, MIN_SAMPLES } from "./patterns";
import { cacheMemory, REPHRASING_CACHE, rememberingWriter } from "./rephrasing-memory";
import { DaysQuerySchema, InsightsSchema, PatternsSchema } from "./schemas";
import { insightsFor, patternsFor } from "./service";

const tags = ["Analytics"];
// Patterns and insights are analytics reads: the same scope as the dashboard.
const read = requireAuth({ scope: "analytics:read" });

export const patternsRoute = createRoute({
  method: "get",
  path: "/patterns",
  tags,
  summary: "Patterns by hour, weekday, energy and category, each with its sample size and confidence",
  description:
    `A pattern is reported only when its confidence is above ${MIN_CONFIDENCE} and it rests on at least ` +
    `${MIN_SAMPLES} data points. Confidence is a Bonferroni-adjusted Beta–Binomial posterior probability ` +
    "that the slice's rate differs from the rest's by more than 10 points (`statistic`, `definition`). " +
    "Hours are grouped in 3-hour blocks of your local day; days are your local days.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: DaysQuerySchema },
  responses: {
    200: jsonResponse(PatternsSchema, "The patterns found, strongest first"),
    ...errorResponses(401, 403, 422),
  },
});

export const insightsRoute = createRoute({
  method: "get",
  path: "/insights",
  tags,
  summary: "Insights: patterns, suggestions, celebrations and gentle warnings, in plain words",
  description:
    "Built from your rollups and the reported patterns; with little data, suggestions on what would help " +
    "show more. Workers AI may rephrase the words (never the numbers); `phrased_by` says who wrote them. " +
    "A rephrasing is remembered for 24 hours, so reading again neither waits for the model nor spends " +
    "your AI budget.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: DaysQuerySchema },
  responses: {
    200: jsonResponse(InsightsSchema, "The insights, most important first"),
    ...errorResponses(401, 403, 422),
  },
});

/**
 * The writer for this request: Workers AI when configured and bound, answering from the day's
 * remembered rephrasings first; the user's AI budget is spent only when some insight was never
 * rephrased (a refusal is not an error here: the local words answer instead).
 */
function writerFor(c: Context<AppEnv>): InsightWriter {
  const ai = c.env.AI;
  if (c.env.INSIGHTS_WRITER === "local" || ai === undefined) return localWriter;
  const timeout = Number(c.env.INSIGHTS_AI_TIMEOUT_MS);
  const userId = c.var.principal.userId;
  return rememberingWriter({
    rephraser: aiRephraser(
      ai,
      Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_INSIGHTS_AI_TIMEOUT_MS,
    ),
    memory: cacheMemory(() => caches.open(REPHRASING_CACHE)),
    userId,
    allowed: async () => (await c.env.AI_LIMITER.limit({ key: `user:${userId}` })).success,
  });
}

const patternsHandler: AppRouteHandler<typeof patternsRoute> = async (c) => {
  const { days } = c.req.valid("query");
  return c.json(await patternsFor(c.var.db, c.var.principal.userId, days), 200);
};

const insightsHandler: AppRouteHandler<typeof insightsRoute> = async (c) => {
  const { days } = c.req.valid("query");
  const writer = writerFor(c);
  return c.json(await insightsFor(c.var.db, c.var.principal.userId, days, writer), 200);
};

export const insightsRouter = createRouter()
  .openapi(patternsRoute, patternsHandler)
  .openapi(insightsRoute, insightsHandler);
