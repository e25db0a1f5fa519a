import { and, eq } from "drizzle-orm";
import type { Database } from "../../db";
import { learningRuns } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { claimManualRun } from "./runs";

/** How long a client waits before asking again when the queue refused the training. */
const QUEUE_DOWN_RETRY_SECONDS = 60;

const minutes = (seconds: number) => {
  const m = Math.max(1, Math.ceil(seconds / 60));
  return `${m} minute${m === 1 ? "" : "s"}`;
};

/** Claims a training on request and queues it; 409 while one is queued or running, 429 within the hour. */
export async function requestRetraining(db: Database, env: Env, userId: string, now = Date.now()) {
  const claim = await claimManualRun(db, userId, now);
  if (!claim.claimed) {
    const headers = { "Retry-After": String(claim.retryAfter) };
    if (claim.queued) {
      const since = claim.queuedAt ? Math.max(0, Math.round((now - Date.parse(claim.queuedAt)) / 60_000)) : 0;
      throw new ApiError(
        409,
        "training_queued",
        `A training of your models is already queued or running (asked for ${since === 0 ? "just now" : `${since} minute${since === 1 ? "" : "s"} ago`}); ask again in ${minutes(claim.retryAfter)} if you still need one.`,
        { headers },
      );
    }
    throw new ApiError(
      429,
      "retrain_limited",
      `Your models can be retrained once an hour; try again in ${minutes(claim.retryAfter)}.`,
      { headers },
    );
  }
  try {
    await env.LEARNING_QUEUE.send({ type: "train", user_id: userId, night: claim.night });
  } catch {
    // Not queued after all: release the claim, or the user would wait out a run that never comes.
    await db
      .delete(learningRuns)
      .where(and(eq(learningRuns.userId, userId), eq(learningRuns.night, claim.night)))
      .catch(() => undefined);
    throw new ApiError(
      503,
      "training_not_queued",
      "Your models could not be queued for training just now; nothing was started. Try again in a minute.",
      { headers: { "Retry-After": String(QUEUE_DOWN_RETRY_SECONDS) } },
    );
  }
  return { status: "queued" as const, queued_at: nowIso(now) };
}
