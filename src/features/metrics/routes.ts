import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { MetricsSchema, SlowQueriesQuerySchema, SlowQuerySchema, WindowQuerySchema } from "./schemas";
import { metricsFor, slowQueriesFor } from "./service";

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Requests per route: latency percentiles, error rate, D1 costs (admin)",
  description:
    "Every route by its template (never a raw path) and method over the window: requests, p50/p95/p99 " +
    "and mean latency, 5xx error rate, 4xx count, and D1 statements and rows read and written per " +
    "request; `slowest` lists the five routes with the highest p99. Counts reach the store from each " +
    'isolate at least once a minute (`METRICS_FLUSH_SECONDS`). Needs an API token with the "admin" scope.',
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "admin" }),
  request: { query: WindowQuerySchema },
  responses: {
    200: { description: "The window's metrics", content: { "application/json": { schema: MetricsSchema } } },
    ...errorResponses(401, 403, 422),
  },
});

export const slowQueriesRoute = createRoute({
  method: "get",
  path: "/slow-queries",
  tags: ["Operations"],
  summary: "D1 statements slower than the threshold (admin)",
  description:
    "Statements D1 took longer than `SLOW_QUERY_MS` (default 100 ms) to run, slowest first: the " +
    "statement with its placeholders (never the values bound), the route it ran for, D1's time and the " +
    'rows it read and wrote. Kept 7 days. Needs an API token with the "admin" scope.',
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "admin" }),
  request: { query: SlowQueriesQuerySchema },
  responses: {
    200: {
      description: "Slow statements, slowest first",
      content: { "application/json": { schema: z.array(SlowQuerySchema) } },
    },
    ...errorResponses(401, 403, 422),
  },
});

const metricsHandler: AppRouteHandler<typeof metricsRoute> = async (c) => {
  const { window } = c.req.valid("query");
  const metrics = await metricsFor(c.env, usePrimarySession(c), window);
  c.header("Cache-Control", "no-store");
  return c.json({ window, ...metrics }, 200);
};

const slowQueriesHandler: AppRouteHandler<typeof slowQueriesRoute> = async (c) => {
  const { window, limit } = c.req.valid("query");
  c.header("Cache-Control", "no-store");
  return c.json(await slowQueriesFor(usePrimarySession(c), window, limit), 200);
};

export const metricsRouter = createRouter()
  .openapi(metricsRoute, metricsHandler)
  .openapi(slowQueriesRoute, slowQueriesHandler);
