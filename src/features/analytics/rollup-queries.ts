/**
 * Reads of the rollups: the only way analytics, patterns, insights and suggestions see a user's history.
 * Each read is one query on the primary key (user, day range), so it stays bounded by the range asked
 * for (at most MAX_RANGE_DAYS days × the slices of a day), never by how much history the user has;
 * the aggregate read sums in SQL, so what comes back is bounded by the slices alone (× 7 weekdays).
 */
import { and, asc, between, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { analyticsRollups, ROLLUP_DIMENSIONS, type RollupDimension } from "../../db/schema";
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

/**
 * A slice of the user's rollups summed, in SQL, over the days of a range that fall on one weekday:
 * what patterns and insights compare, in a few hundred rows (slices × 7) however long the range.
 */
export interface RollupAggregate extends Counters {
  dim: RollupDimension;
  key: string;
  /** The ISO weekday of the days summed: 1 = Monday … 7 = Sunday (as `weekdayOf` in ranges.ts). */
  weekday: number;
  /** How many of those days have a row in this slice (a day with nothing in it has none). */
  days: number;
}

/** SQLite's `%w` counts from Sunday = 0; shifted to ISO weekdays. */
const ISO_WEEKDAY = sql<number>`((CAST(strftime('%w', ${analyticsRollups.day}) AS INTEGER) + 6) % 7) + 1`;

const SUMMED = Object.fromEntries(
  COUNTER_KEYS.map((k) => [k, sql<number>`SUM(${analyticsRollups[k]})`.mapWith(Number)]),
) as { [K in keyof Counters]: SQL<number> };

/** A user's rollups from `from` to `to` (inclusive) of the given slices, summed per slice and weekday. */
export async function readRollupAggregates(
  db: Database,
  userId: string,
  from: LocalDate,
  to: LocalDate,
  dims: readonly RollupDimension[] = ROLLUP_DIMENSIONS,
): Promise<RollupAggregate[]> {
  return rollupAggregatesQuery(db, userId, from, to, dims).all();
}

/** The query of `readRollupAggregates`, to run in a `db.batch` with other reads. Ordered by slice, then weekday. */
export function rollupAggregatesQuery(
  db: Database,
  userId: string,
  from: LocalDate,
  to: LocalDate,
  dims: readonly RollupDimension[] = ROLLUP_DIMENSIONS,
) {
  return db
    .select({
      dim: analyticsRollups.dim,
      key: analyticsRollups.key,
      weekday: sql<number>`${ISO_WEEKDAY}`.mapWith(Number).as("weekday"),
      days: sql<number>`COUNT(*)`.mapWith(Number),
      ...SUMMED,
    })
    .from(analyticsRollups)
    .where(
      and(
        eq(analyticsRollups.userId, userId),
        between(analyticsRollups.day, from, to),
        inArray(analyticsRollups.dim, [...dims]),
      ),
    )
    .groupBy(analyticsRollups.dim, analyticsRollups.key, ISO_WEEKDAY)
    .orderBy(asc(analyticsRollups.dim), asc(analyticsRollups.key), ISO_WEEKDAY);
}

/** The first day of the week (Monday) or month a day falls in, in SQL (as `bucketStartOf` in ranges.ts). */
const BUCKET_START = {
  week: sql<string>`date(${analyticsRollups.day}, '-' || ((CAST(strftime('%w', ${analyticsRollups.day}) AS INTEGER) + 6) % 7) || ' days')`,
  month: sql<string>`substr(${analyticsRollups.day}, 1, 7) || '-01'`,
} as const;

/** Day totals summed per week or month: a year's timeline in 53 (or 13) rows instead of 365. */
export interface BucketTotal extends Counters {
  /** The bucket's first calendar day (a Monday, the 1st). */
  startsOn: LocalDate;
}

/** The day totals from `from` to `to` (inclusive) summed per week or month, to run in a `db.batch`. */
export function bucketTotalsQuery(
  db: Database,
  userId: string,
  from: LocalDate,
  to: LocalDate,
  bucket: keyof typeof BUCKET_START,
) {
  const start = BUCKET_START[bucket];
  return db
    .select({ startsOn: sql<string>`${start}`.as("starts_on"), ...SUMMED })
    .from(analyticsRollups)
    .where(
      and(
        eq(analyticsRollups.userId, userId),
        between(analyticsRollups.day, from, to),
        eq(analyticsRollups.dim, "all"),
      ),
    )
    .groupBy(start);
}
