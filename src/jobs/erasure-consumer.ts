import type { Env } from "../env";
import {
  continueErasure,
  enqueueErasure,
  JOB_BUDGET,
  RESWEEP_DELAY_SECONDS,
} from "../features/account/erasure";
import { type ErasureMessage, ErasureMessageSchema } from "../features/account/messages";
import { loggableError } from "../lib/db-errors";
import { retryDelaySeconds } from "./events-consumer";

/**
 * Goes on with one account's erasure: "erase" until it is complete (a message that ran out of budget
 * sends itself again), then one delayed sweep; "sweep" once. An account that is neither being deleted
 * nor gone is left alone.
 */
async function erase(env: Env, message: ErasureMessage, budget: number): Promise<void> {
  const outcome = await continueErasure(env, message.user_id, budget);
  if (outcome === "more") await enqueueErasure(env, { type: "erase", user_id: message.user_id });
  else if (outcome === "done" && message.type === "erase")
    await enqueueErasure(env, { type: "sweep", user_id: message.user_id }, RESWEEP_DELAY_SECONDS);
}

/**
 * The erasure queue's consumer. Messages for the same account in one delivery are done once (a
 * deleted account's token hammering write routes sends many sweeps); the accounts share the
 * invocation's statement budget. A failure is retried with backoff, then dead-lettered — and the
 * housekeeping cron resumes any account still marked as being deleted.
 */
export async function consumeErasure(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const byAccount = new Map<string, { body: ErasureMessage; messages: Message<unknown>[] }>();
  for (const message of batch.messages) {
    const parsed = ErasureMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      console.error(
        JSON.stringify({ level: "error", message: "dropping a malformed erasure message", id: message.id }),
      );
      message.ack();
      continue;
    }
    const entry = byAccount.get(parsed.data.user_id);
    if (!entry) byAccount.set(parsed.data.user_id, { body: parsed.data, messages: [message] });
    else {
      entry.messages.push(message);
      // An "erase" covers a sweep of the same account (and sends its own sweep after).
      if (parsed.data.type === "erase") entry.body = parsed.data;
    }
  }
  const budget = Math.max(50, Math.floor(JOB_BUDGET / Math.max(1, byAccount.size)));
  for (const { body, messages } of byAccount.values()) {
    try {
      await erase(env, body, budget);
      for (const message of messages) message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          message: "erasure failed; will retry",
          type: body.type,
          error: loggableError(error),
        }),
      );
      for (const message of messages) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
