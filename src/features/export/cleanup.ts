/**
 * The housekeeping cron's part of exports: files past their 7 days are deleted from R2 and their rows
 * marked expired; jobs that stopped moving (a queue message lost, a consumer that kept dying) get their
 * slice's message again, and after an hour without progress are marked failed.
 */
import { and, isNull, lt, or, sql } from "drizzle-orm";
import { createDatabase } from "../../db";
import { accountExports } from "../../db/schema";
import type { Env } from "../../env";
import { nowIso } from "../../lib/time";
import { failExport } from "./job";
import { sliceMessage } from "./messages";

/** Expired files deleted per run (R2 deletes up to 1,000 keys per call). */
export const EXPIRED_SWEEP = 100;
/** A job whose row has not moved for this long, and whose lease is free, is sent its slice again. */
export const STALLED_AFTER_MS = 5 * 60_000;
/** A job that has not moved for this long is given up. */
export const GIVE_UP_AFTER_MS = 60 * 60_000;
const STALLED_SWEEP = 50;

export async function sweepExports(
  env: Env,
  now = Date.now(),
): Promise<{ expired: number; resumed: number; failed: number }> {
  const db = createDatabase(env.DB);
  const [expired, stalled] = await db.batch([
    db
      .select({ id: accountExports.id, key: accountExports.r2Key, expiresAt: accountExports.expiresAt })
      .from(accountExports)
      // Literal status, so SQLite uses the partial index of completed exports (in its order).
      .where(sql`${accountExports.status} = 'completed' AND ${accountExports.expiresAt} <= ${nowIso(now)}`)
      .orderBy(accountExports.expiresAt, accountExports.id)
      .limit(EXPIRED_SWEEP),
    db
      .select({ id: accountExports.id, slice: accountExports.slice, updatedAt: accountExports.updatedAt })
      .from(accountExports)
      .where(
        and(
          sql`${accountExports.status} IN ('queued', 'running') AND ${accountExports.updatedAt} < ${nowIso(now - STALLED_AFTER_MS)}`,
          or(isNull(accountExports.leaseUntil), lt(accountExports.leaseUntil, now)),
        ),
      )
      .limit(STALLED_SWEEP),
  ]);
  const last = expired.at(-1);
  if (last) {
    // The files first: a run that dies between the two deletes them again next time, harmlessly.
    await env.FILES.delete(expired.map((e) => e.key));
    // Marked by a condition, not by listing the ids (which would bind more than D1's 100 parameters):
    // the rows up to the last one read, in the order read — exactly those whose files just went.
    await db
      .update(accountExports)
      .set({ status: "expired", updatedAt: nowIso(now) })
      .where(
        sql`${accountExports.status} = 'completed' AND ${accountExports.expiresAt} <= ${nowIso(now)} AND (${accountExports.expiresAt}, ${accountExports.id}) <= (${last.expiresAt}, ${last.id})`,
      );
  }
  let failed = 0;
  const resend = [];
  for (const job of stalled) {
    if (Date.parse(job.updatedAt) < now - GIVE_UP_AFTER_MS) {
      await failExport(env, job.id, "The export stopped making progress; start a new one.");
      failed += 1;
    } else {
      resend.push({ body: sliceMessage(job.id, job.slice) });
    }
  }
  // A duplicate of a message still on its way is harmless: the slice number and the lease fence it.
  if (resend.length > 0) await env.EXPORTS_QUEUE.sendBatch(resend);
  return { expired: expired.length, resumed: resend.length, failed };
}
