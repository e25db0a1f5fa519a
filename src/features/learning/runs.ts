/**
 * Claiming training runs: a learning_runs row per user and night, inserted with ON CONFLICT DO NOTHING
 * RETURNING, so only the claim that wrote the row enqueues a training (a cron run twice trains once).
 */
import { and, asc, eq, gt, gte, inArray, like, lt, notLike, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { analyticsRollups, learningRuns } from "../../db/schema";
import { literal } from "../../lib/sql-literal";
import { localParts, nowIso } from "../../lib/time";
import { STAGING_PREFIX } from "../imports/restore/meta";
import { ACTIVE_DAYS } from "./history";

/** Users claimed per page: one D1 batch and ⌈PAGE_USERS / 100⌉ + 1 queue sends per page message. */
export const PAGE_USERS = 500;
/** Retraining on request: at most once in this long per user. */
export const MANUAL_INTERVAL_MS = 3_600_000;
/**
 * A queued or running run older than this is taken as lost (its messages dead-lettered), not as still
 * in progress: a training takes well under a second, and its retries a few minutes.
 */
const QUEUED_FOR_MS = 3_600_000;
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

/** Claims one owner's run of `night` (a manual one, a test's); true when this call claimed it. */
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
 * order; claims their runs of `night`, and answers those of the page whose run is still queued — not
 * only the ones this call inserted, so a page retried after a failed send enqueues what it did not
 * get to (a training that runs twice is stopped by startRun). One round trip.
 */
export async function claimPage(
  db: Database,
  night: string,
  after: string | null,
  now: number,
  pageUsers = PAGE_USERS,
) {
  const since = localParts("UTC", now - ACTIVE_DAYS * DAY_MS).date;
  const page = () =>
    db
      .selectDistinct({ userId: analyticsRollups.userId })
      .from(analyticsRollups)
      .where(
        and(
          eq(analyticsRollups.dim, "all"),
          gte(analyticsRollups.day, since),
          // A restore's staged rollups are no person's (review3 L1): their learning run would be
          // refused, and its row would stay for good.
          notLike(analyticsRollups.userId, `${STAGING_PREFIX}%`),
          after === null ? undefined : gt(analyticsRollups.userId, after),
        ),
      )
      .orderBy(asc(analyticsRollups.userId))
      .limit(pageUsers);
  const p = page().as("p");
  const claim = db
    .insert(learningRuns)
    .select(
      db
        .select(runColumns(sql<string>`${p.userId}`, night, now))
        .from(p)
        .where(sql`1`),
    )
    .onConflictDoNothing();
  const queued = db
    .select({ userId: learningRuns.userId })
    .from(learningRuns)
    .where(
      and(
        eq(learningRuns.night, night),
        eq(learningRuns.status, "queued"),
        inArray(learningRuns.userId, page()),
      ),
    )
    .orderBy(asc(learningRuns.userId));
  const [users, , waiting] = await db.batch([page(), claim, queued]);
  return { users: users.map((u) => u.userId), queued: waiting.map((c) => c.userId) };
}

/** Claims an owner's run of `night` when there is none, and answers whether it is (still) queued. */
export async function claimQueued(db: Database, owner: string, night: string, now: number): Promise<boolean> {
  const claim = db
    .insert(learningRuns)
    .select(
      db
        .select(runColumns(sql<string>`${owner}`, night, now))
        .from(sql`(SELECT 1)`)
        .where(sql`1`),
    )
    .onConflictDoNothing();
  const status = db
    .select({ status: learningRuns.status })
    .from(learningRuns)
    .where(and(eq(learningRuns.userId, owner), eq(learningRuns.night, night)));
  const [, rows] = await db.batch([claim, status]);
  return rows[0]?.status === "queued";
}

/** A running run not finished within this long is taken as lost (its consumer died) and may be retaken. */
export const RUNNING_STALE_MS = 15 * 60_000;
/** How long a finished run's record is kept: about 60 nights. */
export const RUN_RETENTION_MS = 60 * DAY_MS;

/**
 * Forgets the owner's finished runs older than RUN_RETENTION_MS: a statement for the batch that records
 * a new run, bounded by the primary key's owner prefix (about 60 rows a user).
 */
export function pruneRuns(db: Database, owner: string, now: number) {
  return db
    .delete(learningRuns)
    .where(
      and(
        eq(learningRuns.userId, owner),
        lt(learningRuns.queuedAt, nowIso(now - RUN_RETENTION_MS)),
        inArray(learningRuns.status, ["done", "skipped", "failed"]),
      ),
    );
}

/** A message that found its run running elsewhere comes back this long after the run would go stale. */
const STALE_MARGIN_SECONDS = 30;

/**
 * What taking a run found: taken (with the token that marks this delivery's ownership of it), in
 * progress elsewhere (come back when it would be stale: a consumer that died never finishes it), or
 * finished or not there (nothing to do).
 */
export type RunTake =
  | { taken: true; token: string }
  | { taken: false; inProgress: true; retryAfterSeconds: number }
  | { taken: false; inProgress: false };

/**
 * The row of `owner`'s run of `night` while this delivery (its token) holds it: what a delivery may
 * release, fail or finish.
 */
export function heldRun(owner: string, night: string, token: string): SQL | undefined {
  return and(
    eq(learningRuns.userId, owner),
    eq(learningRuns.night, night),
    eq(learningRuns.status, "running"),
    sql`json_extract(${learningRuns.detail}, '$.token') = ${token}`,
  );
}

/**
 * Takes a queued run (queued → running) for one training: taken only for the one caller that changed
 * the row, so a redelivered or duplicated message trains nothing. A run left running past
 * RUNNING_STALE_MS may be taken again. One round trip: the take and a read of what it left.
 */
export async function startRun(
  db: Database,
  owner: string,
  night: string,
  now: number,
  token: string = crypto.randomUUID(),
): Promise<RunTake> {
  const stale = nowIso(now - RUNNING_STALE_MS);
  const take = db
    .update(learningRuns)
    .set({ status: "running", detail: { started_at: nowIso(now), token } })
    .where(
      and(
        eq(learningRuns.userId, owner),
        eq(learningRuns.night, night),
        sql`(${learningRuns.status} = 'queued' OR (${learningRuns.status} = 'running' AND coalesce(json_extract(${learningRuns.detail}, '$.started_at'), '') < ${stale}))`,
      ),
    )
    .returning(claimedColumns);
  const after = db
    .select({
      status: learningRuns.status,
      startedAt: sql<string | null>`json_extract(${learningRuns.detail}, '$.started_at')`,
    })
    .from(learningRuns)
    .where(and(eq(learningRuns.userId, owner), eq(learningRuns.night, night)));
  const [taken, rows] = await db.batch([take, after]);
  if (taken.length > 0) return { taken: true, token };
  const row = rows[0];
  if (row?.status !== "running" && row?.status !== "queued") return { taken: false, inProgress: false };
  const startedAt = row.startedAt ? Date.parse(row.startedAt) : now;
  const staleIn = Math.ceil((startedAt + RUNNING_STALE_MS - now) / 1000);
  return {
    taken: false,
    inProgress: true,
    retryAfterSeconds: Math.min(RUNNING_STALE_MS / 1000, Math.max(0, staleIn)) + STALE_MARGIN_SECONDS,
  };
}

/**
 * A training that failed and will be retried gives its run back (running → queued), only while this
 * delivery holds it: a run another delivery took is theirs.
 */
export function releaseRun(db: Database, owner: string, night: string, token: string) {
  return db
    .update(learningRuns)
    .set({ status: "queued", detail: null })
    .where(heldRun(owner, night, token));
}

/**
 * The last attempt failed: the run is marked failed when this delivery held it (`token`) or nobody
 * does (still queued); a run another delivery holds or finished is left as it is.
 */
export function failRun(
  db: Database,
  owner: string,
  night: string,
  token: string | null,
  error: string,
  now: number,
) {
  const queued = and(
    eq(learningRuns.userId, owner),
    eq(learningRuns.night, night),
    eq(learningRuns.status, "queued"),
  );
  return db
    .update(learningRuns)
    .set({ status: "failed", detail: { error: error.slice(0, 200) }, finishedAt: nowIso(now) })
    .where(token === null ? queued : or(queued, heldRun(owner, night, token)));
}

export type ManualClaim =
  | { claimed: true; night: string }
  | { claimed: false; queued: boolean; retryAfter: number; queuedAt: string | null };

/**
 * A retraining the user asked for: claimed unless one of theirs is queued or running (409) or one was
 * asked for within the hour and did not fail (429). The claim and its guards are one statement, so two
 * requests cannot both win.
 */
export async function claimManualRun(db: Database, userId: string, now: number): Promise<ManualClaim> {
  const night = `${MANUAL_PREFIX}${nowIso(now)}`;
  const queuedSince = nowIso(now - QUEUED_FOR_MS);
  const manualSince = nowIso(now - MANUAL_INTERVAL_MS);
  const queued = sql`EXISTS (SELECT 1 FROM learning_runs r WHERE r.user_id = ${userId} AND r.status IN ('queued', 'running') AND r.queued_at > ${queuedSince})`;
  const recent = sql`EXISTS (SELECT 1 FROM learning_runs r WHERE r.user_id = ${userId} AND r.night LIKE ${`${MANUAL_PREFIX}%`} AND r.status != 'failed' AND r.queued_at > ${manualSince})`;
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
    .where(
      and(
        eq(learningRuns.userId, userId),
        like(learningRuns.night, `${MANUAL_PREFIX}%`),
        sql`${learningRuns.status} != 'failed'`,
      ),
    )
    .orderBy(sql`${learningRuns.queuedAt} DESC`)
    .limit(1);
  const inProgress = db
    .select({ queuedAt: learningRuns.queuedAt })
    .from(learningRuns)
    .where(
      and(
        eq(learningRuns.userId, userId),
        sql`${learningRuns.status} IN ('queued', 'running')`,
        gt(learningRuns.queuedAt, queuedSince),
      ),
    )
    .orderBy(sql`${learningRuns.queuedAt} DESC`)
    .limit(1);
  const [claimed, last, open] = await db.batch([claim, latest, inProgress]);
  if (claimed.length > 0) return { claimed: true, night };
  const running = open[0];
  if (running) {
    // Try again in a minute, and no later than when the queued run would be taken as lost.
    const lost = Date.parse(running.queuedAt) + QUEUED_FOR_MS;
    return {
      claimed: false,
      queued: true,
      queuedAt: running.queuedAt,
      retryAfter: Math.max(1, Math.min(60, Math.ceil((lost - now) / 1000))),
    };
  }
  const lastAt = last[0] ? Date.parse(last[0].queuedAt) : now;
  return {
    claimed: false,
    queued: false,
    queuedAt: null,
    retryAfter: Math.max(1, Math.ceil((lastAt + MANUAL_INTERVAL_MS - now) / 1000)),
  };
}
