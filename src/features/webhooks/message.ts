/**
 * What travels on the webhooks queue: "send delivery X now". The delivery's row (webhook_deliveries)
 * holds everything else, so the message is small and a re-send is only a new message. `seq` is the
 * row's fence at enqueue time: a message whose seq the row has moved past (the reconciler re-sent it,
 * its owner replayed it) is stale and dropped.
 */
import { z } from "@hono/zod-openapi";
import { chunkList } from "../../lib/chunk";
import { sha256Hex } from "../../lib/ids";

export const DeliveryMessageSchema = z.object({
  type: z.literal("deliver"),
  delivery_id: z.string().min(1).max(100),
  webhook_id: z.string().min(1).max(64),
  user_id: z.string().min(1).max(200),
  seq: z.number().int().min(1),
});

export type DeliveryMessage = z.infer<typeof DeliveryMessageSchema>;

/** The `webhook-id` of an event's delivery to an endpoint: the same on every attempt and every replay. */
export async function deliveryIdOf(eventId: string, webhookId: string): Promise<string> {
  return `msg_${(await sha256Hex(`${eventId}:${webhookId}`)).slice(0, 32)}`;
}

export const deliveryMessage = (row: {
  id: string;
  webhookId: string;
  userId: string;
  seq: number;
}): DeliveryMessage => ({
  type: "deliver",
  delivery_id: row.id,
  webhook_id: row.webhookId,
  user_id: row.userId,
  seq: row.seq,
});

/** At most 100 messages a send, as Queues allow. Throws when the queue refuses. */
export async function enqueueDeliveries(
  queue: Queue<unknown>,
  messages: readonly DeliveryMessage[],
): Promise<void> {
  for (const chunk of chunkList([...messages], 100)) {
    await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
  }
}
