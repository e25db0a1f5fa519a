/**
 * Jobs that stopped moving. A queued or running job whose row has not changed for STALE_AFTER_MS lost
 * its message: the process died over its CPU limit (no catch runs then), marking it failed failed
 * too, or the message was never sent (a crash between queuing the row and sending it). Its message is
 * sent again — a delivery resumes at the cursor, and one that races another writes nothing twice —
 * and a job still not moving after MAX_RESENDS of those (about an hour) is failed and what it staged
 * erased, so it neither blocks a discard nor keeps hidden tasks forever.
 */
import { and, asc, eq, inArray, lt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports } from "../../db/schema";
import type { Env } from "../../env";
import { abortIf, isGuardAbort } from "../../lib/batch";
import { loggableError } from "../../lib/db-errors";
import { type StatementMeter, unmetered } from "../../lib/statement-meter";
import { nowIso } from "../../lib/time";
import { eraseStagedInPages } from "./discard";
import { IMPORT_TTL_MS, MAX_RESENDS, STALE_AFTER_MS, STALE_SWEEP } from "./limits";
import { type ImportMessage, runMessage } from "./messages";
import type { ImportRow } from "./queries";
import { forgetFailedStaging, SWEEP_ERASE_STATEMENTS, SWEEP_ROW_STATEMENTS } from "./restore/discarding";
import { giveUpFinishing } from "./restore/job";
import { isFinishing, isMoving } from "./restore/meta";

export const STUCK_ERROR =
  "The import stopped making progress for an hour, so it was stopped and what it had written so far " +
  "removed. Your tasks are as they were; commit it again to start it over, or discard it.";

/** Whether a queued or running job has stopped moving. */
export const isStale = (row: Pick<ImportRow, "status" | "updatedAt">, now: number) =>
  (row.status === "queued" || row.status === "running") && row.updatedAt < nowIso(now - STALE_AFTER_MS);

/**
 * Sends the job's message again, once: the row is claimed first (its `updated_at` as it was read), so
 * two sweeps (or a sweep and a commit) send one message between them. False when another got there.
 */
export async function resendImport(
  db: Database,
  queue: Queue<ImportMessage>,
  row: ImportRow,
  now: number,
): Promise<boolean> {
  const [claimed] = await db
    .update(imports)
    .set({ resends: sql`${imports.resends} + 1`, updatedAt: nowIso(now) })
    .where(
      and(
        eq(imports.id, row.id),
        inArray(imports.status, ["queued", "running"]),
        eq(imports.updatedAt, row.updatedAt),
      ),
    )
    .returning({ id: imports.id });
  if (!claimed) return false;
  await queue.send(runMessage(row.id, row.userId));
  return true;
}

/**
 * Fails a job that would not move, then erases what it staged, a page a batch: the job is failed first,
 * so however long the erasure takes (or if it fails, to be finished by the discard), the job is never
 * left running. Its cursor goes back to the start. A commit that takes the job meanwhile stops the
 * erasure; what is left of it then is rows the new run writes again as they are (same ids). A restore's
 * staging is erased within SWEEP_ERASE_STATEMENTS here, the rest by the imports queue.
 */
export async function abandonImport(
  db: Database,
  queue: Queue<ImportMessage>,
  row: ImportRow,
  now: number,
): Promise<boolean> {
  const failedAt = nowIso(now);
  try {
    await db.batch([
      abortIf(
        db,
        sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status IN ('queued', 'running') AND updated_at = ${row.updatedAt})`,
      ),
      db
        .update(imports)
        .set({
          status: "failed",
          error: STUCK_ERROR,
          itemsDone: 0,
          resends: 0,
          updatedAt: failedAt,
          expiresAt: nowIso(now + IMPORT_TTL_MS),
        })
        .where(eq(imports.id, row.id)),
    ]);
  } catch (error) {
    if (isGuardAbort(error)) return false;
    throw error;
  }
  const still = sql`status = 'failed' AND updated_at = ${failedAt}`;
  if (row.source === "export") await forgetFailedStaging(db, queue, row, still, SWEEP_ERASE_STATEMENTS);
  // The rest (past the cron's budget; review4 L4) goes with the failed job's discard, or a new run.
  else await eraseStagedInPages(db, row, still, SWEEP_ERASE_STATEMENTS);
  return true;
}

/**
 * Housekeeping: a few stuck jobs, the longest stuck first, each re-sent or (past MAX_RESENDS) failed.
 * `env` lets a finishing restore given up update the leaderboards, as the consumer's give-up does.
 */
export async function sweepStaleImports(
  db: Database,
  queue: Queue<ImportMessage>,
  now = Date.now(),
  env?: Env,
  meter: StatementMeter = unmetered,
): Promise<number> {
  const stale = await db
    .select()
    .from(imports)
    .where(
      // Spelled as the partial index imports_active is, so SQLite uses it.
      and(
        sql`${imports.status} IN ('queued', 'running')`,
        lt(imports.updatedAt, nowIso(now - STALE_AFTER_MS)),
      ),
    )
    .orderBy(asc(imports.updatedAt))
    .limit(STALE_SWEEP);
  for (const row of stale) {
    // The cron's share is spent: the rest stay stale, and the next run takes them (review4 L4).
    if (meter.left() < SWEEP_ROW_STATEMENTS) break;
    try {
      // A restore past its commit point is never abandoned: one moving its rows is re-sent until the
      // move is done; one restoring its objects is, past MAX_RESENDS, completed without them (M1).
      const finishing = isFinishing(row);
      if (row.resends < MAX_RESENDS || (finishing && isMoving(row))) await resendImport(db, queue, row, now);
      else if (!finishing) await abandonImport(db, queue, row, now);
      // As the consumer's last attempt does (the boards take the standing), and only if no delivery
      // claimed the job since this read (review4 L3, restore/lease.ts).
      else if (!(await giveUpFinishing(db, row.id, env, row.updatedAt)))
        await resendImport(db, queue, row, now);
    } catch (error) {
      // The queue or D1 failed: the job is still stale, and the next run looks again.
      console.warn(
        JSON.stringify({
          level: "warn",
          message: "stuck import not handled",
          import_id: row.id,
          error: loggableError(error),
        }),
      );
    }
  }
  return stale.length;
}
