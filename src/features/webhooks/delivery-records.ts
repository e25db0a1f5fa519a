/**
 * The D1 side of deliveries: loading what a batch of messages needs in one query, and the statements
 * that record an attempt (the log line, the delivery's state fenced by its seq, the endpoint's health,
 * and disabling it with a `webhook.disabled` event when it has failed too long).
 */
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { events, webhookAttempts, webhookDeliveries, webhooks } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import { EVENT_CATALOG, isEventType } from "../../lib/events/catalog";
import { sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { AttemptResult } from "./delivery";
import { forgetDeliveries } from "./queries";
import { DISABLE_AFTER_FAILURES, DISABLE_AFTER_MS, type Verdict } from "./retry-policy";

export async function loadDeliveries(db: Database, ids: readonly string[]) {
  const rows = [];
  for (const chunk of chunkList([...new Set(ids)], 90)) {
    rows.push(
      ...(await db
        .select({
          delivery: {
            id: webhookDeliveries.id,
            userId: webhookDeliveries.userId,
            eventId: webhookDeliveries.eventId,
            eventType: webhookDeliveries.eventType,
            payload: webhookDeliveries.payload,
            status: webhookDeliveries.status,
            seq: webhookDeliveries.seq,
            attempts: webhookDeliveries.attempts,
            roundBase: webhookDeliveries.roundBase,
          },
          webhook: {
            id: webhooks.id,
            url: webhooks.url,
            enabled: webhooks.enabled,
            source: webhooks.source,
            secret: webhooks.secret,
            previousSecret: webhooks.previousSecret,
            previousSecretExpiresAt: webhooks.previousSecretExpiresAt,
          },
          event: {
            type: events.type,
            version: events.version,
            data: events.data,
            occurredAt: events.occurredAt,
          },
        })
        .from(webhookDeliveries)
        .innerJoin(
          webhooks,
          and(eq(webhooks.id, webhookDeliveries.webhookId), eq(webhooks.userId, webhookDeliveries.userId)),
        )
        .leftJoin(events, eq(events.id, webhookDeliveries.eventId))
        .where(inArray(webhookDeliveries.id, chunk))
        .all()),
    );
  }
  return new Map(rows.map((row) => [row.delivery.id, row]));
}

export type LoadedDelivery = NonNullable<ReturnType<Awaited<ReturnType<typeof loadDeliveries>>["get"]>>;

/**
 * The Standard Webhooks body `{type, timestamp, data}`: stored for deliveries without a domain event
 * (tests), otherwise the event's, its data read through the catalog as subscribers were promised.
 * Null when the event is gone.
 */
export function bodyOf(row: LoadedDelivery): string | null {
  if (row.delivery.payload !== null) return row.delivery.payload;
  const { event } = row;
  if (!event?.type || event.data === null || event.occurredAt === null) return null;
  let data: unknown = event.data;
  if (isEventType(event.type) && EVENT_CATALOG[event.type].version === event.version) {
    const parsed = EVENT_CATALOG[event.type].data.safeParse(event.data);
    if (parsed.success) data = parsed.data;
  }
  return JSON.stringify({ type: event.type, timestamp: event.occurredAt, data });
}

/** The delivery ends without an attempt (its endpoint was disabled, its event deleted). */
export function abandonStatement(db: Database, row: LoadedDelivery, reason: string, now: number) {
  return db
    .update(webhookDeliveries)
    .set({ status: "failed", nextAttemptAt: null, lastError: reason, updatedAt: nowIso(now) })
    .where(and(eq(webhookDeliveries.id, row.delivery.id), eq(webhookDeliveries.seq, row.delivery.seq)));
}

const DISABLED_FOR_FAILURES = `It failed ${DISABLE_AFTER_FAILURES} delivery attempts in a row.`;
const DISABLED_FOR_DAYS = "It failed every delivery attempt for 3 days.";

/** Everything an attempt writes, in order, for one batch. `disables` marks the statement whose rows say it disabled the endpoint. */
export function recordAttempt(
  db: Database,
  row: LoadedDelivery,
  result: AttemptResult,
  verdict: Verdict,
  gone: boolean,
): BatchItem<"sqlite">[] {
  const now = Date.now();
  const at = nowIso(now);
  const attempt = row.delivery.attempts + 1;
  const nextRetryAt = verdict.status === "retrying" ? nowIso(now + verdict.retryAfterSeconds * 1000) : null;
  const statements: BatchItem<"sqlite">[] = [
    db.insert(webhookAttempts).values({
      id: newId(now),
      deliveryId: row.delivery.id,
      webhookId: row.webhook.id,
      userId: row.delivery.userId,
      eventId: row.delivery.eventId,
      eventType: row.delivery.eventType,
      attempt,
      outcome: verdict.status === "succeeded" ? "succeeded" : "failed",
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      responseExcerpt: result.excerpt,
      error: result.error,
      nextRetryAt,
      createdAt: nowIso(result.startedAt),
    }),
    db
      .update(webhookDeliveries)
      .set({
        status: verdict.status,
        attempts: sql`${webhookDeliveries.attempts} + 1`,
        nextAttemptAt: nextRetryAt,
        lastStatusCode: result.statusCode,
        lastError: gone
          ? "The receiver answered 410 Gone, so this REST hook was removed."
          : verdict.status === "succeeded"
            ? null
            : result.error,
        updatedAt: at,
      })
      .where(and(eq(webhookDeliveries.id, row.delivery.id), eq(webhookDeliveries.seq, row.delivery.seq))),
  ];
  if (gone) {
    // REST Hooks: a subscriber that answers 410 has unsubscribed (Zapier does when a Zap is turned off).
    statements.push(
      db.delete(webhooks).where(and(eq(webhooks.id, row.webhook.id), eq(webhooks.source, "rest_hook"))),
      ...forgetDeliveries(db, row.delivery.userId, row.webhook.id),
    );
    return statements;
  }
  if (verdict.status === "succeeded") {
    statements.push(
      db
        .update(webhooks)
        .set({ consecutiveFailures: 0, failingSince: null })
        .where(
          and(
            eq(webhooks.id, row.webhook.id),
            sql`(${webhooks.consecutiveFailures} > 0 OR ${webhooks.failingSince} IS NOT NULL)`,
          ),
        ),
    );
    return statements;
  }
  const failingTooLong: SQL = sql`(${webhooks.consecutiveFailures} >= ${DISABLE_AFTER_FAILURES} OR ${webhooks.failingSince} <= ${nowIso(now - DISABLE_AFTER_MS)})`;
  statements.push(
    db
      .update(webhooks)
      .set({
        consecutiveFailures: sql`${webhooks.consecutiveFailures} + 1`,
        failingSince: sql`COALESCE(${webhooks.failingSince}, ${at})`,
      })
      .where(eq(webhooks.id, row.webhook.id)),
    db
      .update(webhooks)
      .set({
        enabled: false,
        disabledReason: sql`CASE WHEN ${webhooks.consecutiveFailures} >= ${DISABLE_AFTER_FAILURES} THEN ${DISABLED_FOR_FAILURES} ELSE ${DISABLED_FOR_DAYS} END`,
        updatedAt: at,
      })
      .where(and(eq(webhooks.id, row.webhook.id), sql`${webhooks.enabled} = 1`, failingTooLong)),
    // Written only when the statement above disabled it (changes() = 1): once per disabling.
    writeEvent(
      db,
      sqlEvent(
        "webhook.disabled",
        row.delivery.userId,
        sqlData(
          "webhook.disabled",
          {
            webhook_id: sql`w.id`,
            url: sql`w.url`,
            reason: sql`w.disabled_reason`,
            consecutive_failures: sql`w.consecutive_failures`,
            failing_since: sql`w.failing_since`,
          },
          sql`FROM webhooks w WHERE w.id = ${row.webhook.id}`,
        ),
        now,
      ),
      { changed: { table: webhooks, id: webhooks.id, value: row.webhook.id } },
    ),
  );
  return statements;
}
