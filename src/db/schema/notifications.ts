import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const NOTIFICATION_KINDS = [
  "due_soon",
  "focus",
  "break",
  "pet",
  "celebration",
  "suggestion",
  "assignment",
  "digest",
  /** About the account's connections: a webhook disabled after failing too long. */
  "integration",
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/**
 * Where a notification stands: `deferred` (written in quiet hours, delivered at their end), `delivered`
 * (in the inbox, pushed), `folded` (past the daily cap, waiting for the next digest) and `digested`
 * (folded into the digest named by `digest_id`). Nothing is ever dropped: every state is a row.
 */
export const NOTIFICATION_STATUSES = ["deferred", "delivered", "folded", "digested"] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];

/** Whether the row still has pushes to send (`pending`), has sent them (`done`) or wants none (`none`). */
export const PUSH_STATES = ["none", "pending", "done"] as const;
export type PushState = (typeof PUSH_STATES)[number];

export const PUSH_CHANNELS = ["web_push", "expo"] as const;
export type PushChannel = (typeof PUSH_CHANNELS)[number];

export const notifications = sqliteTable(
  "notifications",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    /** The producer's idempotency key: one row per key per user, however often it is enqueued. */
    key: text("key").notNull(),
    kind: text("kind", { enum: NOTIFICATION_KINDS }).notNull(),
    title: text("title").notNull(),
    body: text("body").notNull(),
    data: text("data", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    status: text("status", { enum: NOTIFICATION_STATUSES }).notNull(),
    /** Shown in the inbox (the kind's `in_app` preference when it was written). */
    inApp: integer("in_app", { mode: "boolean" }).notNull(),
    /** The channels it went out on: "in_app", "web_push", "expo" (push ones once sent). */
    channels: text("channels", { mode: "json" }).$type<string[]>().notNull(),
    pushState: text("push_state", { enum: PUSH_STATES }).notNull(),
    /** Counts against the daily cap of this local date (the user's time zone, on the day it is delivered). */
    localDay: text("local_day").notNull(),
    countsTowardCap: integer("counts_toward_cap", { mode: "boolean" }).notNull(),
    /** When it is (or was) delivered: the end of quiet hours when deferred, the next digest when folded. */
    deliverAt: text("deliver_at").notNull(),
    digestId: text("digest_id"),
    enqueuedAt: text("enqueued_at").notNull(),
    /** When it reached the inbox (its delivery); the row may be older when it was deferred. */
    createdAt: text("created_at").notNull(),
    readAt: text("read_at"),
    deletedAt: text("deleted_at"),
  },
  (t) => [
    uniqueIndex("notifications_user_key").on(t.userId, t.key),
    index("notifications_inbox")
      .on(t.userId, t.createdAt, t.id)
      .where(sql`${t.status} = 'delivered' AND ${t.inApp} = 1 AND ${t.deletedAt} IS NULL`),
    index("notifications_unread")
      .on(t.userId)
      .where(
        sql`${t.readAt} IS NULL AND ${t.status} = 'delivered' AND ${t.inApp} = 1 AND ${t.deletedAt} IS NULL`,
      ),
    index("notifications_cap").on(t.userId, t.localDay).where(sql`${t.countsTowardCap} = 1`),
    // The sweeper's scans across all users: deferred and folded rows whose moment came, stuck pushes.
    // One partial index per status: SQLite uses a partial index only when the query names its condition.
    index("notifications_deferred").on(t.deliverAt).where(sql`${t.status} = 'deferred'`),
    index("notifications_folded").on(t.deliverAt, t.userId).where(sql`${t.status} = 'folded'`),
    index("notifications_push_pending").on(t.createdAt).where(sql`${t.pushState} = 'pending'`),
    index("notifications_digest").on(t.digestId).where(sql`${t.digestId} IS NOT NULL`),
    check("notifications_status_check", sql`${t.status} IN ('deferred','delivered','folded','digested')`),
    check("notifications_push_state_check", sql`${t.pushState} IN ('none','pending','done')`),
  ],
);

/** A user's choices; no row means the defaults (src/features/notifications/preferences.ts). */
export const notificationPreferences = sqliteTable("notification_preferences", {
  userId: text("user_id").primaryKey(),
  kinds: text("kinds", { mode: "json" })
    .$type<Record<string, { in_app: boolean; push: boolean }>>()
    .notNull(),
  quietStart: text("quiet_start"),
  quietEnd: text("quiet_end"),
  dailyCap: integer("daily_cap").notNull(),
  digest: text("digest", { enum: ["off", "daily"] }).notNull(),
  dueSoonMinutes: text("due_soon_minutes", { mode: "json" }).$type<number[]>().notNull(),
  updatedAt: text("updated_at").notNull(),
});

