import type { Env } from "../env";
import type { LearningMessage } from "../features/learning/messages";
import { nightOf } from "../features/learning/runs";

/**
 * The nightly training cron (03:00 UTC): enqueues the first page of active users. The consumer claims
 * each page (and, on the first, the population model's run) and enqueues the next, so one invocation
 * never has to reach every user, and every claim is retried with the message that made it. Run twice,
 * it trains nothing twice: each training first takes its run (queued → running).
 */
export async function scheduleNightlyTraining(env: Env, now = Date.now()): Promise<void> {
  const first: LearningMessage = { type: "page", night: nightOf(now), after: null };
  await env.LEARNING_QUEUE.send(first);
}
