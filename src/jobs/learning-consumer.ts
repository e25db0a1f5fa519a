import { and, eq } from "drizzle-orm";
import { createDatabase, type Database } from "../db";
import { learningRuns } from "../db/schema";
import type { Env } from "../env";
import { type LearningMessage, LearningMessageSchema } from "../features/learning/messages";
import { claimPage, PAGE_USERS } from "../features/learning/runs";
import { trainOwner } from "../features/learning/training";
import { chunkList } from "../lib/chunk";
import { nowIso } from "../lib/time";
import { retryDelaySeconds } from "./events-consumer";

/** wrangler.toml: max_retries of pap-learning; the last attempt marks the run failed before the DLQ. */
export const LEARNING_MAX_RETRIES = 3;
/** Queue sends take at most 100 messages each. */
const SEND_BATCH = 100;

function log(level: "info" | "error", message: string, fields: Record<string, unknown>) {
  const line = JSON.stringify({ level, message, ...fields });
  if (level === "error") console.error(line);
  else console.log(line);
}

async function handle(db: Database, env: Env, body: LearningMessage, now: number): Promise<void> {
  if (body.type === "page") {
    const { users, claimed } = await claimPage(db, body.night, body.after, now);
    const next: LearningMessage[] = claimed.map((userId) => ({
      type: "train",
      user_id: userId,
      night: body.night,
    }));
    const last = users.at(-1);
    if (users.length === PAGE_USERS && last) next.push({ type: "page", night: body.night, after: last });
    for (const chunk of chunkList(next, SEND_BATCH))
      await env.LEARNING_QUEUE.sendBatch(chunk.map((m) => ({ body: m })));
    return;
  }
  const summary = await trainOwner(db, body.user_id, body.night, now);
  log("info", "trained", { user_id: summary.owner, status: summary.status, training_ms: summary.trainingMs });
}

/**
 * The learning queue consumer: pages of users to claim, and trainings. A failing message is retried
 * with backoff; on its last attempt its run is marked failed, then the queue dead-letters it.
 */
export async function consumeLearning(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDatabase(env.DB);
  for (const message of batch.messages) {
    const parsed = LearningMessageSchema.safeParse(message.body);
    if (!parsed.success) {
      log("error", "dropping a malformed learning message", { id: message.id });
      message.ack();
      continue;
    }
    try {
      await handle(db, env, parsed.data, Date.now());
      message.ack();
    } catch (error) {
      log("error", "learning message failed", { id: message.id, error: String(error) });
      if (parsed.data.type === "train" && message.attempts > LEARNING_MAX_RETRIES) {
        await db
          .update(learningRuns)
          .set({ status: "failed", detail: { error: String(error).slice(0, 200) }, finishedAt: nowIso() })
          .where(and(eq(learningRuns.userId, parsed.data.user_id), eq(learningRuns.night, parsed.data.night)))
          .catch(() => undefined);
      }
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
