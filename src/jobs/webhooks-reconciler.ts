import { inArray, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Env } from "../env";
import { deliveryMessage, enqueueDeliveries } from "../features/webhooks/message";
import { nowIso } from "../lib/time";

/** A delivery still open this long after its attempt was due has lost its message: it is sent again. */
export const WEBHOOK_REDELIVERY_AFTER_MS = 10 * 60_000;
/** Deliveries re-sent per run; the next run takes the rest. */
export const WEBHOOK_RECONCILE_BATCH = 90;
/** A delivery re-sent this often without ever being attempted is left failing (a poison message). */
export const MAX_SENDS = 20;

/**
 * Cron: the deliveries outbox's reconciler. A delivery row is written before any message is sent, so
 * a webhooks queue that refused the fan-out (or lost a retry) leaves rows open past their due time;
 * each is claimed by raising its seq (which makes any late message for it stale) and sent again.
 */
export async function reconcileWebhookDeliveries(env: Env, now = Date.now()): Promise<number> {
  const db = createDatabase(env.DB);
  const overdue = db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    // Literal statuses, so SQLite uses the partial index of open deliveries.
    .where(
      sql`${webhookDeliveries.status} IN ('pending', 'retrying') AND ${webhookDeliveries.nextAttemptAt} < ${nowIso(now - WEBHOOK_REDELIVERY_AFTER_MS)} AND ${webhookDeliveries.seq} < ${MAX_SENDS} AND EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.id} = ${webhookDeliveries.webhookId})`,
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(WEBHOOK_RECONCILE_BATCH);
  const claimed = await db
    .update(webhookDeliveries)
    .set({ seq: sql`${webhookDeliveries.seq} + 1`, nextAttemptAt: nowIso(now), updatedAt: nowIso(now) })
    .where(inArray(webhookDeliveries.id, overdue))
    .returning({
      id: webhookDeliveries.id,
      webhookId: webhookDeliveries.webhookId,
      userId: webhookDeliveries.userId,
      seq: webhookDeliveries.seq,
    });
  // If this send fails the rows are due again from now, and the next run but one takes them.
  await enqueueDeliveries(env.WEBHOOKS_QUEUE, claimed.map(deliveryMessage));
  return claimed.length;
}
