/**
 * One delivery attempt: the endpoint's current secrets sign the Standard Webhooks body, `safeFetch`
 * sends it (every redirect hop checked, one timeout), and the attempt is written to the log whatever
 * happened. The queue retries a failed attempt with backoff and jitter, under the same `webhook-id`.
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../../db";
import { webhookAttempts, webhooks } from "../../db/schema";
import type { Env } from "../../env";
import { bodyPrefix, deadlineOf } from "../../lib/body-prefix";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { safeFetch } from "../../lib/webhooks/safe-fetch";
import { signedHeaders } from "../../lib/webhooks/signature";
import type { DeliveryMessage } from "./message";
import { allowsLocalReceivers, secretsInForce } from "./service";

/** A receiver gets this long to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** Queues delay a retry by at most this. */
const MAX_DELAY_SECONDS = 43_200;
/** The start of the receiver's answer kept in the log. */
const EXCERPT_BYTES = 2048;

/** Backoff with jitter for attempt n (1-based): about 30 s, 2 min, 8 min, 30 min, 2 h … at most 12 h. */
export function retryDelaySeconds(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_SECONDS, 30 * 4 ** Math.max(0, attempt - 1));
  // Clamped after the jitter: Queues delay a message by at most 12 hours.
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.round(base * (0.75 + random() * 0.5))));
}

/** The start of the answer, read until `deadline` at the latest: a receiver that trickles its body is cut off. */
async function excerptOf(response: Response, deadline: number): Promise<string> {
  const late = deadlineOf(deadline);
  try {
    return await bodyPrefix(response, EXCERPT_BYTES, late.stop);
  } finally {
    late.clear();
  }
}

export type AttemptOutcome =
  | { delivered: true }
  | { delivered: false; retryAfterSeconds: number }
  | { skipped: string };

/** Sends one delivery once and logs it. `attempt` is the queue's attempt count (1 for the first). */
export async function attemptDelivery(
  db: Database,
  env: Env,
  message: DeliveryMessage,
  attempt: number,
): Promise<AttemptOutcome> {
  const webhook = await db
    .select()
    .from(webhooks)
    .where(and(eq(webhooks.id, message.webhook_id), eq(webhooks.userId, message.user_id)))
    .get();
  if (!webhook) return { skipped: "The webhook was deleted." };
  if (!webhook.enabled) return { skipped: "The webhook is disabled." };
  const body = JSON.stringify({
    type: message.event.type,
    timestamp: message.event.occurred_at,
    data: message.event.data,
  });
  const started = Date.now();
  const headers = await signedHeaders(
    secretsInForce(webhook, started),
    message.delivery_id,
    Math.floor(started / 1000),
    body,
  );
  let statusCode: number | null = null;
  let excerpt: string | null = null;
  let error: string | null = null;
  try {
    const response = await safeFetch(webhook.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "ProxyAgentPlatform-Webhooks/1",
        ...headers,
      },
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      allowLocal: allowsLocalReceivers(env),
    });
    statusCode = response.status;
    excerpt = await excerptOf(response, started + DELIVERY_TIMEOUT_MS);
  } catch (failure) {
    error = failure instanceof Error ? failure.message.slice(0, 500) : String(failure).slice(0, 500);
  }
  const delivered = statusCode !== null && statusCode >= 200 && statusCode < 300;
  const retryAfterSeconds = delivered ? 0 : retryDelaySeconds(attempt);
  try {
    await db
      .insert(webhookAttempts)
      .values({
        id: newId(),
        deliveryId: message.delivery_id,
        webhookId: webhook.id,
        userId: webhook.userId,
        eventId: message.event.id,
        eventType: message.event.type,
        attempt,
        outcome: delivered ? "succeeded" : "failed",
        statusCode,
        latencyMs: Date.now() - started,
        responseExcerpt: excerpt,
        error,
        nextRetryAt: delivered ? null : nowIso(Date.now() + retryAfterSeconds * 1000),
        createdAt: nowIso(started),
      })
      .run();
  } catch (logFailure) {
    // A delivery the receiver took is not sent again because its log line could not be written.
    if (!delivered) throw logFailure;
    console.error(
      JSON.stringify({ level: "error", message: "webhook attempt not logged", error: String(logFailure) }),
    );
  }
  return delivered ? { delivered: true } : { delivered: false, retryAfterSeconds };
}
