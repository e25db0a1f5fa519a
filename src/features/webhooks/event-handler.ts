/**
 * Domain events fan out to the webhooks that asked for them. `prepare` writes one delivery row per
 * (event, endpoint) in the events consumer's batch, with its receipt: the outbox of deliveries, so
 * nothing is lost if the webhooks queue is down (the reconciler re-sends rows left waiting). `after`
 * enqueues a message per delivery once that batch committed; a redelivered event enqueues the same
 * deliveries again, and the consumer drops what was already sent.
 */
import { and, inArray, sql } from "drizzle-orm";
import { createDatabase, type Database } from "../../db";
import { webhookDeliveries, webhooks } from "../../db/schema";
import { chunkList, chunkRows } from "../../lib/chunk";
import { EVENT_TYPES } from "../../lib/events/catalog";
import type { EventHandler } from "../../lib/events/handler";
import { nowIso } from "../../lib/time";
import { planDeliveries, type Subscriber } from "./fan-out";
import { deliveryMessage, enqueueDeliveries } from "./message";

/** The enabled endpoints of these users: one round trip for up to 90 users. */
async function subscribersOf(db: Database, userIds: readonly string[]): Promise<Subscriber[]> {
  const found: Subscriber[] = [];
  for (const chunk of chunkList([...new Set(userIds)], 90)) {
    found.push(
      ...(await db
        .select({ id: webhooks.id, userId: webhooks.userId, eventTypes: webhooks.eventTypes })
        .from(webhooks)
        .where(and(inArray(webhooks.userId, chunk), sql`${webhooks.enabled} = 1`))
        .all()),
    );
  }
  return found;
}

/** Parameters a delivery row binds (its defaults included): chunked to stay under 100 a statement. */
const BOUND_PER_ROW = 13;

export const webhooksHandler: EventHandler = {
  name: "webhooks",
  types: EVENT_TYPES,
  prepare: async (db, events) => {
    const plan = await planDeliveries(
      events,
      await subscribersOf(
        db,
        events.map((e) => e.user_id),
      ),
    );
    return (event) => {
      const now = nowIso();
      const rows = (plan.get(event.id) ?? []).map((d) => ({
        ...d,
        nextAttemptAt: now,
        createdAt: now,
        updatedAt: now,
      }));
      if (rows.length === 0) return { statements: [], noReceipt: true };
      return {
        statements: chunkRows(rows, BOUND_PER_ROW).map((chunk) =>
          db.insert(webhookDeliveries).values(chunk).onConflictDoNothing(),
        ),
      };
    };
  },
  // Throws when the queue refuses, so the event is retried; the rows wait for the reconciler anyway.
  after: async (env, events) => {
    const db = createDatabase(env.DB);
    const plan = await planDeliveries(
      events,
      await subscribersOf(
        db,
        events.map((e) => e.user_id),
      ),
    );
    const messages = [...plan.values()].flat().map((d) => deliveryMessage({ ...d, seq: 1 }));
    await enqueueDeliveries(env.WEBHOOKS_QUEUE, messages);
  },
};
