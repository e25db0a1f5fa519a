import { createRoute } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { chooseWriter, DEFAULT_INSIGHTS_AI_TIMEOUT_MS, type InsightWriter } from "./insight-writer";
import { MIN_CONFIDENCE, MIN_SAMPLES } from "./patterns";
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
    "show more. Workers AI may rephrase the words (never the numbers); `phrased_by` says who wrote them.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: DaysQuerySchema },
  responses: {
    200: jsonResponse(InsightsSchema, "The insights, most important first"),
    ...errorResponses(401, 403, 422),
  },
});

/**
 * The writer for this request: Workers AI when configured, bound and within the user's AI budget
 * (a refusal is not an error here: the local words answer instead).
 */
async function writerFor(c: Context<AppEnv>): Promise<InsightWriter> {
  const timeout = Number(c.env.INSIGHTS_AI_TIMEOUT_MS);
  const wanted = c.env.INSIGHTS_WRITER !== "local" && c.env.AI !== undefined;
  const allowed = wanted && (await c.env.AI_LIMITER.limit({ key: `user:${c.var.principal.userId}` })).success;
  return chooseWriter({
    ai: c.env.AI,
    useAi: allowed,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : DEFAULT_INSIGHTS_AI_TIMEOUT_MS,
  });
}

const patternsHandler: AppRouteHandler<typeof patternsRoute> = async (c) => {
  const { days } = c.req.valid("query");
  return c.json(await patternsFor(c.var.db, c.var.principal.userId, days), 200);
};

const insightsHandler: AppRouteHandler<typeof insightsRoute> = async (c) => {
  const { days } = c.req.valid("query");
  const writer = await writerFor(c);
  return c.json(await insightsFor(c.var.db, c.var.principal.userId, days, writer), 200);
};

export const insightsRouter = createRouter()
  .openapi(patternsRoute, patternsHandler)
  .openapi(insightsRoute, insightsHandler);
