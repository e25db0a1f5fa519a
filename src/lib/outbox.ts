import { and, eq, SQL, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../db";
import { events } from "../db/schema";
import type { Env } from "../env";
import type { EventEnvelope } from "./events";
import { newId } from "./ids";
import { nowIso } from "./time";

export function newEvent(
  type: string,
  userId: string,
  data: Record<string, unknown>,
  now = Date.now(),
): EventEnvelope {
  return { id: newId(now), type, user_id: userId, occurred_at: nowIso(now), data };
}

/** The outbox row for `event`, to put in the same batch as the change it records. */
export function insertEvent(db: Database, event: EventEnvelope) {
  return db
    .insert(events)
    .values({
      id: event.id,
      userId: event.user_id,
      type: event.type,
      data: event.data,
      occurredAt: event.occurred_at,
    })
    .returning();
}

/**
 * The outbox row for `event`, written only if the statement just before it in the batch changed a
 * row (SQLite's `changes()`), e.g. the conditional update that moved a step to completed. A retried
 * or concurrent request whose update matched nothing therefore records no second event.
 */
export function insertEventIfChanged(
  db: Database,
  event: Omit<EventEnvelope, "data" | "occurred_at"> & {
    data: Record<string, unknown> | SQL;
    /** A time, or SQL reading it from what the batch just wrote (e.g. the task's completed_at). */
    occurred_at: string | SQL;
  },
  anchor: { table: SQLiteTable; id: SQLiteColumn; value: string },
) {
  // `data` may be a json_object(...) over the anchor row, so the event carries the row as stored.
  const data = event.data instanceof SQL ? event.data : JSON.stringify(event.data);
  const literal = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  return db
    .insert(events)
    .select(
      db
        .select({
          id: literal<string>(event.id, "id"),
          userId: literal<string>(event.user_id, "user_id"),
          type: literal<string>(event.type, "type"),
          data: sql<string>`${data}`.as("data"),
          occurredAt: literal<string>(event.occurred_at, "occurred_at"),
          sendAttempts: literal<number>(0, "send_attempts"),
          lastSentAt: sql<string | null>`NULL`.as("last_sent_at"),
          deliveredAt: sql<string | null>`NULL`.as("delivered_at"),
        })
        .from(anchor.table)
        .where(and(eq(anchor.id, anchor.value), sql`changes() = 1`)),
    )
    .returning();
}

/**
 * Sends recorded events to the queue. Called after the batch commits; if sending fails the outbox
 * row stays undelivered and the reconciler sends it later, so nothing is lost.
 */
export async function publishEvents(env: Env, recorded: EventEnvelope[]): Promise<void> {
  if (recorded.length === 0) return;
  try {
    await env.EVENTS_QUEUE.sendBatch(recorded.map((body) => ({ body, contentType: "json" as const })));
  } catch (error) {
    console.warn(
      JSON.stringify({
        level: "warn",
        message: "event publish failed; reconciler will retry",
        error: String(error),
      }),
    );
  }
}

type EventRow = typeof events.$inferSelect;

/** The envelopes of the outbox rows a batch actually wrote (guarded inserts may write none). */
export function recordedEvents(...results: EventRow[][]): EventEnvelope[] {
  return results.flat().map((row) => ({
    id: row.id,
    type: row.type,
    user_id: row.userId,
    occurred_at: row.occurredAt,
    // A json_object(...) written through insert-select comes back as text.
    data: typeof row.data === "string" ? (JSON.parse(row.data) as Record<string, unknown>) : row.data,
  }));
}
