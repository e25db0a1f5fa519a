import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker, { QUEUE_NAMES } from "../../src/index";
import type { Envelope, EventType } from "../../src/lib/events/catalog";

interface OutboxRow {
  id: string;
  type: string;
  version: number;
  user_id: string;
  data: string;
  occurred_at: string;
}

const toEnvelope = (row: OutboxRow): Envelope => ({
  id: row.id,
  type: row.type as EventType,
  version: row.version,
  user_id: row.user_id,
  occurred_at: row.occurred_at,
  data: JSON.parse(row.data) as Envelope["data"],
});

const ENVELOPE_COLUMNS = "id, type, version, user_id, data, occurred_at";

/** Every event of the user's, in order (delivered or not). */
export async function eventsOf<T extends EventType = EventType>(
  userId: string,
  type?: T,
): Promise<Envelope<T>[]> {
  const { results } = await env.DB.prepare(
    `SELECT ${ENVELOPE_COLUMNS} FROM events WHERE user_id = ?${type ? " AND type = ?" : ""} ORDER BY id`,
  )
    .bind(...(type ? [userId, type] : [userId]))
    .all<OutboxRow>();
  return results.map(toEnvelope) as Envelope<T>[];
}

/** A message as the queue hands it to its consumer. */
export interface QueuedMessage {
  id: string;
  body: unknown;
}

type Consumer = (batch: MessageBatch<unknown>) => Promise<void>;

// Queue handlers take controllers that cannot cross RPC, so they are called directly.
const theWorkersConsumer: Consumer = (batch) => worker.queue(batch, env);

/**
 * Hands these messages to a consumer (the Worker's queue handler unless told) as one delivery of the
 * events queue, and answers what it acked and what it asked to retry.
 */
export async function runEventsQueue(messages: QueuedMessage[], consume: Consumer = theWorkersConsumer) {
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.events,
    messages.map(({ id, body }) => ({ id, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await consume(batch);
  return getQueueResult(batch, ctx);
}

/** Runs the events queue consumer on these events, as the queue would deliver them. */
export function deliver(events: Envelope[]) {
  return runEventsQueue(events.map((body, i) => ({ id: `msg-${body.id}-${i}`, body })));
}

/**
 * Delivers the user's undelivered events until none are left (handlers write new ones: level.up,
 * achievement.unlocked …). The background queue may be delivering them too; both are idempotent.
 */
export async function settle(userId: string): Promise<void> {
  for (let round = 0; round < 5; round++) {
    const { results } = await env.DB.prepare(
      `SELECT ${ENVELOPE_COLUMNS} FROM events WHERE user_id = ? AND delivered_at IS NULL ORDER BY id`,
    )
      .bind(userId)
      .all<OutboxRow>();
    if (results.length === 0) return;
    await deliver(results.map(toEnvelope));
  }
}
