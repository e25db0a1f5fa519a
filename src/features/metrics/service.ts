import type { Database } from "../../db";
import type { Env } from "../../env";
import { flushMetrics } from "./recorder";
import { cellsSince, slowQueriesSince } from "./store";
import { type MetricsSummary, summarize, WINDOWS, type WindowName } from "./summary";

export interface WindowBounds {
  fromMinute: number;
  from: string;
  to: string;
}

export function windowBounds(window: WindowName, now = Date.now()): WindowBounds {
  const fromMinute = Math.floor(now / 60_000) - WINDOWS[window] + 1;
  return { fromMinute, from: new Date(fromMinute * 60_000).toISOString(), to: new Date(now).toISOString() };
}

/** The window's metrics, this isolate's latest counts stored first so they are in it. */
export async function metricsFor(
  env: Env,
  db: Database,
  window: WindowName,
): Promise<MetricsSummary & { from: string; to: string }> {
  await flushMetrics(env);
  const { fromMinute, from, to } = windowBounds(window);
  return { from, to, ...summarize(await cellsSince(db, fromMinute)) };
}

export async function slowQueriesFor(db: Database, window: WindowName, limit: number) {
  const rows = await slowQueriesSince(db, windowBounds(window).from, limit);
  return rows.map((row) => ({
    at: row.at,
    route: row.route,
    method: row.method,
    sql: row.sql,
    duration_ms: row.durationMs,
    rows_read: row.rowsRead,
    rows_written: row.rowsWritten,
    request_id: row.requestId,
  }));
}
