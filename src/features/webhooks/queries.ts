import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { webhookAttempts, webhookDeliveries, webhooks } from "../../db/schema";
import { rowsToFetch } from "../../lib/pagination";
import { literal as value } from "../../lib/sql-literal";
import type { WebhookDto } from "./schemas";

export type WebhookRow = typeof webhooks.$inferSelect;

export function toWebhookDto(row: WebhookRow): WebhookDto {
  return {
    webhook_id: row.id,
    url: row.url,
    description: row.description,
    event_types: row.eventTypes,
    enabled: row.enabled,
    disabled_reason: row.disabledReason,
    source: row.source,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** A whole row as SQL literals, for `INSERT … SELECT` under a condition. */
export function literalRow(row: WebhookRow) {
  return {
    id: value(row.id, "id"),
    userId: value(row.userId, "user_id"),
    url: value(row.url, "url"),
    description: value(row.description, "description"),
    eventTypes: value(JSON.stringify(row.eventTypes), "event_types"),
    secret: value(row.secret, "secret"),
    previousSecret: value(row.previousSecret, "previous_secret"),
    previousSecretExpiresAt: value(row.previousSecretExpiresAt, "previous_secret_expires_at"),
    enabled: value(row.enabled ? 1 : 0, "enabled"),
    disabledReason: value(row.disabledReason, "disabled_reason"),
    source: value(row.source, "source"),
    consecutiveFailures: value(row.consecutiveFailures, "consecutive_failures"),
    failingSince: value(row.failingSince, "failing_since"),
    createdAt: value(row.createdAt, "created_at"),
    updatedAt: value(row.updatedAt, "updated_at"),
  };
}

export const ownWebhook = (userId: string, id: string) =>
  and(eq(webhooks.userId, userId), eq(webhooks.id, id));

export function listWebhooksQuery(db: Database, userId: string, limit: number, afterId: string | null) {
  return db
    .select()
    .from(webhooks)
    .where(afterId ? and(eq(webhooks.userId, userId), gt(webhooks.id, afterId)) : eq(webhooks.userId, userId))
    .orderBy(asc(webhooks.id))
    .limit(rowsToFetch(limit));
}

/**
 * The statements that take a webhook's deliveries and their log with it, run after the statement that
 * deletes the webhook: they do nothing unless it is in fact gone, so a delete that matched nothing (a
 * wrong id, a REST hook id that is a plain webhook) loses no one's log.
 */
export function forgetDeliveries(db: Database, userId: string, id: string) {
  const gone = sql`NOT EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.id} = ${id})`;
  return [
    db
      .delete(webhookDeliveries)
      .where(and(eq(webhookDeliveries.webhookId, id), eq(webhookDeliveries.userId, userId), gone)),
    db
      .delete(webhookAttempts)
      .where(and(eq(webhookAttempts.webhookId, id), eq(webhookAttempts.userId, userId), gone)),
  ] as const;
}
