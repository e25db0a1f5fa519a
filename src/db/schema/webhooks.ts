import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

/**
 * A user's webhook endpoints. The secret signs deliveries (Standard Webhooks); after a rotation the
 * previous one keeps signing beside it until `previous_secret_expires_at`, so receivers can switch over.
 */
export const webhooks = sqliteTable(
  "webhooks",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    url: text("url").notNull(),
    description: text("description"),
    /** Catalog event types, or ["*"] for every one. */
    eventTypes: text("event_types", { mode: "json" }).$type<string[]>().notNull(),
    secret: text("secret").notNull(),
    previousSecret: text("previous_secret"),
    previousSecretExpiresAt: text("previous_secret_expires_at"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** Why it was disabled (by its owner, or after failing too long); null while enabled. */
    disabledReason: text("disabled_reason"),
    /** `api` for endpoints made under /webhooks; `rest_hook` for REST Hooks subscriptions (Zapier, Make). */
    source: text("source", { enum: ["api", "rest_hook"] })
      .notNull()
      .default("api"),
    /** Failed attempts since the last success; at 100 the endpoint is disabled. */
    consecutiveFailures: integer("consecutive_failures").notNull().default(0),
    /** When the current run of failures began; three days of it disable the endpoint. */
    failingSince: text("failing_since"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("webhooks_user").on(t.userId, t.id),
    index("webhooks_enabled").on(t.userId).where(sql`${t.enabled} = 1`),
  ],
);

export const DELIVERY_STATUSES = ["pending", "retrying", "succeeded", "failed"] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/**
 * The outbox of deliveries: one row per (event, endpoint), written in the events consumer's batch with
 * the handler's receipt, before anything is sent. Its id is the `webhook-id` receivers see. `seq`
 * fences queue messages: a message whose seq is not the row's (re-sent by the reconciler, replayed)
 * is stale and dropped, so a delivery is sent by one message at a time.
 */
export const webhookDeliveries = sqliteTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    webhookId: text("webhook_id").notNull(),
    userId: text("user_id").notNull(),
    /** The domain event delivered; its payload is read from the events table. */
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    /** The body of deliveries with no domain event behind them (`webhook.test`). */
    payload: text("payload"),
    status: text("status", { enum: DELIVERY_STATUSES }).notNull().default("pending"),
    seq: integer("seq").notNull().default(1),
    /** Attempts made, over every round. */
    attempts: integer("attempts").notNull().default(0),
    /** `attempts` when the current round began (a replay starts one): backoff and the give-up count from it. */
    roundBase: integer("round_base").notNull().default(0),
    /** When the next attempt is due; the reconciler re-sends open rows long past it. */
    nextAttemptAt: text("next_attempt_at"),
    /** Times the reconciler re-sent it (a replay starts over): its backoff, and where it gives up. */
    sends: integer("sends").notNull().default(0),
    /**
     * The attempt whose result the row holds: the attempt's log line and the endpoint's health are
     * written only if it is still this one, so an attempt overtaken by a replay or a twin counts nowhere.
     */
    lastAttemptId: text("last_attempt_id"),
    lastStatusCode: integer("last_status_code"),
    lastError: text("last_error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("webhook_deliveries_webhook").on(t.webhookId, t.createdAt, t.id),
    index("webhook_deliveries_status").on(t.webhookId, t.status, t.createdAt, t.id),
    index("webhook_deliveries_open").on(t.nextAttemptAt).where(sql`${t.status} IN ('pending', 'retrying')`),
    // For the housekeeping cron, which forgets closed deliveries once their retention is over.
    index("webhook_deliveries_closed").on(t.updatedAt).where(sql`${t.status} IN ('succeeded', 'failed')`),
    // Erasing an account finds its rows by owner (src/features/account/erase-plan.ts).
    index("webhook_deliveries_user").on(t.userId),
  ],
);

/**
 * Every delivery attempt, for the owner's log: one `delivery_id` (the `webhook-id` receivers see) per
 * (event, endpoint), however many attempts it takes.
 */
export const webhookAttempts = sqliteTable(
  "webhook_attempts",
  {
    id: text("id").primaryKey(),
    deliveryId: text("delivery_id").notNull(),
    webhookId: text("webhook_id").notNull(),
    userId: text("user_id").notNull(),
    eventId: text("event_id").notNull(),
    eventType: text("event_type").notNull(),
    attempt: integer("attempt").notNull(),
    outcome: text("outcome", { enum: ["succeeded", "failed"] }).notNull(),
    statusCode: integer("status_code"),
    latencyMs: integer("latency_ms").notNull(),
    /** The start of the receiver's answer (2 KB), or why there was none. */
    responseExcerpt: text("response_excerpt"),
    error: text("error"),
    nextRetryAt: text("next_retry_at"),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    index("webhook_attempts_webhook").on(t.webhookId, t.id),
    index("webhook_attempts_delivery").on(t.deliveryId, t.attempt),
    index("webhook_attempts_created").on(t.createdAt),
    // Erasing an account finds its rows by owner (src/features/account/erase-plan.ts).
    index("webhook_attempts_user").on(t.userId),
  ],
);
