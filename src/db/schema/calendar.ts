import { integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/**
 * A user's calendar subscription: one active feed per user (the primary key), reached by a secret
 * token of which only the SHA-256 is stored. Rotating replaces the hash, so the old URL stops at once.
 * `etag` and `modified_at` remember the last body served, so Last-Modified only moves when it changed.
 */
export const calendarFeeds = sqliteTable(
  "calendar_feeds",
  {
    userId: text("user_id").primaryKey(),
    tokenHash: text("token_hash").notNull(),
    etag: text("etag"),
    modifiedAt: text("modified_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [uniqueIndex("calendar_feeds_token_hash").on(t.tokenHash)],
);

/**
 * Every item a user's feed has served: the fingerprint of its content and how many versions of it
 * were served (its iCalendar SEQUENCE), with when the current one was first served (its DTSTAMP).
 */
export const calendarFeedItems = sqliteTable(
  "calendar_feed_items",
  {
    userId: text("user_id").notNull(),
    uid: text("uid").notNull(),
    contentHash: text("content_hash").notNull(),
    sequence: integer("sequence").notNull().default(0),
    changedAt: text("changed_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.uid] })],
);

/**
 * What an import made of each calendar item: one row per (user, UID, occurrence) — the occurrence key
 * is "" for a single item and the occurrence's start for an expanded recurring one — naming the task it
 * became and the fingerprint of what was imported, so importing again updates instead of doubling.
 */
export const calendarImports = sqliteTable(
  "calendar_imports",
  {
    userId: text("user_id").notNull(),
    uid: text("uid").notNull(),
    recurrenceKey: text("recurrence_key").notNull().default(""),
    taskId: text("task_id").notNull(),
    contentHash: text("content_hash").notNull(),
    sequence: integer("sequence").notNull().default(0),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.uid, t.recurrenceKey] })],
);
