/**
 * When an item of a file is one the account already has (a merge skips it):
 * 1. an earlier import from the same app brought in the same item (same app id) and its task is
 *    still there (not deleted); or
 * 2. a live task has the same title — ignoring letter case (A–Z) and surrounding spaces — the same due
 *    time to the minute (or neither has one), and is in the same state: open (pending, in progress,
 *    blocked) against an open item, completed against a completed one, cancelled against a cancelled
 *    one. So importing the same file twice brings in nothing new, while a chore done last week does not
 *    swallow the open one of the same name.
 * The oldest matching task is the one named.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../db";
import type { ImportSourceName } from "../../db/schema/imports";
import { rawStatement } from "../../lib/batch";
import { jsonGroups } from "../tasks/bulk-statements";

export interface Matchable {
  title: string;
  dueAt: string | null;
  status: "pending" | "completed" | "cancelled" | "in_progress" | "blocked";
  externalId: string | null;
}

/** SQLite's lower(): ASCII letters only, so both sides of the match fold alike. */
export const asciiLower = (text: string) => text.replace(/[A-Z]/g, (c) => c.toLowerCase());

const stateOf = (status: Matchable["status"]) =>
  status === "completed" || status === "cancelled" ? status : "open";

export const matchKey = (m: Pick<Matchable, "title" | "dueAt" | "status">) =>
  `${asciiLower(m.title.trim())}\u0000${m.dueAt?.slice(0, 16) ?? ""}\u0000${stateOf(m.status)}`;

interface TaskRow {
  id: string;
  title: string;
  due_at: string | null;
  status: Matchable["status"];
}
interface ExternalRow {
  external_id: string;
  task_id: string;
}

/** The reads that find the items' matches, for one D1 batch (one round trip), and how to read their answers. */
export function matchReads(
  db: Database,
  userId: string,
  source: ImportSourceName,
  importId: string,
  items: readonly Matchable[],
) {
  const titles = [...new Set(items.map((i) => asciiLower(i.title.trim())))];
  const externals = [...new Set(items.flatMap((i) => (i.externalId === null ? [] : [i.externalId])))];
  const statements = [
    ...jsonGroups(titles, 90_000).map((group) =>
      rawStatement(
        db,
        sql`SELECT id, title, due_at, status FROM tasks
          WHERE user_id = ${userId} AND deleted_at IS NULL
            AND lower(title) IN (SELECT value FROM json_each(${JSON.stringify(group)}))
          ORDER BY id`,
      ),
    ),
    ...jsonGroups(externals, 90_000).map((group) =>
      rawStatement(
        db,
        sql`SELECT i.external_id, i.task_id FROM import_items i
          JOIN tasks t ON t.id = i.task_id AND t.user_id = ${userId} AND t.deleted_at IS NULL
          WHERE i.user_id = ${userId} AND i.source = ${source} AND i.external_id IS NOT NULL AND i.import_id != ${importId}
            AND i.external_id IN (SELECT value FROM json_each(${JSON.stringify(group)}))`,
      ),
    ),
  ];
  const titleStatements = jsonGroups(titles, 90_000).length;
  /** The matching task of each item (by index), from the batch's results. */
  const matches = (results: readonly unknown[]): (string | null)[] => {
    const byKey = new Map<string, string>();
    const byExternal = new Map<string, string>();
    results.forEach((result, i) => {
      const rows = rowsOf(result);
      if (i < titleStatements) {
        for (const row of rows as TaskRow[]) {
          const key = matchKey({ title: row.title, dueAt: row.due_at, status: row.status });
          if (!byKey.has(key)) byKey.set(key, row.id);
        }
      } else for (const row of rows as ExternalRow[]) byExternal.set(row.external_id, row.task_id);
    });
    return items.map(
      (item) =>
        (item.externalId === null ? undefined : byExternal.get(item.externalId)) ??
        byKey.get(matchKey(item)) ??
        null,
    );
  };
  return { statements, matches };
}

/** A raw statement's rows, as a D1 batch answers them. */
function rowsOf(result: unknown): unknown[] {
  if (Array.isArray(result)) return result;
  if (
    typeof result === "object" &&
    result !== null &&
    Array.isArray((result as { results?: unknown }).results)
  )
    return (result as { results: unknown[] }).results;
  return [];
}

/** The items' matches, read in one round trip (none when there is nothing to match). */
export async function findMatches(
  db: Database,
  userId: string,
  source: ImportSourceName,
  importId: string,
  items: readonly Matchable[],
): Promise<(string | null)[]> {
  const { statements, matches } = matchReads(db, userId, source, importId, items);
  const [first, ...rest] = statements;
  if (!first) return items.map(() => null);
  return matches(await db.batch([first, ...rest]));
}
