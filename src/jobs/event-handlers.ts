import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db";
import { userActivityStats } from "../db/schema";
import type { Env } from "../env";
import { gamificationHandler } from "../features/gamification/event-handler";
import { petCareHandler } from "../features/pets/event-handler";
import type { EventEnvelope } from "../lib/events";
import { nowIso } from "../lib/time";

/** What a handler does for one event: D1 statements, and the ids of any events they may write. */
export interface HandlerEffects {
  statements: BatchItem<"sqlite">[];
  /** Events the statements write when their guards hold; the dispatcher publishes those written. */
  emits?: string[];
}

/**
 * A consumer of domain events. `prepare` reads what the handler needs for a whole delivery at once
 * (at most one round trip; none for most handlers) and returns the builder of each event's effects.
 * The dispatcher runs those statements in one batch with the handler's receipt row, so a redelivered
 * event can never apply an effect twice (the receipt's primary key refuses the second batch whole).
 * `after` runs once the batch committed, for effects outside D1; it must be idempotent, because a
 * redelivery runs it again.
 */
export interface EventHandler {
  name: string;
  handles: (type: string) => boolean;
  /** D1 effects, written with a receipt so they happen once. Absent for handlers that only act `after`. */
  prepare?: (
    db: Database,
    events: readonly EventEnvelope[],
  ) => Promise<(event: EventEnvelope) => HandlerEffects>;
  after?: (env: Env, events: readonly EventEnvelope[]) => Promise<void>;
}

/** A handler that needs no reads: its statements come from the event alone. */
export function statementHandler(
  name: string,
  handles: (type: string) => boolean,
  statements: (db: Database, event: EventEnvelope) => BatchItem<"sqlite">[],
): EventHandler {
  return { name, handles, prepare: async (db) => (event) => ({ statements: statements(db, event) }) };
}

const STAT_FIELD = {
  "task.created": "tasksCreated",
  "task.completed": "tasksCompleted",
  "step.completed": "stepsCompleted",
} as const;

/** Running totals per user (Mapper mode reads them): one increment per event, exactly once. */
export const activityStatsHandler = statementHandler(
  "activity-stats",
  (type) => type in STAT_FIELD,
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

/** Every handler of the events queue, in the order their statements run within a delivery. */
export const DEFAULT_HANDLERS: readonly EventHandler[] = [
  activityStatsHandler,
  gamificationHandler,
  petCareHandler,
];
