import { sql } from "drizzle-orm";
import { userActivityStats } from "../../db/schema";
import { statementHandler } from "../../lib/events/handler";
import { nowIso } from "../../lib/time";

const STAT_FIELD = {
  "task.created": "tasksCreated",
  "task.completed": "tasksCompleted",
  "step.completed": "stepsCompleted",
} as const;

/** Running totals per user (Mapper mode reads them): one increment per event, exactly once. */
export const activityStatsHandler = statementHandler(
  "activity-stats",
  Object.keys(STAT_FIELD) as (keyof typeof STAT_FIELD)[],
  (db, event) => {
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
);
