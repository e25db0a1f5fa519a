/** The D1 reads and writes of the calendar feed, each a batchable statement. */
import { and, asc, desc, eq, gte, inArray, isNull, lt, notExists, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { calendarFeedItems, calendarFeeds, events, focusSessions, tasks, users } from "../../db/schema";
import { chunkList, chunkRows } from "../../lib/chunk";

/** Ids per `IN (…)` list, with room for the user id beside them under D1's 100 parameters. */
const IDS_PER_STATEMENT = 90;
const ITEM_COLUMNS = 5;

export function feedByTokenHash(db: Database, tokenHash: string) {
  return db.select().from(calendarFeeds).where(eq(calendarFeeds.tokenHash, tokenHash)).limit(1);
}

/**
 * The user whose feed a token hash opens, as a subquery: every read of a poll names its user by it,
 * so the whole poll is one D1 round trip (a wrong token reads nothing).
 */
export const feedOwner = (tokenHash: string): SQL =>
  sql`(SELECT ${calendarFeeds.userId} FROM ${calendarFeeds} WHERE ${calendarFeeds.tokenHash} = ${tokenHash})`;

/** A user id, or the subquery that finds it. */
type UserRef = string | SQL;

export function ownerQuery(db: Database, userId: UserRef) {
  return db
    .select({ displayName: users.displayName, timezone: users.timezone })
    .from(users)
    .where(eq(users.id, userId))
    .limit(1);
}

/** Tasks due from `since` on (open or completed, never cancelled or deleted), soonest first. */
export function dueTasksQuery(db: Database, userId: UserRef, since: string, limit: number) {
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

/** Focus sessions that started from `since` on, latest first, with the title of their live task. */
export function endedSessionsQuery(db: Database, userId: UserRef, since: string, limit: number) {
  return db
    .select({
      id: focusSessions.id,
      kind: focusSessions.kind,
      plannedMinutes: focusSessions.plannedMinutes,
      actualSeconds: focusSessions.actualSeconds,
      completed: focusSessions.completed,
      interruptions: focusSessions.interruptions,
      startedAt: focusSessions.startedAt,
      endedAt: focusSessions.endedAt,
      taskTitle: tasks.title,
    })
    .from(focusSessions)
    .leftJoin(
      tasks,
      and(
        eq(tasks.id, focusSessions.taskId),
        eq(tasks.userId, focusSessions.userId),
        isNull(tasks.deletedAt),
      ),
    )
    .where(and(eq(focusSessions.userId, userId), gte(focusSessions.startedAt, since)))
    .orderBy(desc(focusSessions.startedAt))
    .limit(limit);
}

/**
 * Whether the user may have a focus session running: one started since `sinceId` (an event id, so
 * the user's outbox index is read from there on) that has no record of its end. Only then is the
 * FocusTimer object asked what runs; it stays the truth of it.
 */
export function openSessionQuery(db: Database, userId: UserRef, sinceId: string) {
  return db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        eq(events.userId, userId),
        gte(events.id, sinceId),
        eq(events.type, "focus.started"),
        notExists(
          db
            .select({ one: sql`1` })
            .from(focusSessions)
            .where(eq(focusSessions.id, sql`json_extract(${events.data}, '$.session_id')`)),
        ),
      ),
    )
    .limit(1);
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

export function feedItemsQuery(db: Database, userId: UserRef) {
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

/**
 * Forgets these items (the caller picked those gone from the feed and unchanged since `before`),
 * unless one changed meanwhile: a racing fetch that served it again stamped it now.
 */
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
