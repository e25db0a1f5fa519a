/**
 * Patterns and insights for a user: two D1 round trips (their time zone — with the streak, for
 * insights — then the rollups of the range in every slice), the rest is pure.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import { addDays, type LocalDate, localParts } from "../../lib/time";
import { readRollups } from "../analytics/rollup-queries";
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

/** The last `days` local days of the user's rollups, today included. */
async function historyOf(db: Database, userId: string, days: number, now: number): Promise<History> {
  const owner = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get();
  const timezone = owner?.timezone ?? "UTC";
  const to = localParts(timezone, now).date;
  const from = addDays(to, 1 - days);
  const rows = await readRollups(db, userId, from, to, ["all", "hour", "category", "energy"]);
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
  const rows = await readRollups(db, userId, from, to, ["all", "hour", "category", "energy"]);
  const { patterns } = findPatterns(rows, to);
  const hour = localParts(streak.timezone, now).hour;
  const local = buildInsights({ rows, patterns, today: to, hour, days, streak });
  return { timezone: streak.timezone, range: { from, to }, insights: await writer.write(local) };
}
