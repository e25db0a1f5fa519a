import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db";
import { userActivityStats } from "../db/schema";
import type { EventEnvelope } from "../lib/events";
import { nowIso } from "../lib/time";

/**
 * A consumer of domain events. It returns the D1 statements that carry out its effect; the
 * dispatcher runs them in one batch with the handler's receipt row, so a redelivered event can
 * never apply an effect twice (the receipt's primary key refuses the second batch whole).
 */
export interface EventHandler {
  name: string;
  handles: (type: string) => boolean;
  statements: (db: Database, event: EventEnvelope) => BatchItem<"sqlite">[];
}

const STAT_FIELD = {
  "task.created": "tasksCreated",
  "task.completed": "tasksCompleted",
  "step.completed": "stepsCompleted",
} as const;

/** Running totals per user (Mapper mode reads them): one increment per event, exactly once. */
export const activityStatsHandler: EventHandler = {
  name: "activity-stats",
  handles: (type) => type in STAT_FIELD,
  statements: (db, event) => {
    const field = STAT_FIELD[event.type as keyof typeof STAT_FIELD];
    const now = nowIso();
    return [
      db
        .insert(userActivityStats)
        .values({ userId: event.user_id, [field]: 1, updatedAt: now })
        .onConflictDoUpdate({
          target: userActivityStats.userId,
          set: { [field]: sql`${userActivityStats[field]} + 1`, updatedAt: now },
        }),
    ];
  },
};

export const DEFAULT_HANDLERS: readonly EventHandler[] = [activityStatsHandler];
