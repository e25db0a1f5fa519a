import { z } from "@hono/zod-openapi";
import { WINDOWS, type WindowName } from "./summary";

const WINDOW_NAMES = Object.keys(WINDOWS) as [WindowName, ...WindowName[]];

export const WindowQuerySchema = z.object({
  window: z
    .enum(WINDOW_NAMES)
    .default("1h")
    .openapi({ description: "How far back to look, up to now", example: "1h" }),
});

const latency = {
  p50_ms: z.number(),
  p95_ms: z.number(),
  p99_ms: z.number(),
  mean_ms: z.number(),
  max_ms: z.number(),
};

export const RouteMetricsSchema = z
  .object({
    route: z.string().openapi({ description: "The route's template, as the OpenAPI document writes it" }),
    method: z.string(),
    requests: z.number().int(),
    errors: z.number().int().openapi({ description: "Answers 5xx" }),
    error_rate: z.number().openapi({ description: "errors / requests" }),
    client_errors: z.number().int().openapi({ description: "Answers 4xx" }),
    ...latency,
    d1_statements_per_request: z.number(),
    rows_read_per_request: z.number(),
    rows_written_per_request: z.number(),
  })
  .openapi("RouteMetrics");

export const MetricsSchema = z
  .object({
    window: z.enum(WINDOW_NAMES),
    from: z.string().openapi({ description: "Start of the first minute counted" }),
    to: z.string(),
    requests: z.number().int(),
    errors: z.number().int(),
    error_rate: z.number(),
    client_errors: z.number().int(),
    ...latency,
    routes: z.array(RouteMetricsSchema).openapi({ description: "Busiest first" }),
    slowest: z.array(RouteMetricsSchema).openapi({ description: "Highest p99 first, at most 5" }),
  })
  .openapi("Metrics");

export const SlowQuerySchema = z
  .object({
    at: z.string(),
    route: z.string(),
    method: z.string(),
    sql: z.string().openapi({ description: "The statement with its placeholders; values are never kept" }),
    duration_ms: z.number(),
    rows_read: z.number().int(),
    rows_written: z.number().int(),
    request_id: z.string(),
  })
  .openapi("SlowQuery");

export const SlowQueriesQuerySchema = WindowQuerySchema.extend({
  limit: z.coerce.number().int().min(1).max(100).default(50),
});
