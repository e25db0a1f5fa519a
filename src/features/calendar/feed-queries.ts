/** The D1 reads and writes of the calendar feed, each a batchable statement. */
import { and, asc, desc, eq, gte, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { calendarFeedItems, calendarFeeds, focusSessions, tasks, users } from "../../db/schema";
import { chunkList, chunkRows } from "../../lib/chunk";

/** Ids per `IN (…)` list, with room for the user id beside them under D1's 100 parameters. */
const IDS_PER_STATEMENT = 90;
const ITEM_COLUMNS = 5;

export function feedByTokenHash(db: Database, tokenHash: string) {
  return db.select().from(calendarFeeds).where(eq(calendarFeeds.tokenHash, tokenHash)).limit(1);
}

export function ownerQuery(db: Database, userId: string) {
  return db
    .select({ displayName: users.displayName, timezone: users.timezone })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
}

/** Tasks due from `since` on (open or completed, never cancelled or deleted), soonest first. */
export function dueTasksQuery(db: Database, userId: string, since: string, limit: number) {
  return db
    .select({
      id: tasks.id,
      title: tasks.title,
      description: tasks.description,
      status: tasks.status,
      priority: tasks.priority,
      dueAt: tasks.dueAt,
      estimatedMinutes: tasks.estimatedMinutes,
      tags: tasks.tags,
      completedAt: tasks.completedAt,
    })
    .from(tasks)
    .where(
      and(
        eq(tasks.userId, userId),
        isNull(tasks.deletedAt),
        gte(tasks.dueAt, since),
        inArray(tasks.status, ["pending", "in_progress", "blocked", "completed"]),
      ),
    )
    .orderBy(asc(tasks.dueAt), asc(tasks.id))
    .limit(limit);
}

/** Focus sessions that started from `since` on, latest first. */
export function endedSessionsQuery(db: Database, userId: string, since: string, limit: number) {
  return db
    .select()
    .from(focusSessions)
    .where(and(eq(focusSessions.userId, userId), gte(focusSessions.startedAt, since)))
    .orderBy(desc(focusSessions.startedAt))
    .limit(limit);
}

/** The titles of the user's live tasks among `ids`, in statements of at most 90 ids. */
export function taskTitlesQueries(db: Database, userId: string, ids: string[]) {
  return chunkList([...new Set(ids)], IDS_PER_STATEMENT).map((chunk) =>
    db
      .select({ id: tasks.id, title: tasks.title })
      .from(tasks)
      .where(and(eq(tasks.userId, userId), isNull(tasks.deletedAt), inArray(tasks.id, chunk))),
  );
}

export function feedItemsQuery(db: Database, userId: string) {
  return db.select().from(calendarFeedItems).where(eq(calendarFeedItems.userId, userId));
}

export type FeedItemRow = typeof calendarFeedItems.$inferSelect;

/**
 * Records new and changed items. A changed item's SEQUENCE goes up by one only if its stored
 * fingerprint is still the old one, so two fetches racing over the same change count it once.
 */
export function upsertFeedItems(db: Database, rows: FeedItemRow[]) {
  return chunkRows(rows, ITEM_COLUMNS).map((chunk) =>
    db
      .insert(calendarFeedItems)
      .values(chunk)
      .onConflictDoUpdate({
        target: [calendarFeedItems.userId, calendarFeedItems.uid],
        set: {
          contentHash: sql`excluded.content_hash`,
          sequence: sql`${calendarFeedItems.sequence} + 1`,
          changedAt: sql`excluded.changed_at`,
        },
        setWhere: sql`${calendarFeedItems.contentHash} != excluded.content_hash`,
      }),
  );
}

/** Forgets items gone from the feed that have not changed since `before`. */
export function forgetFeedItems(db: Database, userId: string, uids: string[], before: string) {
  return chunkList(uids, IDS_PER_STATEMENT - 1).map((chunk) =>
    db
      .delete(calendarFeedItems)
      .where(
        and(
          eq(calendarFeedItems.userId, userId),
          inArray(calendarFeedItems.uid, chunk),
          lt(calendarFeedItems.changedAt, before),
        ),
      ),
  );
}

/** Remembers the body served, unless the feed was rotated or revoked meanwhile. */
export function recordFeedBody(db: Database, userId: string, tokenHash: string, etag: string, at: string) {
  return db
    .update(calendarFeeds)
    .set({ etag, modifiedAt: at })
    .where(and(eq(calendarFeeds.userId, userId), eq(calendarFeeds.tokenHash, tokenHash)));
}
