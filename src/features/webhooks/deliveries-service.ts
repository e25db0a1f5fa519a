/**
 * The deliveries log and what its owner can do with it: read every attempt, replay a delivery under
 * the same `webhook-id`, send a `webhook.test`. Replays and tests are written to the deliveries outbox
 * before their message is enqueued, so a refused enqueue only delays them (the reconciler sends them).
 */
import { and, asc, desc, eq, inArray, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { webhookAttempts, webhookDeliveries, webhooks } from "../../db/schema";
import type { Env } from "../../env";
import { chunkList } from "../../lib/chunk";
import { loggableError } from "../../lib/db-errors";
import { conflict, notFound } from "../../lib/errors";
import { randomToken, sha256Hex } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { deliveryMessage, enqueueDeliveries } from "./message";
import { ownWebhook } from "./queries";
import type { ListDeliveriesQuery, WebhookAttemptDto, WebhookDeliveryDto } from "./schemas";

type DeliveryRow = typeof webhookDeliveries.$inferSelect;
type AttemptRow = typeof webhookAttempts.$inferSelect;

export const TEST_EVENT_TYPE = "webhook.test";

/** Log cursors hold the last row's creation time and id: "2026-…Z|msg_…". */
export const DELIVERY_CURSOR_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\|msg_[0-9a-f]{32}$/;

const toAttemptDto = (row: AttemptRow): WebhookAttemptDto => ({
  attempt: row.attempt,
  outcome: row.outcome,
  status_code: row.statusCode,
  latency_ms: row.latencyMs,
  response_excerpt: row.responseExcerpt,
  error: row.error,
  next_retry_at: row.nextRetryAt,
  created_at: row.createdAt,
});

function toDeliveryDto(row: DeliveryRow, attempts: readonly AttemptRow[]): WebhookDeliveryDto {
  return {
    delivery_id: row.id,
    webhook_id: row.webhookId,
    event_id: row.eventType === TEST_EVENT_TYPE ? null : row.eventId,
    event_type: row.eventType,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === "pending" || row.status === "retrying" ? row.nextAttemptAt : null,
    last_status_code: row.lastStatusCode,
    last_error: row.lastError,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    attempts: attempts.map(toAttemptDto),
  };
}

/** Attempts shown per delivery: the latest ones (`attempt_count` tells how many there were). */
export const SHOWN_ATTEMPTS = 20;

/** The attempts of these deliveries (ids from a query scoped to their owner), grouped, oldest first. */
async function attemptsOf(db: Database, ids: readonly string[]) {
  const grouped = new Map<string, AttemptRow[]>();
  for (const chunk of chunkList([...ids], 90)) {
    const rows = await db
      .select()
      .from(webhookAttempts)
      .where(inArray(webhookAttempts.deliveryId, chunk))
      .orderBy(asc(webhookAttempts.deliveryId), asc(webhookAttempts.attempt), asc(webhookAttempts.id))
      .all();
    for (const row of rows) grouped.set(row.deliveryId, [...(grouped.get(row.deliveryId) ?? []), row]);
  }
  for (const [id, rows] of grouped) grouped.set(id, rows.slice(-SHOWN_ATTEMPTS));
  return grouped;
}

const ownDelivery = (userId: string, webhookId: string, id: string) =>
  and(
    eq(webhookDeliveries.id, id),
    eq(webhookDeliveries.webhookId, webhookId),
    eq(webhookDeliveries.userId, userId),
  );

/** Newest first; the webhook's existence is checked in the same round trip as the page. */
export async function listDeliveries(
  db: Database,
  userId: string,
  webhookId: string,
  query: ListDeliveriesQuery,
  after: string | null,
): Promise<Page<WebhookDeliveryDto>> {
  const conditions: (SQL | undefined)[] = [
    eq(webhookDeliveries.webhookId, webhookId),
    eq(webhookDeliveries.userId, userId),
  ];
  if (query.status) conditions.push(eq(webhookDeliveries.status, query.status));
  if (after) {
    const [afterAt, afterId] = after.split("|") as [string, string];
    conditions.push(
      or(
        lt(webhookDeliveries.createdAt, afterAt),
        and(eq(webhookDeliveries.createdAt, afterAt), lt(webhookDeliveries.id, afterId)),
      ),
    );
  }
  const [owner, rows] = await db.batch([
    db.select({ id: webhooks.id }).from(webhooks).where(ownWebhook(userId, webhookId)),
    db
      .select()
      .from(webhookDeliveries)
      .where(and(...conditions))
      .orderBy(desc(webhookDeliveries.createdAt), desc(webhookDeliveries.id))
      .limit(rowsToFetch(query.limit)),
  ]);
  if (owner.length === 0) throw notFound("Webhook");
  const shown = rows.slice(0, query.limit);
  const attempts = await attemptsOf(
    db,
    shown.map((r) => r.id),
  );
  return pageOf(
    rows,
    query.limit,
    (row) => toDeliveryDto(row, attempts.get(row.id) ?? []),
    (row) => `${row.createdAt}|${row.id}`,
  );
}

export async function getDelivery(
  db: Database,
  userId: string,
  webhookId: string,
  id: string,
): Promise<WebhookDeliveryDto> {
  const [row, attempts] = await db.batch([
    db
      .select()
      .from(webhookDeliveries)
      .where(ownDelivery(userId, webhookId, id)),
    db
      .select()
      .from(webhookAttempts)
      .where(and(eq(webhookAttempts.deliveryId, id), eq(webhookAttempts.userId, userId)))
      .orderBy(asc(webhookAttempts.attempt), asc(webhookAttempts.id)),
  ]);
  const [delivery] = row;
  if (!delivery) throw notFound("Delivery");
  return toDeliveryDto(delivery, attempts.slice(-SHOWN_ATTEMPTS));
}

/** Enqueues the delivery now; if the queue refuses, the reconciler sends it within minutes. */
async function sendSoon(env: Env, row: DeliveryRow): Promise<void> {
  try {
    await enqueueDeliveries(env.WEBHOOKS_QUEUE, [deliveryMessage(row)]);
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "delivery not enqueued; left to the reconciler",
        error: loggableError(error),
      }),
    );
  }
}

