/**
 * The D1 side of deliveries: loading what a batch of messages needs in one query, and the statements
 * that record an attempt. The delivery's row is updated first, fenced by its seq and attempt count and
 * stamped with the attempt's id; the log line, the endpoint's health and its disabling (with a
 * `webhook.disabled` event) are written only if that stamp holds. An attempt overtaken by a replay,
 * the reconciler or a twin message therefore counts nowhere.
 */
import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { events, webhookAttempts, webhookDeliveries, webhooks } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import { publishedData } from "../../lib/events/catalog";
import { sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { newId } from "../../lib/ids";
import { literal as value } from "../../lib/sql-literal";
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
            nextAttemptAt: webhookDeliveries.nextAttemptAt,
            sends: webhookDeliveries.sends,
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
  if (!event?.type || event.data === null || event.occurredAt === null || event.version === null) return null;
  return JSON.stringify({
    type: event.type,
    timestamp: event.occurredAt,
    data: publishedData(event.type, event.version, event.data),
  });
}

const isOpen = () => sql`${webhookDeliveries.status} IN ('pending', 'retrying')`;

/** The delivery ends without an attempt (its endpoint was disabled, its event deleted). */
export function abandonStatement(db: Database, row: LoadedDelivery, reason: string, now: number) {
  return db
    .update(webhookDeliveries)
    .set({ status: "failed", nextAttemptAt: null, lastError: reason, updatedAt: nowIso(now) })
    .where(
      and(eq(webhookDeliveries.id, row.delivery.id), eq(webhookDeliveries.seq, row.delivery.seq), isOpen()),
    );
}

/** The receiver took it but the attempt could not be recorded: at least never send it again. */
export function markDelivered(db: Database, row: LoadedDelivery) {
  return db
    .update(webhookDeliveries)
    .set({ status: "succeeded", nextAttemptAt: null, lastError: null, updatedAt: nowIso() })
    .where(and(eq(webhookDeliveries.id, row.delivery.id), eq(webhookDeliveries.seq, row.delivery.seq)));
}

/** Only the host: a full URL may carry a secret (Zapier's catch hooks are one). */
function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "an endpoint";
  }
}

const DISABLED_FOR_FAILURES = `${DISABLE_AFTER_FAILURES} deliveries in a row failed.`;
const DISABLED_FOR_DAYS = "Every delivery attempt failed for 3 days.";

/** What an attempt writes: the statements, and where in them the fence and the event are. */
export interface Recording {
  statements: BatchItem<"sqlite">[];
  /** The fenced delivery update (RETURNING): one row when the attempt counts. */
  fence: number;
  /** The `webhook.disabled` event's insert (RETURNING the rows written), when the attempt failed. */
  event: number | null;
}

export interface AttemptContext {
  row: LoadedDelivery;
  result: AttemptResult;
  verdict: Verdict;
  /** The attempt's number within its round (1 for a delivery's first send, or a replay's). */
  attemptInRound: number;
  /** A REST hook answered 410 Gone: it unsubscribed. */
  gone: boolean;
}

export function recordAttempt(db: Database, context: AttemptContext): Recording {
  const { row, result, verdict, attemptInRound, gone } = context;
  const now = Date.now();
  const at = nowIso(now);
  const attemptId = newId(now);
  const nextRetryAt = verdict.status === "retrying" ? nowIso(now + verdict.retryAfterSeconds * 1000) : null;
  const stamped = sql`EXISTS (SELECT 1 FROM ${webhookDeliveries} WHERE ${webhookDeliveries.id} = ${row.delivery.id} AND ${webhookDeliveries.lastAttemptId} = ${attemptId})`;
  const statements: BatchItem<"sqlite">[] = [
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
        lastAttemptId: attemptId,
        updatedAt: at,
      })
      .where(
        and(
          eq(webhookDeliveries.id, row.delivery.id),
          eq(webhookDeliveries.seq, row.delivery.seq),
          eq(webhookDeliveries.attempts, row.delivery.attempts),
          isOpen(),
        ),
      )
      .returning({ id: webhookDeliveries.id }),
    // Columns in the table's order: INSERT … SELECT matches them by position.
    db.insert(webhookAttempts).select(
      db
        .select({
          id: value(attemptId, "id"),
          deliveryId: value(row.delivery.id, "delivery_id"),
          webhookId: value(row.webhook.id, "webhook_id"),
          userId: value(row.delivery.userId, "user_id"),
          eventId: value(row.delivery.eventId, "event_id"),
          eventType: value(row.delivery.eventType, "event_type"),
          attempt: value(row.delivery.attempts + 1, "attempt"),
          outcome: value(verdict.status === "succeeded" ? "succeeded" : "failed", "outcome"),
          statusCode: value(result.statusCode, "status_code"),
          latencyMs: value(result.latencyMs, "latency_ms"),
          responseExcerpt: value(result.excerpt, "response_excerpt"),
          error: value(result.error, "error"),
          nextRetryAt: value(nextRetryAt, "next_retry_at"),
          createdAt: value(nowIso(result.startedAt), "created_at"),
        })
        .from(sql`(SELECT 1)`)
        .where(stamped),
    ),
  ];
  if (gone) {
    // REST Hooks: a subscriber that answers 410 has unsubscribed (Zapier does when a Zap is turned off).
    statements.push(
      db
        .delete(webhooks)
        .where(and(eq(webhooks.id, row.webhook.id), eq(webhooks.source, "rest_hook"), stamped)),
      ...forgetDeliveries(db, row.delivery.userId, row.webhook.id),
    );
    return { statements, fence: 0, event: null };
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
            stamped,
          ),
        ),
    );
    return { statements, fence: 0, event: null };
  }
  const failingTooLong: SQL = sql`(${webhooks.consecutiveFailures} >= ${DISABLE_AFTER_FAILURES} OR ${webhooks.failingSince} <= ${nowIso(now - DISABLE_AFTER_MS)})`;
  statements.push(
    db
      .update(webhooks)
      .set({
        // A delivery counts once, at its first failure: "100 deliveries in a row", not 100 retries.
        consecutiveFailures: sql`${webhooks.consecutiveFailures} + ${attemptInRound === 1 ? 1 : 0}`,
        failingSince: sql`COALESCE(${webhooks.failingSince}, ${at})`,
      })
      .where(and(eq(webhooks.id, row.webhook.id), stamped)),
    db
      .update(webhooks)
      .set({
        enabled: false,
        disabledReason: sql`CASE WHEN ${webhooks.consecutiveFailures} >= ${DISABLE_AFTER_FAILURES} THEN ${DISABLED_FOR_FAILURES} ELSE ${DISABLED_FOR_DAYS} END`,
        updatedAt: at,
      })
      .where(and(eq(webhooks.id, row.webhook.id), sql`${webhooks.enabled} = 1`, failingTooLong, stamped)),
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
            // Only the host: a full URL may carry a secret (Zapier's catch hooks are one).
            host: sql`${hostOf(row.webhook.url)}`,
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
  return { statements, fence: 0, event: statements.length - 1 };
}
