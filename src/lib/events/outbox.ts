import { and, eq, SQL, sql } from "drizzle-orm";
import type { SQLiteColumn, SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Database } from "../../db";
import { events } from "../../db/schema";
import { newId } from "../ids";
import { literal } from "../sql-literal";
import { nowIso } from "../time";
import { type Envelope, EVENT_CATALOG, type EventData, type EventType } from "./catalog";

/**
 * An event to write whose data or time may be read, in SQL, from what the same batch just wrote (a
 * step's row as stored, a task's completed_at), so the event carries the row exactly as committed.
 */
export type EventDraft<T extends EventType = EventType> = Omit<Envelope<T>, "data" | "occurred_at"> & {
  data: EventData<T> | SqlData<T>;
  occurred_at: string | SQL;
};

/** When the outbox row is written. Without a guard it always is (in the batch of the change). */
export type EventGuard =
  /**
   * Only if the statement just before it in the batch changed a row (SQLite's `changes()`), e.g. the
   * conditional update that moved a step to completed: a retried or concurrent request whose update
   * matched nothing records no second event.
   */
  | { changed: { table: SQLiteTable; id: SQLiteColumn; value: string } }
  /** Only if this condition holds inside the batch (a threshold checked against the real values). */
  | { where: SQL };

declare const sqlDataOf: unique symbol;

/**
 * `data` read in SQL, as only `sqlData` builds it: typed by the catalog, so its keys cannot drift from
 * the published schema.
 */
export type SqlData<T extends EventType> = SQL & { readonly [sqlDataOf]: T };

const KEY = /^[a-z][a-z_]*$/;

/**
 * An event's data read in SQL: `(SELECT json_object(...) <from>)`, one expression per field of the
 * type's schema, over the rows `from` names (e.g. FROM tasks t WHERE t.id = …). Booleans must come as
 * SQL JSON (`jsonBoolean`), since SQLite has no boolean of its own.
 */
export function sqlData<T extends EventType>(
  _type: T,
  fields: { [K in keyof Required<EventData<T>>]: SQL },
  from: SQL,
): SqlData<T> {
  const pairs = Object.entries(fields as Record<string, SQL>).map(([key, value]) => {
    // Keys come from the catalog's types, never from input; written inline to spare bound parameters.
    if (!KEY.test(key)) throw new Error(`bad event data key ${key}`);
    return sql`${sql.raw(`'${key}'`)}, ${value}`;
  });
  return sql`(SELECT json_object(${sql.join(pairs, sql`, `)}) ${from})` as SqlData<T>;
}

/** An event whose data (and maybe time) the batch reads in SQL: checked by the type, not at run time. */
export function sqlEvent<T extends EventType>(
  type: T,
  userId: string,
  data: SqlData<T>,
  now: number,
  occurredAt?: string | SQL,
): EventDraft<T> {
  return {
    id: newId(now),
    type,
    version: EVENT_CATALOG[type].version,
    user_id: userId,
    occurred_at: occurredAt ?? nowIso(now),
    data,
  };
}

/** SQLite's JSON true/false from a 0/1 column, for `sqlData`. */
export const jsonBoolean = (column: SQL) => sql`json(CASE WHEN ${column} THEN 'true' ELSE 'false' END)`;

/**
 * The one statement that writes an outbox row: put it in the same batch as the change it records.
 * Writing an event id that is already there does nothing, so a replayed write (a live object's retry)
 * records it once. Its `returning` rows are the events actually written (see `recordedEvents`).
 */
export function writeEvent<T extends EventType>(db: Database, event: EventDraft<T>, guard?: EventGuard) {
  const data = event.data instanceof SQL ? event.data : JSON.stringify(event.data);
  const row = db.select({
    id: literal<string>(event.id, "id"),
    userId: literal<string>(event.user_id, "user_id"),
    type: literal<string>(event.type, "type"),
    version: literal<number>(event.version, "version"),
    data: sql<string>`${data}`.as("data"),
    occurredAt: literal<string>(event.occurred_at, "occurred_at"),
    sendAttempts: literal<number>(0, "send_attempts"),
    lastSentAt: sql<string | null>`NULL`.as("last_sent_at"),
    deliveredAt: sql<string | null>`NULL`.as("delivered_at"),
  });
  const source =
    guard && "changed" in guard
      ? row
          .from(guard.changed.table)
          .where(and(eq(guard.changed.id, guard.changed.value), sql`changes() = 1`))
      : row.from(sql`(SELECT 1)`).where(guard?.where ?? sql`1`);
  return db.insert(events).select(source).onConflictDoNothing().returning();
}

export type EventRow = typeof events.$inferSelect;

/** The envelopes of the outbox rows a batch actually wrote (guarded writes may write none). */
export function recordedEvents(...results: EventRow[][]): Envelope[] {
  return results.flat().map(envelopeOfRow);
}

/** An outbox row as the envelope that goes on the queue. */
export function envelopeOfRow(row: EventRow): Envelope {
  return {
    id: row.id,
    type: row.type as EventType,
    version: row.version,
    user_id: row.userId,
    occurred_at: row.occurredAt,
    // A json_object(...) written through insert-select comes back as text.
    data: (typeof row.data === "string" ? JSON.parse(row.data) : row.data) as Envelope["data"],
  };
}
