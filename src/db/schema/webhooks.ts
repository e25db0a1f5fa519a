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
