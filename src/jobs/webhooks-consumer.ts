import { createDatabase } from "../db";
import type { Env } from "../env";
import { attemptDelivery } from "../features/webhooks/delivery";
import { DeliveryMessageSchema } from "../features/webhooks/message";
import { writeDeadLetters } from "./dead-letters";

/**
 * The webhooks queue consumer: each message is one delivery, attempted once per queue delivery; a
 * failure is retried with backoff and jitter (the queue's per-message delay), then dead-lettered after
 * the queue's max_retries. Deliveries run side by side, so one slow receiver holds back no other.
 */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDatabase(env.DB);
  const malformed: Message<unknown>[] = [];
  await Promise.all(
    batch.messages.map(async (message) => {
      const parsed = DeliveryMessageSchema.safeParse(message.body);
      if (!parsed.success) {
        malformed.push(message);
        return;
      }
      try {
        const outcome = await attemptDelivery(db, env, parsed.data, message.attempts);
        if ("delivered" in outcome && !outcome.delivered)
          message.retry({ delaySeconds: outcome.retryAfterSeconds });
        else message.ack();
      } catch (error) {
        console.error(
          JSON.stringify({ level: "error", message: "webhook delivery failed", error: String(error) }),
        );
        message.retry({ delaySeconds: 60 });
      }
    }),
  );
  try {
    await writeDeadLetters(db, malformed);
    for (const message of malformed) message.ack();
  } catch {
    for (const message of malformed) message.retry({ delaySeconds: 60 });
  }
}
