import { and, eq, inArray, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import { webhookDeliveries, webhooks } from "../db/schema";
import type { Env } from "../env";
import { deliveryMessage, enqueueDeliveries } from "../features/webhooks/message";
import { nowIso } from "../lib/time";

/** A delivery still open this long after its attempt was due has lost its message: it is sent again. */
export const WEBHOOK_REDELIVERY_AFTER_MS = 10 * 60_000;
/** Deliveries looked at per run; the next run takes the rest. */
export const WEBHOOK_RECONCILE_BATCH = 90;
/** Re-sends of one delivery (its backoff doubling from 10 minutes) before it is given up as failed. */
export const MAX_SENDS = 8;
const MAX_BACKOFF_MS = 12 * 3_600_000;

/** How long after a re-send the next one may follow, beyond the grace: 0, 10, 30, 70 … minutes, at most 12 h. */
export const resendBackoffMs = (sends: number) =>
  Math.min(MAX_BACKOFF_MS, (2 ** Math.max(0, sends) - 1) * WEBHOOK_REDELIVERY_AFTER_MS);

const GIVEN_UP =
  "It was sent again and again without ever being attempted (the webhooks queue kept losing it); replay it to try once more.";

/**
 * Cron: the deliveries outbox's reconciler. A delivery row is written before any message is sent, so
 * a webhooks queue that refused the fan-out (or lost a retry) leaves rows open past their due time.
 * Each is claimed by raising its seq (which makes any late message for it stale) and sent again, each
 * time waiting twice as long before the next re-send, so a queue that is merely slow is not flooded;
 * after MAX_SENDS it is failed, visibly, for its owner to replay. Answers how many rows it re-sent or failed.
 */
export async function reconcileWebhookDeliveries(env: Env, now = Date.now()): Promise<number> {
  const db = createDatabase(env.DB);
  const overdue = await db
    .select({ id: webhookDeliveries.id, sends: webhookDeliveries.sends })
    .from(webhookDeliveries)
    // Literal statuses, so SQLite uses the partial index of open deliveries.
    .where(
      sql`${webhookDeliveries.status} IN ('pending', 'retrying') AND ${webhookDeliveries.nextAttemptAt} < ${nowIso(now - WEBHOOK_REDELIVERY_AFTER_MS)} AND EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.id} = ${webhookDeliveries.webhookId})`,
    )
    .orderBy(webhookDeliveries.nextAttemptAt)
    .limit(WEBHOOK_RECONCILE_BATCH)
    .all();
  if (overdue.length === 0) return 0;
  const bySends = new Map<number, string[]>();
  for (const row of overdue) bySends.set(row.sends, [...(bySends.get(row.sends) ?? []), row.id]);
  const open = sql`${webhookDeliveries.status} IN ('pending', 'retrying')`;
  const at = nowIso(now);
  const claimedColumns = {
    id: webhookDeliveries.id,
    webhookId: webhookDeliveries.webhookId,
    userId: webhookDeliveries.userId,
    seq: webhookDeliveries.seq,
    status: webhookDeliveries.status,
  };
  const statements = [...bySends].map(([sends, ids]) => {
    const fenced = and(inArray(webhookDeliveries.id, ids), eq(webhookDeliveries.sends, sends), open);
    if (sends >= MAX_SENDS)
      return db
        .update(webhookDeliveries)
        .set({ status: "failed", nextAttemptAt: null, lastError: GIVEN_UP, updatedAt: at })
        .where(fenced)
        .returning(claimedColumns);
    return db
      .update(webhookDeliveries)
      .set({
        seq: sql`${webhookDeliveries.seq} + 1`,
        sends: sends + 1,
        nextAttemptAt: nowIso(now + resendBackoffMs(sends + 1)),
        updatedAt: at,
      })
      .where(fenced)
      .returning(claimedColumns);
  });
  const [first, ...rest] = statements;
  if (!first) return 0;
  const handled = (await db.batch([first, ...rest])).flat();
  const claimed = handled.filter((row) => row.status !== "failed");
  // If this send fails, the rows are due again after their backoff, and a later run takes them.
  await enqueueDeliveries(env.WEBHOOKS_QUEUE, claimed.map(deliveryMessage));
  return handled.length;
}
