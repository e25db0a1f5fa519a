/** The gamification tables' shared statement builders, used by the event handler and the service. */
import { and, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { bonusEvents, type gamificationStats } from "../../db/schema";
import type { BadgeMetric } from "./badges";

type StatsRow = typeof gamificationStats.$inferSelect;

/** The counters of gamification_stats: badge metric → SQL column and row field. */
export const COUNTERS = {
  steps_completed: { column: "steps_completed", field: "stepsCompleted" },
  tasks_completed: { column: "tasks_completed", field: "tasksCompleted" },
  focus_sessions: { column: "focus_sessions", field: "focusSessions" },
  long_focus_sessions: { column: "long_focus_sessions", field: "longFocusSessions" },
  morning_steps: { column: "morning_steps", field: "morningSteps" },
  night_steps: { column: "night_steps", field: "nightSteps" },
  quick_wins: { column: "quick_wins", field: "quickWins" },
  challenges_completed: { column: "challenges_completed", field: "challengesCompleted" },
  pet_feeds: { column: "pet_feeds", field: "petFeeds" },
} as const satisfies Partial<Record<BadgeMetric, { column: string; field: keyof StatsRow }>>;
export type CounterMetric = keyof typeof COUNTERS;

/** The user's counters from their stats row (all zero without one). */
export function countersOf(row: StatsRow | undefined): Record<CounterMetric, number> {
  const out = {} as Record<CounterMetric, number>;
  for (const [metric, { field }] of Object.entries(COUNTERS) as [
    CounterMetric,
    { field: keyof StatsRow },
  ][]) {
    const value = row?.[field];
    out[metric] = typeof value === "number" ? value : 0;
  }
  return out;
}

/** Bonus windows, not cancelled, that overlap [from, to] (a moment when from = to). */
export function bonusWindowsQuery(db: Database, from: string, to: string) {
  return db
    .select()
    .from(bonusEvents)
    .where(
      and(
        sql`${bonusEvents.cancelledAt} IS NULL`,
        sql`${bonusEvents.startsAt} <= ${to}`,
        sql`${bonusEvents.endsAt} > ${from}`,
      ),
    );
}