const DISABLED = "The webhook is disabled; re-enable it (PATCH enabled: true) before sending to it.";

/**
 * Sends a delivery again, whatever its state, under the same `webhook-id`: a new round of attempts.
 * Raising its seq makes any message still queued for it stale, so it is sent once, now.
 */
export async function replayDelivery(
  db: Database,
  env: Env,
  userId: string,
  webhookId: string,
  id: string,
): Promise<WebhookDeliveryDto> {
  const now = nowIso();
  const [endpoint, known, replayed] = await db.batch([
    db.select({ enabled: webhooks.enabled }).from(webhooks).where(ownWebhook(userId, webhookId)),
    db
      .select({ id: webhookDeliveries.id })
      .from(webhookDeliveries)
      .where(ownDelivery(userId, webhookId, id)),
    db
      .update(webhookDeliveries)
      .set({
        status: "pending",
        seq: sql`${webhookDeliveries.seq} + 1`,
        roundBase: sql`${webhookDeliveries.attempts}`,
        sends: 0,
        nextAttemptAt: now,
        lastError: null,
        updatedAt: now,
      })
      .where(
        and(
          ownDelivery(userId, webhookId, id),
          sql`EXISTS (SELECT 1 FROM ${webhooks} WHERE ${webhooks.id} = ${webhookId} AND ${webhooks.userId} = ${userId} AND ${webhooks.enabled} = 1)`,
        ),
      )
      .returning(),
  ]);
  const [hook] = endpoint;
  if (!hook || known.length === 0) throw notFound(hook ? "Delivery" : "Webhook");
  const [row] = replayed;
  if (!row) throw conflict("webhook_disabled", DISABLED);
  await sendSoon(env, row);
  return getDelivery(db, userId, webhookId, id);
}

/** A `webhook.test` delivery to the endpoint, through the same queue, signing and log as events. */
export async function sendTestDelivery(
  db: Database,
  env: Env,
  userId: string,
  webhookId: string,
): Promise<WebhookDeliveryDto> {
  const hook = await db
    .select({ enabled: webhooks.enabled })
    .from(webhooks)
    .where(ownWebhook(userId, webhookId))
    .get();
  if (!hook) throw notFound("Webhook");
  if (!hook.enabled) throw conflict("webhook_disabled", DISABLED);
  const now = nowIso();
  const id = `msg_${(await sha256Hex(randomToken(16))).slice(0, 32)}`;
  const payload = JSON.stringify({
    type: TEST_EVENT_TYPE,
    timestamp: now,
    data: { webhook_id: webhookId, message: "A test delivery from Proxy Agent Platform. It works!" },
  });
  const [row] = await db
    .insert(webhookDeliveries)
    .values({
      id,
      webhookId,
      userId,
      eventId: id,
      eventType: TEST_EVENT_TYPE,
      payload,
      nextAttemptAt: now,
      createdAt: now,
      updatedAt: now,
    })
    .returning();
  if (!row) throw new Error("the test delivery was not written");
  await sendSoon(env, row);
  return toDeliveryDto(row, []);
}
