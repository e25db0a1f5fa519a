import { and, eq } from "drizzle-orm";
import { createDatabase, type Database } from "../db";
import { learningRuns, POPULATION } from "../db/schema";
import type { Env } from "../env";
import { type LearningMessage, LearningMessageSchema } from "../features/learning/messages";
import { claimPage, claimQueued, PAGE_USERS, releaseRun } from "../features/learning/runs";
import { trainOwner } from "../features/learning/training";
import { chunkList } from "../lib/chunk";
import { nowIso } from "../lib/time";
import { retryDelaySeconds } from "./events-consumer";

/** wrangler.toml: max_retries of pap-learning; the last attempt marks the run failed before the DLQ. */
export const LEARNING_MAX_RETRIES = 3;
/** Queue sends take at most 100 messages each. */
const SEND_BATCH = 100;

/** Sizes tests make small, to see several pages and several sends. */
export interface LearningOptions {
  pageUsers?: number;
  sendBatch?: number;
}

export function log(level: "info" | "error", message: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

async function handle(
  db: Database,
  env: Env,
  body: LearningMessage,
  now: number,
  options: LearningOptions,
): Promise<void> {
  if (body.type === "page") {
    const pageUsers = options.pageUsers ?? PAGE_USERS;
    const { users, queued } = await claimPage(db, body.night, body.after, now, pageUsers);
    const next: LearningMessage[] = queued.map((userId) => ({
      type: "train",
      user_id: userId,
      night: body.night,
    }));
    // The first page also starts the population model's training; retried with the page if a send fails.
    if (body.after === null && (await claimQueued(db, POPULATION, body.night, now)))
      next.push({ type: "train", user_id: POPULATION, night: body.night });
    const last = users.at(-1);
    if (users.length === pageUsers && last) next.push({ type: "page", night: body.night, after: last });
    for (const chunk of chunkList(next, options.sendBatch ?? SEND_BATCH))
      await env.LEARNING_QUEUE.sendBatch(chunk.map((m) => ({ body: m })));
    return;
  }
  const summary = await trainOwner(db, body.user_id, body.night, now);
  if (!summary) {
    log("info", "training already taken", { user_id: body.user_id, night: body.night });
    return;
  }
  log("info", "trained", { user_id: summary.owner, status: summary.status, training_ms: summary.trainingMs });
}

/**
 * The learning queue consumer: pages of users to claim, and trainings. A failing message is retried
 * with backoff (a training gives its run back first); on its last attempt its run is marked failed,
 * then the queue dead-letters it.
 */
export async function consumeLearning(
  batch: MessageBatch<unknown>,
  env: Env,
  options: LearningOptions = {},
): Promise<void> {
  const db = createDatabase(env.DB);
  for (const message of batch.messages) {
    const parsed = LearningMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log("error", "dropping a malformed learning message", { id: message.id });
      message.ack();
      continue;
    }
    try {
      await handle(db, env, parsed.data, Date.now(), options);
      message.ack();
    } catch (error) {
      log("error", "learning message failed", { id: message.id, error: String(error) });
      if (parsed.data.type === "train") {
        const { user_id: owner, night } = parsed.data;
        const last = message.attempts > LEARNING_MAX_RETRIES;
        await (last
          ? db
              .update(learningRuns)
              .set({ status: "failed", detail: { error: String(error).slice(0, 200) }, finishedAt: nowIso() })
              .where(and(eq(learningRuns.userId, owner), eq(learningRuns.night, night)))
          : releaseRun(db, owner, night)
        ).catch(() => undefined);
      }
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
