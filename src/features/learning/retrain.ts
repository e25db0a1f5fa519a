import type { Database } from "../../db";
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
  await env.LEARNING_QUEUE.send({ type: "train", user_id: userId, night: claim.night });
  return { status: "queued" as const, queued_at: nowIso(now) };
}
