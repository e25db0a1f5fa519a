import { env } from "cloudflare:workers";
import type {
  DashboardDto,
  EnergyCheckinDto,
  TimelineDto,
  TimeTrackingDto,
} from "../../src/features/analytics/schemas";
import { callJson, createUser, type TestUser } from "./api";
import { actingThroughApiToken } from "./auth";

export type Dashboard = DashboardDto;
export type Timeline = TimelineDto;
export type TimeTracking = TimeTrackingDto;
export type EnergyCheckin = EnergyCheckinDto;

/**
 * A user acting through an API token that can do what analytics counts (tasks, focus, check-ins)
 * and read it back; a token, unlike a JWT, outlives a clock a test moves.
 */
export async function analyticsUser(timezone?: string): Promise<TestUser> {
  const user = await createUser(timezone ? { timezone } : {});
  return actingThroughApiToken(user, "analytics tests", [
    "tasks:read",
    "tasks:write",
    "focus:read",
    "focus:write",
    "gamification:read",
    "analytics:read",
    "analytics:write",
  ]);
}

export function logEnergy(
  user: TestUser,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<EnergyCheckin> {
  return callJson<EnergyCheckin>("/api/v1/analytics/energy", 201, { token: user.token, body, headers });
}

export function dashboardOf(user: TestUser): Promise<Dashboard> {
  return callJson<Dashboard>("/api/v1/analytics/dashboard", 200, { token: user.token });
}

export function timelineOf(user: TestUser, query = ""): Promise<Timeline> {
  return callJson<Timeline>(`/api/v1/analytics/timeline${query}`, 200, { token: user.token });
}

export function timeTrackingOf(user: TestUser, query = ""): Promise<TimeTracking> {
  return callJson<TimeTracking>(`/api/v1/analytics/time-tracking${query}`, 200, { token: user.token });
}

export interface StoredRollup {
  day: string;
  dim: string;
  key: string;
  tasks_created: number;
  tasks_completed: number;
  steps_completed: number;
  xp: number;
  focus_seconds: number;
  focus_sessions: number;
  focus_completed: number;
  interruptions: number;
  energy_low: number;
  energy_medium: number;
  energy_high: number;
  timed_tasks: number;
  estimated_minutes: number;
  actual_minutes: number;
  on_time_tasks: number;
}

/** The user's rollup rows as stored, by day, slice and key. */
export async function storedRollups(userId: string): Promise<StoredRollup[]> {
  const { results } = await env.DB.prepare(
    "SELECT * FROM analytics_rollups WHERE user_id = ? ORDER BY day, dim, key",
  )
    .bind(userId)
    .all<StoredRollup>();
  return results;
}

/** One stored slice of one day (undefined when it was never written). */
export async function storedSlice(userId: string, day: string, dim: string, key = "") {
  return (await storedRollups(userId)).find((r) => r.day === day && r.dim === dim && r.key === key);
}

export interface StoredTaskTime {
  task_id: string;
  category: string | null;
  estimated_minutes: number | null;
  steps_completed: number;
  step_minutes: number;
  focus_seconds: number;
  focus_sessions: number;
  reported_minutes: number | null;
  completed_at: string | null;
}

export function storedTaskTime(userId: string, taskId: string) {
  return env.DB.prepare("SELECT * FROM analytics_task_times WHERE user_id = ? AND task_id = ?")
    .bind(userId, taskId)
    .first<StoredTaskTime>();
}
