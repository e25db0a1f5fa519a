import { createDatabase } from "../../db";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
import { type Cell, MetricsBuffer, type RequestSample, statusClass } from "./buffer";
import { saveCells } from "./store";

/** Seconds between an isolate's flushes of its counts to the store (`METRICS_FLUSH_SECONDS`). */
const DEFAULT_FLUSH_SECONDS = 60;
/** A flush carries at most about this many cells: a burst over many routes flushes early. */
const MAX_CELLS = 200;

/** This isolate's counts since its last flush. */
const buffer = new MetricsBuffer(Date.now());

function flushEveryMs(env: Env): number {
  const seconds = Number(env.METRICS_FLUSH_SECONDS);
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_FLUSH_SECONDS) * 1000;
}

/**
 * Every request, to Analytics Engine when it is bound (production: one data point per request, read
 * with its SQL API or Grafana), and to this isolate's counts, stored in D1 once a flush is due (the
 * store `GET /api/v1/admin/metrics` and `/status` read, in development and production alike).
 */
export function recordRequest(
  env: Env,
  sample: RequestSample,
  waitUntil: (work: Promise<unknown>) => void,
): void {
  env.METRICS?.writeDataPoint({
    indexes: [sample.route],
    blobs: [sample.route, sample.method, statusClass(sample.status), String(sample.status)],
    doubles: [
      sample.ms,
      sample.costs.statements,
      sample.costs.rowsRead,
      sample.costs.rowsWritten,
      sample.costs.ms,
    ],
  });
  const now = Date.now();
  buffer.add(sample, now);
  if (buffer.due(now, flushEveryMs(env), MAX_CELLS)) waitUntil(flushMetrics(env));
}

/**
 * Stores this isolate's counts now. A flush that fails gives its counts back to the buffer, for the
 * next one to carry.
 */
export async function flushMetrics(env: Env): Promise<void> {
  const cells: Cell[] = buffer.drain(Date.now());
  if (cells.length === 0) return;
  try {
    await saveCells(createDatabase(env.DB), cells);
  } catch (error) {
    buffer.restore(cells, MAX_CELLS * 5);
    console.warn(
      JSON.stringify({ level: "warn", message: "metrics flush failed", error: loggableError(error) }),
    );
  }
}
