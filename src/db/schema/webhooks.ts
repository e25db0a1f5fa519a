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
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    index("webhooks_user").on(t.userId, t.id),
    index("webhooks_enabled").on(t.userId).where(sql`${t.enabled} = 1`),
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
    index("webhook_attempts_delivery").on(t.deliveryId),
  ],
);
