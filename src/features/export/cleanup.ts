/**
 * The housekeeping cron's part of exports: files past their 7 days are deleted from R2 and their rows
 * marked expired; jobs that stopped moving (a queue message lost, a consumer that kept dying) get their
 * slice's message again, and after an hour without progress are marked failed (their files deleted).
 * Once a night (the 03:00 cron), files whose export row is gone (an account deleted while its export
 * was being written and the slice died before it could clean up) are found and deleted: the whole of
 * `exports/`, a few pages per invocation, the rest carried on through the exports queue.
 */
import { and, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { createDatabase } from "../../db";
import { accountExports } from "../../db/schema";
import type { Env } from "../../env";
import { chunkList } from "../../lib/chunk";
import { nowIso } from "../../lib/time";
import { failExport } from "./job";
import { orphanSweepMessage, sliceMessage } from "./messages";

/** Expired files deleted per run (R2 deletes up to 1,000 keys per call). */
export const EXPIRED_SWEEP = 100;
/** A job whose row has not moved for this long, and whose lease is free, is sent its slice again. */
export const STALLED_AFTER_MS = 5 * 60_000;
/** A job that has not moved for this long is given up. */
export const GIVE_UP_AFTER_MS = 60 * 60_000;
export const STALLED_SWEEP = 50;
/** Export files listed per page of the nightly orphan sweep (R2 lists and deletes up to 1,000 a call). */
export const ORPHAN_PAGE = 1000;
/** Pages per invocation; the listing goes on in the next message until the whole prefix is seen. */
export const ORPHAN_PAGES = 10;
/** Ids per lookup statement (one parameter each: under D1's 100). */
const IDS_PER_STATEMENT = 99;
const EXPORT_FILE = /^exports\/[^/]+\/([^/]+)\.(?:json|csv)$/;

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

/**
 * Deletes export files that no export stands behind: its row is gone (the account was deleted), or the
 * job failed or expired and its file was left. Every file's row is written before the file, so a file
 * without one is an orphan. Walks `exports/` a page at a time from `cursor` (the start when none), up to
 * `pages` pages; one D1 round trip per page. Answers the cursor to go on from, absent when the listing
 * reached its end.
 */
export async function sweepOrphanExports(
  env: Pick<Env, "DB" | "FILES">,
  options: { pages?: number; pageSize?: number; cursor?: string } = {},
): Promise<{ listed: number; deleted: number; cursor?: string }> {
  const { pages = ORPHAN_PAGES, pageSize = ORPHAN_PAGE } = options;
  const db = createDatabase(env.DB);
  let listed = 0;
  let deleted = 0;
  let cursor = options.cursor;
  for (let page = 0; page < pages; page++) {
    const listing = await env.FILES.list({
      prefix: "exports/",
      limit: pageSize,
      ...(cursor ? { cursor } : {}),
    });
    listed += listing.objects.length;
    const files = listing.objects.flatMap((o) => {
      const id = EXPORT_FILE.exec(o.key)?.[1];
      return id ? [{ key: o.key, id }] : [];
    });
    if (files.length > 0) {
      const lookups = chunkList(
        files.map((f) => f.id),
        IDS_PER_STATEMENT,
      ).map((ids) =>
        db
          .select({ id: accountExports.id, status: accountExports.status })
          .from(accountExports)
          .where(inArray(accountExports.id, ids)),
      );
      const [first, ...rest] = lookups;
      const found = first ? (await db.batch([first, ...rest])).flat() : [];
      const kept = new Set(
        found.filter((r) => r.status !== "failed" && r.status !== "expired").map((r) => r.id),
      );
      const orphans = files.filter((f) => !kept.has(f.id)).map((f) => f.key);
      if (orphans.length > 0) {
        await env.FILES.delete(orphans);
        deleted += orphans.length;
      }
    }
    if (!listing.truncated) return { listed, deleted };
    cursor = listing.cursor;
  }
  return { listed, deleted, ...(cursor ? { cursor } : {}) };
}

/**
 * One invocation's share of the nightly orphan sweep (from the cron, or from a queue message carrying
 * on): up to ORPHAN_PAGES pages, then the next message when the listing is not at its end yet.
 */
export async function continueOrphanSweep(
  env: Pick<Env, "DB" | "FILES" | "EXPORTS_QUEUE">,
  options: { cursor?: string; pages?: number; pageSize?: number } = {},
): Promise<{ listed: number; deleted: number; more: boolean }> {
  const swept = await sweepOrphanExports(env, options);
  if (swept.cursor) await env.EXPORTS_QUEUE.send(orphanSweepMessage(swept.cursor));
  return { listed: swept.listed, deleted: swept.deleted, more: swept.cursor !== undefined };
}
