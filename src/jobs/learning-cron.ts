import { createDatabase } from "../db";
import { POPULATION } from "../db/schema";
import type { Env } from "../env";
import type { LearningMessage } from "../features/learning/messages";
import { claimRun, nightOf } from "../features/learning/runs";

/**
 * The nightly training cron (03:00 UTC): claims the population model's run of the night and enqueues
 * the first page of active users; the consumer claims each page and enqueues the next, so one
 * invocation never has to reach every user. Run twice, it claims nothing new: one training per user
 * per night.
 */
export async function scheduleNightlyTraining(env: Env, now = Date.now()): Promise<void> {
  const night = nightOf(now);
  const messages: LearningMessage[] = [{ type: "page", night, after: null }];
  if (await claimRun(createDatabase(env.DB), POPULATION, night, now)) {
    messages.push({ type: "train", user_id: POPULATION, night });
  }
  await env.LEARNING_QUEUE.sendBatch(messages.map((body) => ({ body })));
}
