import { and, asc, eq, gt } from "drizzle-orm";
import type { Database } from "../../db";
import { webhooks } from "../../db/schema";
import { rowsToFetch } from "../../lib/pagination";
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
    created_at: row.createdAt,
    updated_at: row.updatedAt,
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
