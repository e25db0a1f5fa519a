/**
 * Claiming training runs: a learning_runs row per user and night, inserted with ON CONFLICT DO NOTHING
 * RETURNING, so only the claim that wrote the row enqueues a training (a cron run twice trains once).
 */
import { and, asc, eq, gt, gte, like, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { analyticsRollups, learningRuns } from "../../db/schema";
import { literal } from "../../lib/sql-literal";
import { localParts, nowIso } from "../../lib/time";
import { ACTIVE_DAYS } from "./history";

/** Users claimed per page: one D1 batch and ⌈PAGE_USERS / 100⌉ + 1 queue sends per page message. */
export const PAGE_USERS = 500;
/** Retraining on request: at most once in this long per user. */
export const MANUAL_INTERVAL_MS = 3_600_000;
/** A queued run older than this is taken as lost (its consumer died), not as still queued. */
const QUEUED_FOR_MS = 6 * 3_600_000;
const MANUAL_PREFIX = "manual:";
const DAY_MS = 86_400_000;

/** The night a run belongs to: the UTC date. */
export const nightOf = (now: number) => new Date(now).toISOString().slice(0, 10);

/** The columns of a claimed learning_runs row, in the table's order (insert-select matches by position). */
function runColumns(userId: SQL<string>, night: string, now: number) {
  return {
    userId: userId.as("user_id"),
    night: literal<string>(night, "night"),
    status: literal<string>("queued", "status"),
    trainingMs: sql<number | null>`NULL`.as("training_ms"),
    detail: sql<string | null>`NULL`.as("detail"),
    queuedAt: literal<string>(nowIso(now), "queued_at"),
    finishedAt: sql<string | null>`NULL`.as("finished_at"),
  };
}

const claimedColumns = { userId: learningRuns.userId };

/** Claims one owner's run of `night` (the population's, a manual one); true when this call claimed it. */
export async function claimRun(db: Database, owner: string, night: string, now: number): Promise<boolean> {
  const rows = await db
    .insert(learningRuns)
    .select(
      db
        .select(runColumns(sql<string>`${owner}`, night, now))
        .from(sql`(SELECT 1)`)
        .where(sql`1`),
    )
    .onConflictDoNothing()
    .returning(claimedColumns);
  return rows.length > 0;
}

/**
 * One page of users active in the last ACTIVE_DAYS days (by their day totals), after `after` in id
 * order, and the runs of `night` this call claimed among them. One round trip.
 */
export async function claimPage(db: Database, night: string, after: string | null, now: number) {
  const since = localParts("UTC", now - ACTIVE_DAYS * DAY_MS).date;
  const page = () =>
    db
      .selectDistinct({ userId: analyticsRollups.userId })
      .from(analyticsRollups)
      .where(
        and(
          eq(analyticsRollups.dim, "all"),
          gte(analyticsRollups.day, since),
          after === null ? undefined : gt(analyticsRollups.userId, after),
        ),
      )
      .orderBy(asc(analyticsRollups.userId))
      .limit(PAGE_USERS);
  const p = page().as("p");
  const claim = db
    .insert(learningRuns)
    .select(
      db
        .select(runColumns(sql<string>`${p.userId}`, night, now))
        .from(p)
        .where(sql`1`),
    )
    .onConflictDoNothing()
    .returning(claimedColumns);
  const [users, claimed] = await db.batch([page(), claim]);
  return { users: users.map((u) => u.userId), claimed: claimed.map((c) => c.userId) };
}

export type ManualClaim =
  | { claimed: true; night: string }
  | { claimed: false; queued: boolean; retryAfter: number };

/**
 * A retraining the user asked for: claimed unless one of theirs is queued (409) or one was asked for
 * within the hour (429). The claim and its guards are one statement, so two requests cannot both win.
 */
export async function claimManualRun(db: Database, userId: string, now: number): Promise<ManualClaim> {
  const night = `${MANUAL_PREFIX}${nowIso(now)}`;
  const queuedSince = nowIso(now - QUEUED_FOR_MS);
  const manualSince = nowIso(now - MANUAL_INTERVAL_MS);
  const queued = sql`EXISTS (SELECT 1 FROM learning_runs r WHERE r.user_id = ${userId} AND r.status = 'queued' AND r.queued_at > ${queuedSince})`;
  const recent = sql`EXISTS (SELECT 1 FROM learning_runs r WHERE r.user_id = ${userId} AND r.night LIKE ${`${MANUAL_PREFIX}%`} AND r.queued_at > ${manualSince})`;
  const claim = db
    .insert(learningRuns)
    .select(
      db
        .select(runColumns(sql<string>`${userId}`, night, now))
        .from(sql`(SELECT 1)`)
        .where(sql`NOT ${queued} AND NOT ${recent}`),
    )
    .onConflictDoNothing()
    .returning(claimedColumns);
  const latest = db
    .select({ queuedAt: learningRuns.queuedAt, status: learningRuns.status })
    .from(learningRuns)
    .where(and(eq(learningRuns.userId, userId), like(learningRuns.night, `${MANUAL_PREFIX}%`)))
    .orderBy(sql`${learningRuns.queuedAt} DESC`)
    .limit(1);
  const isQueued = db
    .select({ n: sql<number>`count(*)` })
    .from(learningRuns)
    .where(
      and(
        eq(learningRuns.userId, userId),
        eq(learningRuns.status, "queued"),
        gt(learningRuns.queuedAt, queuedSince),
      ),
    );
  const [claimed, last, open] = await db.batch([claim, latest, isQueued]);
  if (claimed.length > 0) return { claimed: true, night };
  const lastAt = last[0] ? Date.parse(last[0].queuedAt) : now;
  return {
    claimed: false,
    queued: (open[0]?.n ?? 0) > 0,
    retryAfter: Math.max(1, Math.ceil((lastAt + MANUAL_INTERVAL_MS - now) / 1000)),
  };
}
