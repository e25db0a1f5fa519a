/**
 * Before a restore's rows move to the account, what the FILE says about its counters, longest streak
 * and badges is brought within the evidence behind them, by the gamification feature's own definitions
 * (BADGES: a badge is held when its metric reaches its threshold). Only the staged rows are changed
 * (review2 M3): the account's own counters and badges are never touched, whatever its rows show now.
 *
 * Evidence that never goes down (a counter counts first completions, and a reopened task keeps its
 * count), taken from the restore's and the account's rows together:
 * - steps, tasks, focus sessions, challenges: the ledger rows that paid for them (step:, task:, focus:,
 *   challenge: keys, each bounded by its rule and backed by its work: ledger.ts, reveal.ts) — XP is
 *   never taken back, so these only grow;
 * - pet feeds: the feed interactions;
 * - the longest streak: the days between the first and the last active day;
 * - a staged badge is dropped when its metric, so capped (the higher of the file's and the account's),
 *   does not reach its threshold; a level badge by the level of the ledger's sum.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../../db";
import { rawStatement } from "../../../lib/batch";
import { BADGES } from "../../gamification/badges";
import { LEVEL_THRESHOLDS } from "../../gamification/levels";

const BADGE_RULES = JSON.stringify(
  BADGES.map((b) => ({ id: b.id, metric: b.metric, threshold: b.threshold })),
);

export function standingStatements(db: Database, userId: string, staging: string): BatchItem<"sqlite">[] {
  const owners = sql`(${staging}, ${userId})`;
  const paid = (prefix: string) =>
    sql`(SELECT count(*) FROM xp_ledger WHERE user_id IN ${owners} AND source_key LIKE ${`${prefix}:%`})`;
  const feeds = sql`(SELECT count(*) FROM pet_interactions WHERE user_id IN ${owners} AND kind = 'feed')`;
  const span = sql`coalesce((SELECT CAST(julianday(max(day)) - julianday(min(day)) + 1 AS INTEGER) FROM activity_days WHERE user_id IN ${owners}), 0)`;
  const level = sql`(SELECT count(*) FROM json_each(${JSON.stringify(LEVEL_THRESHOLDS)})
    WHERE value <= (SELECT total(amount) FROM xp_ledger WHERE user_id IN ${owners}))`;
  const stat = (column: string) =>
    sql`max(coalesce((SELECT ${sql.raw(column)} FROM gamification_stats WHERE user_id = ${staging}), 0),
      coalesce((SELECT ${sql.raw(column)} FROM gamification_stats WHERE user_id = ${userId}), 0))`;
  const streak = sql`max(coalesce((SELECT longest_streak FROM user_progress WHERE user_id = ${staging}), 0),
    coalesce((SELECT longest_streak FROM user_progress WHERE user_id = ${userId}), 0))`;
  return [
    rawStatement(
      db,
      sql`UPDATE gamification_stats SET
        steps_completed = min(steps_completed, ${paid("step")}),
        morning_steps = min(morning_steps, ${paid("step")}),
        night_steps = min(night_steps, ${paid("step")}),
        tasks_completed = min(tasks_completed, ${paid("task")}),
        quick_wins = min(quick_wins, ${paid("task")}),
        focus_sessions = min(focus_sessions, ${paid("focus")}),
        long_focus_sessions = min(long_focus_sessions, ${paid("focus")}),
        challenges_completed = min(challenges_completed, ${paid("challenge")}),
        pet_feeds = min(pet_feeds, ${feeds})
      WHERE user_id = ${staging}`,
    ),
    rawStatement(
      db,
      sql`UPDATE user_progress SET longest_streak = min(longest_streak, ${span}) WHERE user_id = ${staging}`,
    ),
    rawStatement(
      db,
      sql`DELETE FROM user_badges WHERE user_id = ${staging} AND badge_id NOT IN (
        SELECT json_extract(value, '$.id') FROM json_each(${BADGE_RULES})
        WHERE json_extract(value, '$.threshold') <= CASE json_extract(value, '$.metric')
          WHEN 'steps_completed' THEN ${stat("steps_completed")}
          WHEN 'tasks_completed' THEN ${stat("tasks_completed")}
          WHEN 'focus_sessions' THEN ${stat("focus_sessions")}
          WHEN 'long_focus_sessions' THEN ${stat("long_focus_sessions")}
          WHEN 'morning_steps' THEN ${stat("morning_steps")}
          WHEN 'night_steps' THEN ${stat("night_steps")}
          WHEN 'quick_wins' THEN ${stat("quick_wins")}
          WHEN 'challenges_completed' THEN ${stat("challenges_completed")}
          WHEN 'pet_feeds' THEN ${stat("pet_feeds")}
          WHEN 'longest_streak' THEN ${streak}
          WHEN 'level' THEN ${level}
          ELSE 0 END)`,
    ),
  ];
}
