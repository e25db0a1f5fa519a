import { loggableError } from "../db-errors";
import type { Envelope } from "./catalog";

/** The queue's limit of messages per `sendBatch`. */
const SEND_BATCH = 100;

/** The one way events reach the queue. Throws when the queue refuses them. */
export async function sendEvents(queue: Queue<Envelope>, envelopes: readonly Envelope[]): Promise<void> {
  for (let i = 0; i < envelopes.length; i += SEND_BATCH) {
    await queue.sendBatch(envelopes.slice(i, i + SEND_BATCH).map((body) => ({ body, contentType: "json" })));
  }
}

/**
 * Sends recorded events once their batch committed. If sending fails the outbox rows stay undelivered
 * and the reconciler sends them later, so nothing is lost: the failure is only logged.
 */
export async function publishEvents(queue: Queue<Envelope>, recorded: readonly Envelope[]): Promise<void> {
  if (recorded.length === 0) return;
  try {
    await sendEvents(queue, recorded);
  } catch (error) {
    console.warn(
      JSON.stringify({
        level: "warn",
        message: "event publish failed; reconciler will retry",
        error: loggableError(error),
      }),
    );
  }
}
