import { env } from "cloudflare:workers";
import type { RollupInput } from "../../src/features/insights/patterns";
import type { InsightsDto, PatternsDto } from "../../src/features/insights/schemas";
import { localParts } from "../../src/lib/time";
import { callJson, type TestUser } from "./api";

export type Patterns = PatternsDto;
export type Insights = InsightsDto;

const COLUMNS = [
  "user_id",
  "day",
  "dim",
  "key",
  "tasks_created",
  "tasks_completed",
  "steps_completed",
  "xp",
  "focus_seconds",
  "focus_sessions",
  "focus_completed",
  "interruptions",
  "energy_low",
  "energy_medium",
  "energy_high",
  "timed_tasks",
  "estimated_minutes",
  "actual_minutes",
  "on_time_tasks",
  "updated_at",
] as const;

const INSERT = `INSERT INTO analytics_rollups (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map(() => "?").join(", ")})`;

/**
 * Writes rollup rows for a user straight into D1: the rows are the input of patterns and insights
 * (the analytics event handler keeps them in production), so tests set them as a history would.
 */
export async function seedRollups(userId: string, rows: readonly RollupInput[]): Promise<void> {
  const now = new Date().toISOString();
  const statements = rows.map((r) =>
    env.DB.prepare(INSERT).bind(
      userId,
      r.day,
      r.dim,
      r.key,
      r.tasksCreated,
      r.tasksCompleted,
      r.stepsCompleted,
      r.xp,
      r.focusSeconds,
      r.focusSessions,
      r.focusCompleted,
      r.interruptions,
      r.energyLow,
      r.energyMedium,
      r.energyHigh,
      r.timedTasks,
      r.estimatedMinutes,
      r.actualMinutes,
      r.onTimeTasks,
      now,
    ),
  );
  for (let i = 0; i < statements.length; i += 200) await env.DB.batch(statements.slice(i, i + 200));
}

/**
 * The user's local today, as the server will see it provided the clock is frozen (freezeClock) for
 * the test: on a running clock a request may land after a local midnight this was computed before.
 */
export const localToday = (timezone = "UTC") => localParts(timezone, Date.now()).date;

export function getPatterns(user: TestUser, query = ""): Promise<Patterns> {
  return callJson<Patterns>(`/api/v1/analytics/patterns${query}`, 200, { token: user.token });
}

export function getInsights(user: TestUser, query = ""): Promise<Insights> {
  return callJson<Insights>(`/api/v1/analytics/insights${query}`, 200, { token: user.token });
}
