/**
 * What travels on the notifications queue. Producers (event handlers, cron jobs) only enqueue these;
 * the consumer alone decides and writes (src/jobs/notifications-consumer.ts). Every message is safe to
 * deliver twice: a `notify` by its key, the others by the state of the rows they name.
 */
import { z } from "@hono/zod-openapi";
import { NOTIFICATION_KINDS } from "../../db/schema/notifications";
import { chunkList } from "../../lib/chunk";

const id = z.string().min(1).max(200);

export const NotifyMessageSchema = z.object({
  type: z.literal("notify"),
  user_id: id,
  /** One notification per key per user: `event:<event id>`, `due_soon:<task>:<due>:<minutes>` … */
  key: z.string().min(1).max(300),
  kind: z.enum(NOTIFICATION_KINDS),
  title: z.string().min(1).max(200),
  body: z.string().max(1000),
  data: z.record(z.string(), z.unknown()),
  /** When the producer enqueued it (ms), for enqueue-to-inbox latency. */
  enqueued_at: z.number().int(),
});

export const NotificationMessageSchema = z.discriminatedUnion("type", [
  NotifyMessageSchema,
  /** A deferred notification whose quiet hours ended: deliver it. */
  z.object({ type: z.literal("release"), user_id: id, notification_id: id }),
  /** A delivered notification whose pushes are still pending (a crash, a retry that ran out). */
  z.object({ type: z.literal("push"), user_id: id, notification_id: id }),
  /** The user's folded notifications whose digest is due: fold them into one. */
  z.object({ type: z.literal("digest"), user_id: id, until: z.number().int() }),
  /** Expo tickets old enough for their receipts. */
  z.object({
    type: z.literal("receipts"),
    pushes: z
      .array(z.object({ notification_id: id, target_id: id, ticket_id: id }))
      .min(1)
      .max(100),
  }),
]);

export type NotifyMessage = z.infer<typeof NotifyMessageSchema>;
export type NotificationMessage = z.infer<typeof NotificationMessageSchema>;
export type NotifyDraft = Omit<NotifyMessage, "type" | "enqueued_at">;

/** The messages' queue form: at most 100 a send, as Queues allow. Throws when the queue refuses. */
export async function enqueueNotifications(
  queue: Queue<unknown>,
  messages: readonly NotificationMessage[],
): Promise<void> {
  for (const chunk of chunkList([...messages], 100)) {
    await queue.sendBatch(chunk.map((body) => ({ body, contentType: "json" as const })));
  }
}

/** `notify` messages for these drafts, stamped now. */
export function notifyMessages(drafts: readonly NotifyDraft[], now = Date.now()): NotifyMessage[] {
  return drafts.map((d) => ({ type: "notify", ...d, enqueued_at: now }));
}
