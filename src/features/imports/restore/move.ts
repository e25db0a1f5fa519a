/**
 * The paged move of a restore (review3 H2): after the commit point (job.ts), the staged rows go to the
 * account a bounded page per statement, each page in its own small batch, so no D1 call comes near its
 * 30 s limit and other users' queries get their turn between pages. The move cannot fail on the data
 * (every check passed before the commit point) and only goes forward: a delivery that stops (budget,
 * crash, retry) leaves whole pages moved, and the next one goes on with what is still staged.
 *
 * A page is the first MOVE_PAGE staged rows of a table. In replace mode it is one UPDATE OR REPLACE (the
 * file's row wins a key the account holds). In merge mode the account's row wins (UPDATE OR IGNORE), and
 * an ignored row would stay staged and be picked again by every later page: so the page is first
 * marked (given the import's mover owner), then moved with OR IGNORE, and what is still marked (the
 * ignored rows) deleted — three statements in one batch, so the mover owner never outlives it.
 * Only tables with a key that holds `user_id` can clash (CLASHING_TABLES); the others (tasks, steps,
 * dependencies …: most of a big file) move in one plain UPDATE a page in both modes.
 *
 * Tasks move hidden (`deleted_at` = the import's hiddenAt) and are shown by the last batch
 * (reveal.ts), so nothing reached through them shows until then. Share cards and the progress row
 * stay staged for the last batch too (MOVED_TABLES), and so do the shadow copies of the account's own
 * tasks and their children: the own pages that follow the move take them (own.ts).
 */
import { Column, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { Database } from "../../../db";
import { abortIf, rawStatement } from "../../../lib/batch";
import { nowIso } from "../../../lib/time";
import { EXPORTED_TABLES } from "../../export/format";
import { stagingUserOf } from "./meta";
import { isShadow } from "./own";
import { OWNED_TABLES } from "./reveal";

/** Rows one statement moves at most (a page: a few milliseconds of D1 work). */
export const MOVE_PAGE = 5_000;

/**
 * The tables the paged move empties, in their export order (parents first). Not the share cards nor
 * the progress row (one row): the last batch moves them, the progress row with the account's board
 * standing as it is then (a grant landing during the move is not undone by a replace).
 */
export const MOVED_TABLES: readonly string[] = OWNED_TABLES.filter(
  (t) => t !== "social_shares" && t !== "user_progress",
);

const q = (name: string) => sql.raw(`"${name}"`);

/** The owner a merge's page is marked with while its batch runs (inside stagingRange: meta.ts). */
export const moverOf = (userId: string, importId: string) => `${stagingUserOf(userId, importId)}:moving`;

/**
 * The column that marks a table's shadow copies (own.ts: the account's own tasks and their children,
 * which stay staged through the move and go with their task's page after it).
 */
const SHADOW_COLUMN: Readonly<Record<string, string>> = {
  tasks: "id",
  micro_steps: "id",
  task_dependencies: "task_id",
};

/** The staged rows of `table` that the move takes (not the shadow copies). */
const movable = (table: string, staging: string, importId: string) => {
  const column = SHADOW_COLUMN[table];
  return column
    ? sql`user_id = ${staging} AND NOT (${isShadow(importId, column)})`
    : sql`user_id = ${staging}`;
};

/** The tables that still hold rows of the staging to move, in move order (one read). */
export async function tablesToMove(db: Database, userId: string, importId: string): Promise<string[]> {
  const staging = stagingUserOf(userId, importId);
  const probes = MOVED_TABLES.map(
    (table, i) =>
      sql`EXISTS (SELECT 1 FROM ${q(table)} WHERE ${movable(table, staging, importId)}) AS ${sql.raw(`t${i}`)}`,
  );
  const row = await db.get<Record<string, number>>(sql`SELECT ${sql.join(probes, sql`, `)}`);
  return MOVED_TABLES.filter((_, i) => row?.[`t${i}`] === 1);
}

/**
 * The tables where moving a row's `user_id` can meet a row of the account: a primary key or unique
 * index that holds `user_id` (a singleton, a day, a badge, an XP source key). Any other key is the
 * same before and after the move, so no page of those tables can clash: they move in one plain UPDATE
 * (one write a row, where a merge's mark-move-delete writes each row twice: ~5× faster at 600,000 rows).
 */
export const CLASHING_TABLES: ReadonlySet<string> = new Set(
  MOVED_TABLES.filter((name) => {
    const spec = EXPORTED_TABLES.find((t) => t.name === name);
    if (!spec) return true;
    const config = getTableConfig(spec.table);
    const holdsUser = (columns: readonly unknown[]) =>
      columns.some((c) => !(c instanceof Column) || c.name === "user_id");
    return (
      config.columns.some((c) => c.name === "user_id" && (c.primary || c.isUnique)) ||
      config.primaryKeys.some((pk) => holdsUser(pk.columns)) ||
      config.uniqueConstraints.some((u) => holdsUser(u.columns)) ||
      config.indexes.some((i) => i.config.unique && holdsUser(i.config.columns))
    );
  }),
);

export interface MovePage {
  userId: string;
  importId: string;
  mode: "merge" | "replace";
  table: string;
  page: number;
}

/**
 * One page's batch: the guard (the job still running and moving), the page's statements, and the job's
 * `updated_at` (the stale sweep sees it moving). The statement at index 1 selects the page: its
 * `changes` below `page` means the table is empty now.
 */
export function movePageStatements(db: Database, input: MovePage): BatchItem<"sqlite">[] {
  const { userId, importId, table, page } = input;
  const staging = stagingUserOf(userId, importId);
  const selected = sql`(SELECT rowid FROM ${q(table)} WHERE ${movable(table, staging, importId)} LIMIT ${page})`;
  const guard = abortIf(
    db,
    sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${importId} AND status = 'running'
      AND json_extract(mapping, '$.moving') = '1')`,
  );
  const touch = rawStatement(db, sql`UPDATE imports SET updated_at = ${nowIso()} WHERE id = ${importId}`);
  if (input.mode === "replace")
    return [
      guard,
      rawStatement(db, sql`UPDATE OR REPLACE ${q(table)} SET user_id = ${userId} WHERE rowid IN ${selected}`),
      touch,
    ];
  if (!CLASHING_TABLES.has(table))
    return [
      guard,
      rawStatement(db, sql`UPDATE ${q(table)} SET user_id = ${userId} WHERE rowid IN ${selected}`),
      touch,
    ];
  const mover = moverOf(userId, importId);
  return [
    guard,
    rawStatement(db, sql`UPDATE ${q(table)} SET user_id = ${mover} WHERE rowid IN ${selected}`),
    rawStatement(db, sql`UPDATE OR IGNORE ${q(table)} SET user_id = ${userId} WHERE user_id = ${mover}`),
    rawStatement(db, sql`DELETE FROM ${q(table)} WHERE user_id = ${mover}`),
    touch,
  ];
}
