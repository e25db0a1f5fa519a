/**
 * After a restore moved its rows in, the account's counters, longest streak and badges are brought
 * within what its rows show, by the gamification feature's own definitions (BADGES: a badge is held
 * when its metric reaches its threshold). A file says what it likes about its counters (steps
 * completed, focus sessions…), its longest streak and its badges — all of which show on a public
 * profile and a share card — so each is capped by the rows that back it:
 * - a counter by the rows it counts (completed steps, completed tasks, focus sessions, long ones,
 *   completed challenges, the pet's feeds);
 * - the longest streak by the days between the first and the last active day;
 * - a badge is dropped when its metric, so capped, no longer reaches its threshold.
 * An account's own figures are within these bounds already: only a file's claims beyond them change.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../../db";
import { rawStatement } from "../../../lib/batch";
import { BADGES, LONG_FOCUS_MINUTES } from "../../gamification/badges";

const BADGE_RULES = JSON.stringify(
  BADGES.map((b) => ({ id: b.id, metric: b.metric, threshold: b.threshold })),
);

export function standingStatements(db: Database, userId: string): BatchItem<"sqlite">[] {
  const completedSteps = sql`(SELECT count(*) FROM micro_steps WHERE user_id = ${userId} AND status = 'completed')`;
  const completedTasks = sql`(SELECT count(*) FROM tasks WHERE user_id = ${userId} AND status = 'completed')`;
  const sessions = sql`(SELECT count(*) FROM focus_sessions WHERE user_id = ${userId})`;
  const longSessions = sql`(SELECT count(*) FROM focus_sessions WHERE user_id = ${userId} AND actual_seconds >= ${LONG_FOCUS_MINUTES * 60})`;
  const challenges = sql`(SELECT count(*) FROM challenge_progress WHERE user_id = ${userId} AND completed_at IS NOT NULL)`;
  const feeds = sql`(SELECT count(*) FROM pet_interactions WHERE user_id = ${userId} AND kind = 'feed')`;
  const stat = (column: string) =>
    sql`coalesce((SELECT ${sql.raw(column)} FROM gamification_stats WHERE user_id = ${userId}), 0)`;
  const progress = (column: string) =>
    sql`coalesce((SELECT ${sql.raw(column)} FROM user_progress WHERE user_id = ${userId}), 0)`;
  return [
    rawStatement(
      db,
      sql`UPDATE gamification_stats SET
        steps_completed = min(steps_completed, ${completedSteps}),
        morning_steps = min(morning_steps, ${completedSteps}),
        night_steps = min(night_steps, ${completedSteps}),
        tasks_completed = min(tasks_completed, ${completedTasks}),
        quick_wins = min(quick_wins, ${completedTasks}),
        focus_sessions = min(focus_sessions, ${sessions}),
        long_focus_sessions = min(long_focus_sessions, ${longSessions}),
        challenges_completed = min(challenges_completed, ${challenges}),
        pet_feeds = min(pet_feeds, ${feeds})
      WHERE user_id = ${userId}`,
    ),
    rawStatement(
      db,
      sql`UPDATE user_progress SET longest_streak = min(longest_streak, coalesce(
          (SELECT CAST(julianday(max(day)) - julianday(min(day)) + 1 AS INTEGER) FROM activity_days WHERE user_id = ${userId}), 0))
        WHERE user_id = ${userId}`,
    ),
    rawStatement(
      db,
      sql`DELETE FROM user_badges WHERE user_id = ${userId} AND badge_id NOT IN (
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
          WHEN 'longest_streak' THEN ${progress("longest_streak")}
          WHEN 'level' THEN ${progress("level")}
          ELSE 0 END)`,
    ),
  ];
}
