import { and, asc, inArray, isNotNull, isNull, lt, or, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import {
  idempotencyKeys,
  loginThrottles,
  predictionLog,
  users,
  webhookAttempts,
  webhookDeliveries,
} from "../db/schema";
import type { Env } from "../env";
import { continueErasure, enqueueErasure, RESWEEP_DELAY_SECONDS } from "../features/account/erasure";
import { THROTTLE_WINDOW_MS } from "../features/auth/throttle";
import { continueOrphanSweep, sweepExports } from "../features/export/cleanup";
import { metricsPruning } from "../features/metrics/store";
import { loggableError } from "../lib/db-errors";
import { nowIso } from "../lib/time";

/** Clients retry within minutes; a day covers any sane retry policy (Stripe keeps keys 24 h too). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** How long a finished webhook delivery and each attempt stay in the log. */
export const WEBHOOK_LOG_RETENTION_MS = 30 * 24 * 3_600_000;
/** Rows of each kind forgotten per run (every 5 minutes): bounded work, however large the backlog. */
export const WEBHOOK_LOG_SWEEP = 1000;

/** How long a logged prediction (scored or not) is kept: GET /models' live errors cover this window. */
export const PREDICTION_LOG_RETENTION_MS = 180 * 24 * 3_600_000;
/** Logged predictions forgotten per run. */
export const PREDICTION_LOG_SWEEP = 1000;

/**
 * The smallest UUIDv7 of an instant: ids sort by creation time, so `id < idAt(t)` is "created before t"
 * on the primary key alone (prediction_log has no index on created_at).
 */
export function idAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-`;
}

/**
 * Cron: forgets stored idempotent answers older than a day and login counters whose window and
 * lock have both lapsed, and webhook deliveries (finished ones) and attempts past their 30 days. Each
 * run is idempotent: it only deletes what is already expired. Logged predictions go after 180 days
 * (model versions and learning runs are pruned by the training that writes a new one:
 * features/learning/model-store.ts, runs.ts pruneRuns). Per-route counts and slow statements go after
 * 7 days (features/metrics/store.ts). Exports past their 7 days lose their files, and
 * export jobs that stopped moving are resumed or given up (features/export/cleanup.ts).
 */
export async function cleanUpExpired(env: Env, now = Date.now()): Promise<void> {
  const db = createDatabase(env.DB);
  const logCutoff = nowIso(now - WEBHOOK_LOG_RETENTION_MS);
  const batch = db.batch([
    db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, nowIso(now - IDEMPOTENCY_TTL_MS))),
    db
      .delete(loginThrottles)
      .where(
        and(
          lt(loginThrottles.windowStartedAt, now - THROTTLE_WINDOW_MS),
          or(isNull(loginThrottles.lockedUntil), lt(loginThrottles.lockedUntil, now)),
        ),
      ),
    db.delete(webhookDeliveries).where(
      inArray(
        webhookDeliveries.id,
        db
          .select({ id: webhookDeliveries.id })
          .from(webhookDeliveries)
          // Literal statuses, so SQLite uses the partial index of closed deliveries.
          .where(
            sql`${webhookDeliveries.status} IN ('succeeded', 'failed') AND ${webhookDeliveries.updatedAt} < ${logCutoff}`,
          )
          .limit(WEBHOOK_LOG_SWEEP),
      ),
    ),
    db
      .delete(webhookAttempts)
      .where(
        inArray(
          webhookAttempts.id,
          db
            .select({ id: webhookAttempts.id })
            .from(webhookAttempts)
            .where(lt(webhookAttempts.createdAt, logCutoff))
            .limit(WEBHOOK_LOG_SWEEP),
        ),
      ),
    db.delete(predictionLog).where(
      inArray(
        predictionLog.id,
        db
          .select({ id: predictionLog.id })
          .from(predictionLog)
          .where(lt(predictionLog.id, idAt(now - PREDICTION_LOG_RETENTION_MS)))
          .limit(PREDICTION_LOG_SWEEP),
      ),
    ),
    ...metricsPruning(db, now),
  ]);
  await Promise.all([batch, sweepExports(env, now)]);
}

/** D1 statements one run spends finishing deletions; the next run (5 minutes on) goes on. */
export const DELETION_SWEEP_BUDGET = 400;
/** Accounts one run looks at: the oldest deletions first. */
const DELETIONS_PER_RUN = 20;

/**
 * Cron: finishes every deletion that did not complete (its request failed after the account was
 * marked, or its queue messages ran out): each account marked as being deleted is erased further,
 * oldest first, within this run's budget, until it is gone. Returns how many were completed.
 */
export async function resumeDeletions(env: Env): Promise<number> {
  const db = createDatabase(env.DB);
  const marked = await db
    .select({ id: users.id })
    .from(users)
    .where(isNotNull(users.deletingAt))
    .orderBy(asc(users.deletingAt))
    .limit(DELETIONS_PER_RUN);
  let completed = 0;
  let budget = DELETION_SWEEP_BUDGET;
  for (const { id } of marked) {
    if (budget <= 0) break;
    const share = Math.max(50, Math.floor(budget / 2));
    budget -= share;
    try {
      if ((await continueErasure(env, id, share)) !== "done") continue;
      completed += 1;
      await enqueueErasure(env, { type: "sweep", user_id: id }, RESWEEP_DELAY_SECONDS).catch(() => undefined);
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          message: "resuming a deletion failed",
          error: loggableError(error),
        }),
      );
    }
  }
  return completed;
}

/**
 * The nightly part of housekeeping: the sweep of export files no export stands behind. It starts at
 * the first key each night and carries on through the exports queue until it has seen them all.
 */
export async function sweepOrphanFiles(env: Env): Promise<void> {
  await continueOrphanSweep(env);
}
