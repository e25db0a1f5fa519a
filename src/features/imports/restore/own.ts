/**
 * The account's own rows a restore meets again (review3 H1): restoring your backup by its link keeps
 * its ids, so the file's tasks, steps and dependencies have the ids of rows the account holds — or
 * held, and deleted since. The writer staged the file's copy of each such task, and every step and
 * dependency under it, under a key of its own (write.ts shadowPrefix), and recorded the tasks
 * (import_items). The paged move leaves those copies staged (move.ts); then, still while the job is
 * `moving`, this phase goes through the recorded tasks a bounded page at a time (review4 H1: the work
 * grows with the backup, so it is never one batch), each page in one batch:
 * - a task deleted since comes back as the file has it (both modes), hidden like the restored tasks
 *   until the last batch shows them all; in replace mode a live task takes the file's version at its
 *   page and stays shown (review4 M2: the account's version until its page, the file's from it — never
 *   hidden for the whole move); in merge mode a live task stays as the person has it now;
 * - in replace mode the task's steps and dependencies become the file's in that same batch (the
 *   account's deleted, the file's copies take their ids back); in merge mode the file's ones the
 *   account lacks are added, all of a task's at once, and the copies of ones it has are dropped.
 * Every statement names the account's rows by `user_id = userId`, the staged ones by the import's
 * staging owner: nothing here can reach another person's rows.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { Database } from "../../../db";
import { tasks } from "../../../db/schema";
import { abortIf, rawStatement } from "../../../lib/batch";
import { stagingUserOf } from "./meta";
import { shadowPrefix } from "./write";

/**
 * Recorded tasks one page takes at most. A page changes each task, its copy, and the steps and
 * dependencies of both: measured for tasks of 20 steps, 500 tasks changed 21,002 rows in 360 ms
 * locally (a move page of 5,000 rows: 67 ms), so 250 — about 10,000 rows, or 3,000 for tasks of 5 steps.
 */
export const OWN_PAGE = 250;

const TASK_COLUMNS = getTableConfig(tasks)
  .columns.map((c) => c.name)
  .filter((name) => name !== "id" && name !== "user_id");

const q = (name: string) => sql.raw(`"${name}"`);

/** The account's tasks this restore recorded as the file's too (write.ts). */
export const recordedTasks = (importId: string): SQL =>
  sql`(SELECT task_id FROM import_items WHERE import_id = ${importId})`;

/** The [from, end) key range of a restore's shadow copies (every key starting with the prefix). */
export function shadowRange(importId: string) {
  const prefix = shadowPrefix(importId);
  return { prefix, end: `${prefix.slice(0, -1)};`, cut: prefix.length + 1 };
}

/** A column's condition: its value is a shadow key of the restore (by the index on it). */
export function isShadow(importId: string, column: string): SQL {
  const { prefix, end } = shadowRange(importId);
  return sql`${q(column)} >= ${prefix} AND ${q(column)} < ${end}`;
}

/**
 * The end (the last `ref`, by the primary key's order) of the next page of recorded tasks after
 * `after` ('' for the first), or null when none is left (one read).
 */
export async function nextOwnPage(
  db: Database,
  importId: string,
  after: string,
  page: number,
): Promise<string | null> {
  const row = await db.get<{ last: string | null }>(
    sql`SELECT max(ref) AS last FROM (SELECT ref FROM import_items WHERE import_id = ${importId} AND ref > ${after}
      ORDER BY ref LIMIT ${page})`,
  );
  return row?.last ?? null;
}

export interface OwnPage {
  userId: string;
  importId: string;
  mode: "merge" | "replace";
  /** The `deleted_at` the restored tasks are staged with (shown by the last batch). */
  hiddenAt: string;
  /** The page: recorded tasks whose `ref` is in (after, to]. */
  after: string;
  to: string;
  now: number;
}

/**
 * One page's batch: the guard (still moving, and the cursor where this page starts: a redelivered
 * page stops), the result's counts, the file's version, the children, the copies dropped, and the
 * cursor's advance.
 */
