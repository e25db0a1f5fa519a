/**
 * Patterns and insights for a user: two D1 round trips (their time zone — with the streak, for
 * insights — then the rollups of the range: day totals, and the other slices summed in SQL), the rest
 * is pure.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import { addDays, type LocalDate, localParts } from "../../lib/time";
import { rollupAggregatesQuery, rollupsQuery } from "../analytics/rollup-queries";
import { streakFor } from "../gamification/service";
import type { InsightWriter } from "./insight-writer";
import { buildInsights } from "./insights";
import {
  findPatterns,
  MARGIN,
  MIN_CONFIDENCE,
  MIN_SAMPLES,
  type RollupInput,
  STATISTIC,
  STATISTIC_DEFINITION,
} from "./patterns";
import type { InsightsDto, PatternsDto } from "./schemas";

interface History {
  timezone: string;
  from: LocalDate;
  to: LocalDate;
  rows: RollupInput[];
}

/**
 * What patterns and insights read of the rollups, in one round trip whatever the range: the day
 * totals (one row a day: weekdays and active days need the days), the hour, category and energy slices
 * summed over the range in SQL (a few hundred rows instead of one per slice a day), and, apart, the
 * hour slices of one day when a day must be cut at this time of day (the same weekday last week) — apart,
 * because the sums already hold that day's hours once.
 */
async function rollupsOf(
  db: Database,
  userId: string,
  range: { from: LocalDate; to: LocalDate },
  hoursOf: LocalDate | undefined,
): Promise<{ rows: RollupInput[]; dayHours: RollupInput[] }> {
  const [days, slices, hours] = await db.batch([
    rollupsQuery(db, userId, range.from, range.to, ["all"]),
    rollupAggregatesQuery(db, userId, range.from, range.to, ["hour", "category", "energy"]),
    rollupsQuery(db, userId, hoursOf ?? "", hoursOf ?? "", hoursOf ? ["hour"] : []),
  ]);
  // A slice summed over the range belongs to no single day: SUMMED_DAY matches no date, so nothing
  // that looks a day up ever mistakes it for one.
  const summed = slices.map(({ weekday: _weekday, days: _days, ...row }) => ({ ...row, day: SUMMED_DAY }));
  return { rows: [...days, ...summed], dayHours: hours };
}

/** The `day` of a slice summed over a whole range (see `rollupsOf`). */
export const SUMMED_DAY = "range";

/** The last `days` local days of the user's rollups, today included. */
async function historyOf(db: Database, userId: string, days: number, now: number): Promise<History> {
  const owner = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get();
  const timezone = owner?.timezone ?? "UTC";
  const to = localParts(timezone, now).date;
  const from = addDays(to, 1 - days);
  const { rows } = await rollupsOf(db, userId, { from, to }, undefined);
  return { timezone, from, to, rows };
}

export async function patternsFor(
  db: Database,
  userId: string,
  days: number,
  now = Date.now(),
): Promise<PatternsDto> {
  const { timezone, from, to, rows } = await historyOf(db, userId, days, now);
  const report = findPatterns(rows, to);
  return {
    timezone,
    range: { from, to },
    statistic: STATISTIC,
    definition: STATISTIC_DEFINITION,
    min_confidence: MIN_CONFIDENCE,
    min_samples: MIN_SAMPLES,
    margin: MARGIN,
    examined: report.examined,
    patterns: report.patterns,
  };
}

/**
 * Insights: the streak (gamification's own answer, which also names the time zone and today), then
 * the rollups of the range. Two round trips, like patterns.
 */
export async function insightsFor(
  db: Database,
  userId: string,
  days: number,
  writer: InsightWriter,
  now = Date.now(),
): Promise<InsightsDto> {
  const streak = await streakFor(db, userId, now);
  const to = streak.today;
  const from = addDays(to, 1 - days);
  // Last week's same day, cut at this hour, is what "so far this week" is compared with.
  const { rows, dayHours } = await rollupsOf(db, userId, { from, to }, addDays(to, -7));
  const { patterns } = findPatterns(rows, to);
  const hour = localParts(streak.timezone, now).hour;
  const local = buildInsights({ rows, dayHours, patterns, today: to, hour, days, streak });
  return { timezone: streak.timezone, range: { from, to }, insights: await writer.write(local) };
}
