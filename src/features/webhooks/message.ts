/**
 * What travels on the webhooks queue: one delivery of one event to one endpoint. Its `delivery_id`
 * is derived from the pair, so however often the event is handled the receiver sees one `webhook-id`.
 */
import { z } from "@hono/zod-openapi";
import { chunkList } from "../../lib/chunk";
import type { Envelope } from "../../lib/events/catalog";
import { sha256Hex } from "../../lib/ids";

export const DeliveryMessageSchema = z.object({
  type: z.literal("deliver"),
  delivery_id: z.string().min(1).max(100),
  webhook_id: z.string().min(1).max(64),
  user_id: z.string().min(1).max(200),
  event: z.object({
    id: z.string().min(1),
    type: z.string().min(1),
    version: z.number().int(),
    user_id: z.string(),
    occurred_at: z.string(),
    data: z.record(z.string(), z.unknown()),
  }),
});

export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

/** The `webhook-id` of an event's delivery to an endpoint: the same on every attempt and every replay. */
export async function deliveryIdOf(eventId: string, webhookId: string): Promise<string> {
  return `msg_${(await sha256Hex(`${eventId}:${webhookId}`)).slice(0, 32)}`;
}

export async function deliveryMessage(event: Envelope, webhookId: string): Promise<DeliveryMessage> {
  return {
    type: "deliver",
    delivery_id: await deliveryIdOf(event.id, webhookId),
    webhook_id: webhookId,
    user_id: event.user_id,
    event: { ...event, data: event.data as Record<string, unknown> },
  };
}

/** At most 100 messages a send, as Queues allow. Throws when the queue refuses. */
export async function enqueueDeliveries(
  queue: Queue<unknown>,
  messages: readonly DeliveryMessage[],
): Promise<void> {
  for (const chunk of chunkList([...messages], 100)) {
    await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
  }
}
