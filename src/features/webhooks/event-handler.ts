/**
 * Domain events fan out to the webhooks that asked for them: one delivery message per (event,
 * endpoint), enqueued after the events' batch committed. A redelivered event enqueues the same
 * delivery ids again; receivers deduplicate on `webhook-id`.
 */
import { and, inArray, sql } from "drizzle-orm";
import { createDatabase } from "../../db";
import { webhooks } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import { EVENT_TYPES } from "../../lib/events/catalog";
import type { EventHandler } from "../../lib/events/handler";
import { type DeliveryMessage, deliveryMessage, enqueueDeliveries } from "./message";

export const webhooksHandler: EventHandler = {
  name: "webhooks",
  types: EVENT_TYPES,
  after: async (env, events) => {
    const db = createDatabase(env.DB);
    const users = [...new Set(events.map((e) => e.user_id))];
    const endpoints: { id: string; userId: string; eventTypes: string[] }[] = [];
    for (const chunk of chunkList(users, 90)) {
      endpoints.push(
        ...(await db
          .select({ id: webhooks.id, userId: webhooks.userId, eventTypes: webhooks.eventTypes })
          .from(webhooks)
          .where(and(inArray(webhooks.userId, chunk), sql`${webhooks.enabled} = 1`))
          .all()),
      );
    }
    if (endpoints.length === 0) return;
    const messages: DeliveryMessage[] = [];
    for (const event of events) {
      for (const endpoint of endpoints) {
        if (endpoint.userId !== event.user_id) continue;
        if (!endpoint.eventTypes.includes("*") && !endpoint.eventTypes.includes(event.type)) continue;
        messages.push(await deliveryMessage(event, endpoint.id));
      }
    }
    await enqueueDeliveries(env.WEBHOOKS_QUEUE, messages);
  },
};