/** Browsers' Web Push subscriptions (RFC 8030): one row per endpoint, owned by the user who last sent it. */
export const pushSubscriptions = sqliteTable(
  "push_subscriptions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    endpoint: text("endpoint").notNull(),
    p256dh: text("p256dh").notNull(),
    auth: text("auth").notNull(),
    userAgent: text("user_agent"),
    createdAt: text("created_at").notNull(),
    lastSuccessAt: text("last_success_at"),
  },
  (t) => [
    uniqueIndex("push_subscriptions_endpoint").on(t.endpoint),
    index("push_subscriptions_user").on(t.userId),
  ],
);

/** Expo push tokens of the mobile app: one row per token, owned by the user who last registered it. */
export const pushDevices = sqliteTable(
  "push_devices",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    expoPushToken: text("expo_push_token").notNull(),
    platform: text("platform", { enum: ["ios", "android", "web"] }).notNull(),
    createdAt: text("created_at").notNull(),
    lastSuccessAt: text("last_success_at"),
  },
  (t) => [uniqueIndex("push_devices_token").on(t.expoPushToken), index("push_devices_user").on(t.userId)],
);

/**
 * One push of one notification to one target (a subscription or a device): the record that makes a
 * redelivered notification push nothing twice, and where Expo's ticket waits for its receipt.
 */
export const notificationPushes = sqliteTable(
  "notification_pushes",
  {
    notificationId: text("notification_id").notNull(),
    targetId: text("target_id").notNull(),
    channel: text("channel", { enum: PUSH_CHANNELS }).notNull(),
    userId: text("user_id").notNull(),
    /**
     * pending → sending (claimed by one delivery until `lease_until`) → sent | gone (the service says the
     * target is gone) | failed (refused for good, or out of tries); back to pending to retry.
     */
    status: text("status", { enum: ["pending", "sending", "sent", "gone", "failed"] }).notNull(),
    attempts: integer("attempts").notNull().default(0),
    /** While `sending`: when the claim lapses (a delivery that died mid-send lets another take over). */
    leaseUntil: text("lease_until"),
    /** While `sending`: which delivery holds it; only that one may record the result. */
    claimId: text("claim_id"),
    /** While `pending` after a failure: not before this (the service's Retry-After, or a backoff). */
    nextAttemptAt: text("next_attempt_at"),
    ticketId: text("ticket_id"),
    detail: text("detail"),
    sentAt: text("sent_at"),
    receiptCheckedAt: text("receipt_checked_at"),
  },
  (t) => [
    primaryKey({ columns: [t.notificationId, t.targetId] }),
    index("notification_pushes_receipts")
      .on(t.sentAt)
      .where(sql`${t.ticketId} IS NOT NULL AND ${t.receiptCheckedAt} IS NULL`),
    // Erasing an account finds its rows by owner (src/features/account/erase-plan.ts).
    index("notification_pushes_user").on(t.userId),
  ],
);

/**
 * Due-soon reminders claimed by the reminder job: the primary key makes each (task, offset, due time)
 * fire once however often the job runs or overlaps; `enqueued_at` stays null until it reached the queue.
 */
export const reminderClaims = sqliteTable(
  "reminder_claims",
  {
    taskId: text("task_id").notNull(),
    offsetMinutes: integer("offset_minutes").notNull(),
    dueAt: text("due_at").notNull(),
    userId: text("user_id").notNull(),
    claimedAt: text("claimed_at").notNull(),
    enqueuedAt: text("enqueued_at"),
  },
  (t) => [
    primaryKey({ columns: [t.taskId, t.offsetMinutes, t.dueAt] }),
    index("reminder_claims_unsent").on(t.claimedAt).where(sql`${t.enqueuedAt} IS NULL`),
    index("reminder_claims_user").on(t.userId),
  ],
);

/** Messages a queue gave up on, kept for inspection and replay instead of logged and dropped. */
export const deadLetters = sqliteTable(
  "dead_letters",
  {
    id: text("id").primaryKey(),
    /** The queue the message failed on, as far as its body tells (events, notifications, webhooks). */
    source: text("source").notNull(),
    messageId: text("message_id").notNull(),
    body: text("body").notNull(),
    attempts: integer("attempts").notNull(),
    userId: text("user_id"),
    recordedAt: text("recorded_at").notNull(),
  },
  (t) => [
    uniqueIndex("dead_letters_message").on(t.messageId),
    index("dead_letters_source").on(t.source, t.id),
    // By owner, and the letters without one (IS NULL): what erasing an account reads.
    index("dead_letters_user").on(t.userId),
  ],
);