export function ownPageStatements(db: Database, input: OwnPage): BatchItem<"sqlite">[] {
  const { userId, importId, hiddenAt, after, to } = input;
  const staging = stagingUserOf(userId, importId);
  const { prefix, cut } = shadowRange(importId);
  const at = new Date(input.now).toISOString();
  const page = sql`(SELECT task_id FROM import_items WHERE import_id = ${importId} AND ref > ${after} AND ref <= ${to})`;
  // The page's tasks as their staged children name them (write.ts: a shadow's task_id is prefixed too).
  const shadowPage = sql`(SELECT ${prefix} || task_id FROM import_items WHERE import_id = ${importId} AND ref > ${after} AND ref <= ${to})`;
  const replace = input.mode === "replace";
  const copyOf = sql`(SELECT 1 FROM tasks s WHERE s.user_id = ${staging} AND s.id = ${prefix} || tasks.id)`;
  const taken = sql`tasks.user_id = ${userId} AND tasks.id IN ${page} AND EXISTS ${copyOf}${replace ? sql`` : sql` AND tasks.deleted_at IS NOT NULL`}`;
  // The page's staged children: every one is a shadow (write.ts), found by its task's prefixed id
  // (steps by the index on task_id: the `+` keeps the planner off the owner's indexes, which would
  // read every step of the owner for each page).
  const stagedSteps = sql`task_id IN ${shadowPage} AND +user_id = ${staging}`;
  const stagedDeps = sql`user_id = ${staging} AND task_id IN ${shadowPage}`;
  // Merge: a task brought back (the file's is live); replace: every task given the file's version.
  const restored = replace
    ? sql`(SELECT count(*) FROM tasks WHERE ${taken})`
    : sql`(SELECT count(*) FROM tasks WHERE ${taken} AND EXISTS (SELECT 1 FROM tasks s WHERE s.user_id = ${staging}
        AND s.id = ${prefix} || tasks.id AND s.deleted_at = ${hiddenAt}))`;
  const steps = replace
    ? sql`(SELECT count(*) FROM micro_steps WHERE ${stagedSteps})`
    : sql`(SELECT count(*) FROM micro_steps WHERE ${stagedSteps}
        AND NOT EXISTS (SELECT 1 FROM micro_steps a WHERE a.id = substr(micro_steps.id, ${cut})))`;
  const list = sql.raw(TASK_COLUMNS.map((c) => `"${c}"`).join(", "));
  // A live task shown keeps showing (with the file's values); one deleted since comes back hidden,
  // shown with the restored ones by the last batch. updated_at says it changed now.
  const fromCopy = sql.join(
    TASK_COLUMNS.map((c) =>
      c === "deleted_at"
        ? sql`CASE WHEN s.deleted_at = ${hiddenAt} AND tasks.deleted_at IS NULL THEN NULL ELSE s.deleted_at END`
        : c === "updated_at"
          ? sql`${at}`
          : sql.raw(`s."${c}"`),
    ),
    sql`, `,
  );
  const count = (key: string) => sql.raw(`coalesce(json_extract(result, '$.${key}'), 0)`);
  const out: BatchItem<"sqlite">[] = [
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${importId} AND status = 'running'
        AND json_extract(mapping, '$.moving') = '1' AND coalesce(json_extract(mapping, '$.own'), '') = ${after})`,
    ),
    // Counted before anything changes (review4 L2): tasks brought back or given the file's version,
    // and the file's steps they take.
    rawStatement(
      db,
      sql`UPDATE imports SET result = json_set(result, '$.restored', ${count("restored")} + ${restored},
          '$.skipped_duplicates', max(0, ${count("skipped_duplicates")} - ${restored}),
          '$.steps', ${count("steps")} + ${steps})
        WHERE id = ${importId}`,
    ),
    rawStatement(
      db,
      sql`UPDATE tasks SET (${list}) = (SELECT ${fromCopy} FROM tasks s WHERE s.user_id = ${staging} AND s.id = ${prefix} || tasks.id)
        WHERE ${taken}`,
    ),
  ];
  if (replace)
    out.push(
      rawStatement(db, sql`DELETE FROM micro_steps WHERE task_id IN ${page} AND +user_id = ${userId}`),
      rawStatement(db, sql`DELETE FROM task_dependencies WHERE user_id = ${userId} AND task_id IN ${page}`),
    );
  // The file's children take their ids back and are the account's, a task's all at once; a key the
  // account holds already (a merge's) keeps the account's row, and the copy is dropped below.
  out.push(
    rawStatement(
      db,
      sql`UPDATE OR IGNORE micro_steps SET id = substr(id, ${cut}), task_id = substr(task_id, ${cut}), user_id = ${userId}
        WHERE ${stagedSteps}`,
    ),
    rawStatement(
      db,
      sql`UPDATE OR IGNORE task_dependencies SET task_id = substr(task_id, ${cut}),
          depends_on_id = substr(depends_on_id, ${cut}), user_id = ${userId}
        WHERE ${stagedDeps}`,
    ),
    rawStatement(db, sql`DELETE FROM micro_steps WHERE ${stagedSteps}`),
    rawStatement(db, sql`DELETE FROM task_dependencies WHERE ${stagedDeps}`),
    rawStatement(
      db,
      sql`DELETE FROM tasks WHERE user_id = ${staging} AND id IN (SELECT ${prefix} || task_id FROM import_items
        WHERE import_id = ${importId} AND ref > ${after} AND ref <= ${to})`,
    ),
    rawStatement(
      db,
      sql`UPDATE imports SET mapping = json_set(mapping, '$.own', ${to}), updated_at = ${at} WHERE id = ${importId}`,
    ),
  );
  return out;
}
