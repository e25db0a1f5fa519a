import { and, eq } from "drizzle-orm";
import type { Database } from "../../db";
import { learningRuns } from "../../db/schema";
import type { Env } from "../../env";
import { ApiError } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { claimManualRun } from "./runs";

/** Claims a training on request and queues it; 409 while one is queued, 429 within the hour. */
export async function requestRetraining(db: Database, env: Env, userId: string, now = Date.now()) {
  const claim = await claimManualRun(db, userId, now);
  if (!claim.claimed) {
    if (claim.queued)
      throw new ApiError(
        409,
        "training_queued",
        "A training of your models is already queued; it runs shortly.",
      );
    throw new ApiError(
      429,
      "retrain_limited",
      `Your models can be retrained once an hour; try again in ${Math.ceil(claim.retryAfter / 60)} minutes.`,
      { headers: { "Retry-After": String(claim.retryAfter) } },
    );
  }
  try {
    await env.LEARNING_QUEUE.send({ type: "train", user_id: userId, night: claim.night });
  } catch (error) {
    // Not queued after all: release the claim, or the user would wait out a run that never comes.
    await db
      .delete(learningRuns)
      .where(and(eq(learningRuns.userId, userId), eq(learningRuns.night, claim.night)))
      .catch(() => undefined);
    throw error;
  }
  return { status: "queued" as const, queued_at: nowIso(now) };
}
