import { createDatabase, type Database } from "../db";
import { POPULATION } from "../db/schema";
import type { Env } from "../env";
import { type LearningMessage, LearningMessageSchema } from "../features/learning/messages";
import { claimPage, claimQueued, failRun, PAGE_USERS, releaseRun, startRun } from "../features/learning/runs";
import { trainTaken } from "../features/learning/training";
import { chunkList } from "../lib/chunk";
import { loggableError } from "../lib/db-errors";
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

async function handlePage(
  db: Database,
  env: Env,
  body: Extract<LearningMessage, { type: "page" }>,
  now: number,
  options: LearningOptions,
): Promise<void> {
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
}

/**
 * The learning queue consumer: pages of users to claim, and trainings. A training whose run another
 * delivery holds comes back once that run would be stale (a consumer killed mid-training never
 * finishes it, and the retake must not be lost with an ack). A failing message is retried with
 * backoff; a training gives back only the run it took, and on its last attempt marks failed only its
 * own run (or one nobody took), then the queue dead-letters it.
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
    const body = parsed.data;
    // Set once this delivery holds the run: only then may its failure touch the run.
    let token: string | null = null;
    try {
      const now = Date.now();
      if (body.type === "page") {
        await handlePage(db, env, body, now, options);
        message.ack();
        continue;
      }
      const take = await startRun(db, body.user_id, body.night, now);
      if (!take.taken) {
        if (take.inProgress) {
          log("info", "training held by another delivery; retried once it would be stale", {
            user_id: body.user_id,
            night: body.night,
            delay_seconds: take.retryAfterSeconds,
          });
          message.retry({ delaySeconds: take.retryAfterSeconds });
        } else {
          log("info", "training already finished", { user_id: body.user_id, night: body.night });
          message.ack();
        }
        continue;
      }
      token = take.token;
      const summary = await trainTaken(db, body.user_id, body.night, token, now);
      if (!summary) {
        log("info", "training dropped: the account was deleted", { night: body.night });
        message.ack();
        continue;
      }
      log("info", "trained", {
        user_id: summary.owner,
        status: summary.status,
        training_ms: summary.trainingMs,
      });
      message.ack();
    } catch (error) {
      log("error", "learning message failed", { id: message.id, error: loggableError(error) });
      if (body.type === "train") {
        const { user_id: owner, night } = body;
        const last = message.attempts > LEARNING_MAX_RETRIES;
        const giveBack = last
          ? failRun(db, owner, night, token, loggableError(error), Date.now())
          : token === null
            ? null
            : releaseRun(db, owner, night, token);
        await giveBack?.catch(() => undefined);
      }
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
