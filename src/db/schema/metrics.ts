import { index, integer, real, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * Requests per minute, route template, method and status class, as one isolate saw them between two
 * flushes (src/features/metrics): counts and a latency histogram that add up across rows. The local
 * store of the metrics (Analytics Engine gets every request in production, when bound); no user data.
 */
export const routeMetrics = sqliteTable(
  "route_metrics",
  {
    id: text("id").primaryKey(),
    /** Start of the minute, in whole minutes since the epoch. */
    minute: integer("minute").notNull(),
    route: text("route").notNull(),
    method: text("method").notNull(),
    /** "2xx", "3xx", "4xx" or "5xx". */
    statusClass: text("status_class").notNull(),
    count: integer("count").notNull(),
    totalMs: real("total_ms").notNull(),
    maxMs: real("max_ms").notNull(),
    /** `[[bucket, count], …]` (features/metrics/histogram.ts). */
    histogram: text("histogram").notNull(),
    statements: integer("statements").notNull(),
    rowsRead: integer("rows_read").notNull(),
    rowsWritten: integer("rows_written").notNull(),
  },
  (t) => [index("route_metrics_minute").on(t.minute)],
);

/**
 * D1 statements slower than the threshold (`SLOW_QUERY_MS`): the statement's text with its placeholders
 * (never the values bound), where it ran from, how long D1 took and the rows it read.
 */
export const slowQueries = sqliteTable(
  "slow_queries",
  {
    id: text("id").primaryKey(),
    at: text("at").notNull(),
    route: text("route").notNull(),
    method: text("method").notNull(),
    sql: text("sql").notNull(),
    durationMs: real("duration_ms").notNull(),
    rowsRead: integer("rows_read").notNull(),
    rowsWritten: integer("rows_written").notNull(),
    requestId: text("request_id").notNull(),
  },
  (t) => [index("slow_queries_at").on(t.at)],
);
