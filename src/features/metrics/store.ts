import { desc, gte, inArray, lt } from "drizzle-orm";
import type { Database } from "../../db";
import { routeMetrics, slowQueries } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { chunkRows } from "../../lib/chunk";
import { newId } from "../../lib/ids";
import type { Cell } from "./buffer";
import { decode, encode } from "./histogram";

const METRIC_COLUMNS = 12;
const SLOW_COLUMNS = 9;

/** Stores cells in one batch (one round trip), in chunks under D1's bound-parameter limit. */
export async function saveCells(db: Database, cells: Cell[]): Promise<void> {
  const rows = cells.map((cell) => ({
    id: newId(),
    minute: cell.minute,
    route: cell.route,
    method: cell.method,
    statusClass: cell.statusClass,
    count: cell.count,
    totalMs: cell.totalMs,
    maxMs: cell.maxMs,
    histogram: encode(cell.histogram),
    statements: cell.statements,
    rowsRead: cell.rowsRead,
    rowsWritten: cell.rowsWritten,
  }));
  const batch = new D1Batch();
  for (const chunk of chunkRows(rows, METRIC_COLUMNS)) batch.add(db.insert(routeMetrics).values(chunk));
  await batch.run(db);
}

/** Every stored cell from `fromMinute` on, histograms decoded. */
export async function cellsSince(db: Database, fromMinute: number): Promise<Cell[]> {
  const rows = await db.select().from(routeMetrics).where(gte(routeMetrics.minute, fromMinute));
  return rows.map(({ id: _id, histogram, ...cell }) => ({ ...cell, histogram: decode(histogram) }));
}

export interface SlowQueryRow {
  at: string;
  route: string;
  method: string;
  sql: string;
  durationMs: number;
  rowsRead: number;
  rowsWritten: number;
  requestId: string;
}

export async function saveSlowQueries(db: Database, list: SlowQueryRow[]): Promise<void> {
  const batch = new D1Batch();
  for (const chunk of chunkRows(list, SLOW_COLUMNS))
    batch.add(db.insert(slowQueries).values(chunk.map((row) => ({ id: newId(), ...row }))));
  await batch.run(db);
}

/** The slowest statements logged since `since`, slowest first. */
export function slowQueriesSince(db: Database, since: string, limit: number) {
  return db
    .select()
    .from(slowQueries)
    .where(gte(slowQueries.at, since))
    .orderBy(desc(slowQueries.durationMs), desc(slowQueries.at))
    .limit(limit);
}

/** How long per-route counts and slow statements are kept. */
export const METRICS_RETENTION_MS = 7 * 24 * 3_600_000;
/**
 * Rows of each kind forgotten per housekeeping run (every 5 minutes): 120,000 an hour, more than a
 * hundred isolates each writing a row a minute for twenty routes add; bounded work per run all the same.
 */
export const METRICS_SWEEP = 10_000;

/** The housekeeping cron's deletes of what is past the retention (two statements for its batch). */
export function metricsPruning(db: Database, now: number) {
  const cutoffMinute = Math.floor((now - METRICS_RETENTION_MS) / 60_000);
  const cutoffIso = new Date(now - METRICS_RETENTION_MS).toISOString();
  return [
    db
      .delete(routeMetrics)
      .where(
        inArray(
          routeMetrics.id,
          db
            .select({ id: routeMetrics.id })
            .from(routeMetrics)
            .where(lt(routeMetrics.minute, cutoffMinute))
            .limit(METRICS_SWEEP),
        ),
      ),
    db
      .delete(slowQueries)
      .where(
        inArray(
          slowQueries.id,
          db
            .select({ id: slowQueries.id })
            .from(slowQueries)
            .where(lt(slowQueries.at, cutoffIso))
            .limit(METRICS_SWEEP),
        ),
      ),
  ] as const;
}
