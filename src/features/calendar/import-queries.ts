/** The D1 reads and writes of a calendar import, each a batchable statement. */
import { and, eq, exists, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { calendarImports, tasks, users } from "../../db/schema";
import { chunkList, chunkRows } from "../../lib/chunk";
import { nowIso } from "../../lib/time";

/** UIDs or ids per `IN (…)` list, with room for the user id beside them. */
const IDS_PER_STATEMENT = 90;
const IMPORT_COLUMNS = 8;

export type ImportRow = typeof calendarImports.$inferSelect;

export function timeZoneQuery(db: Database, userId: string) {
  return db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).limit(1);
}

/** What earlier imports made of these UIDs, with whether each task is still there. */
export function earlierImportsQueries(db: Database, userId: string, uids: string[]) {
  return chunkList([...new Set(uids)], IDS_PER_STATEMENT).map((chunk) =>
    db
      .select({
        record: calendarImports,
        taskDeletedAt: tasks.deletedAt,
        taskFound: tasks.id,
        // Aliased: the record has an updated_at of its own, which would shadow the task's.
        taskUpdatedAt: sql<string | null>`${tasks.updatedAt}`.as("task_updated_at"),
      })
      .from(calendarImports)
      .leftJoin(tasks, and(eq(tasks.id, calendarImports.taskId), eq(tasks.userId, userId)))
      .where(and(eq(calendarImports.userId, userId), inArray(calendarImports.uid, chunk))),
  );
}

/** Which of `ids` are the user's own live tasks (a feed of this platform imported into itself). */
export function ownTasksQueries(db: Database, userId: string, ids: string[]) {
  return chunkList([...new Set(ids)], IDS_PER_STATEMENT).map((chunk) =>
    db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.userId, userId), isNull(tasks.deletedAt), inArray(tasks.id, chunk))),
  );
}

export function insertImportRows(db: Database, rows: ImportRow[]) {
  return chunkRows(rows, IMPORT_COLUMNS).map((chunk) => db.insert(calendarImports).values(chunk));
}

/**
 * Records what an import wrote into an item's task — only if the task took it (this import's update
 * stamped it `now`): a task edited by hand meanwhile keeps the old record, and so is kept next time too.
 */
export function updateImportRow(
  db: Database,
  key: { userId: string; uid: string; recurrenceKey: string; taskId: string },
  contentHash: string,
  sequence: number,
  now: number,
) {
  return db
    .update(calendarImports)
    .set({ contentHash, sequence, updatedAt: nowIso(now) })
    .where(
      and(
        eq(calendarImports.userId, key.userId),
        eq(calendarImports.uid, key.uid),
        eq(calendarImports.recurrenceKey, key.recurrenceKey),
        exists(
          db
            .select({ one: sql`1` })
            .from(tasks)
            .where(and(eq(tasks.id, key.taskId), eq(tasks.updatedAt, nowIso(now)))),
        ),
      ),
    );
}

/**
 * Forgets what calendar imports made of the tasks `taskIds` selects, for a bulk writer that deletes
 * them (an import's replace): a calendar imported again then brings those events back as new tasks,
 * rather than skipping them as tasks the person deleted. Run it before the deletion, in its batch.
 */
export function forgetImportedTasks(db: Database, userId: string, taskIds: SQL) {
  return db
    .delete(calendarImports)
    .where(and(eq(calendarImports.userId, userId), sql`${calendarImports.taskId} IN ${taskIds}`));
}
