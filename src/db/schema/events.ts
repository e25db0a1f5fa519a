import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * The outbox: every domain event is written in the same D1 batch as the change it records, then sent
 * to the events queue. `delivered_at` is set once a consumer has handled it; the reconciler re-sends
 * rows that stay undelivered.
 */
export const events = sqliteTable(
  "events",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    type: text("type").notNull(),
    /** The version of `data`'s schema, from the event catalog (src/lib/events/catalog.ts). */
    version: integer("version").notNull().default(1),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    occurredAt: text("occurred_at").notNull(),
    sendAttempts: integer("send_attempts").notNull().default(0),
    lastSentAt: text("last_sent_at"),
    deliveredAt: text("delivered_at"),
  },
  (t) => [
    index("events_undelivered").on(t.deliveredAt, t.occurredAt),
    index("events_user").on(t.userId, t.id),
    // Only the manual grants (few): where an erased administrator's name is taken out of others' grants.
    index("events_manual_grants").on(t.type).where(sql`${t.type} = 'xp.manual'`),
  ],
);

/** One row per (event, handler) that has run: the guard that makes redelivery harmless. */
export const eventReceipts = sqliteTable(
  "event_receipts",
  {
    eventId: text("event_id").notNull(),
    handler: text("handler").notNull(),
    processedAt: text("processed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.eventId, t.handler] })],
);
