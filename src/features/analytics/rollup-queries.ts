/**
 * Reads of the rollups: the only way analytics, patterns, insights and suggestions see a user's history.
 * Each read is one query on the primary key (user, day range), so it stays bounded by the range asked
 * for (at most MAX_RANGE_DAYS days × the slices of a day), never by how much history the user has.
 */
import { and, between, eq, inArray } from "drizzle-orm";
import type { Database } from "../../db";
import { analyticsRollups, type RollupDimension } from "../../db/schema";
import type { LocalDate } from "../../lib/time";

/** The longest range any analytics read covers. */
export const MAX_RANGE_DAYS = 400;

export type RollupRow = typeof analyticsRollups.$inferSelect;

/** The counters of a rollup row, summable. */
export type Counters = Omit<RollupRow, "userId" | "day" | "dim" | "key" | "updatedAt">;

export const ZERO_COUNTERS: Readonly<Counters> = Object.freeze({
  tasksCreated: 0,
  tasksCompleted: 0,
  stepsCompleted: 0,
  xp: 0,
  focusSeconds: 0,
  focusSessions: 0,
  focusCompleted: 0,
  interruptions: 0,
  energyLow: 0,
  energyMedium: 0,
  energyHigh: 0,
  timedTasks: 0,
  estimatedMinutes: 0,
  actualMinutes: 0,
  onTimeTasks: 0,
});

const COUNTER_KEYS = Object.keys(ZERO_COUNTERS) as (keyof Counters)[];

/** The sum of rows' counters (a week, a month, a slice across days). */
export function sumCounters(rows: readonly Counters[]): Counters {
  const total: Counters = { ...ZERO_COUNTERS };
  for (const row of rows) for (const k of COUNTER_KEYS) total[k] += row[k];
  return total;
}

/** A user's rollup rows from `from` to `to` (local dates, inclusive), of the given slices. */
export async function readRollups(
  db: Database,
  userId: string,
  from: LocalDate,
  to: LocalDate,
  dims: readonly RollupDimension[] = ["all"],
): Promise<RollupRow[]> {
  return rollupsQuery(db, userId, from, to, dims).all();
}

/** The query of `readRollups`, to run in a `db.batch` with other reads (one round trip for all). */
export function rollupsQuery(
  db: Database,
  userId: string,
  from: LocalDate,
  to: LocalDate,
  dims: readonly RollupDimension[] = ["all"],
) {
  return db
    .select()
    .from(analyticsRollups)
    .where(
      and(
        eq(analyticsRollups.userId, userId),
        between(analyticsRollups.day, from, to),
        inArray(analyticsRollups.dim, [...dims]),
      ),
    );
}
