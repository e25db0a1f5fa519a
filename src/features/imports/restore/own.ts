/**
 * The account's own rows a restore meets again (review3 H1): restoring your backup by its link keeps
 * its ids, so the file's tasks, steps and dependencies have the ids of rows the account holds — or
 * held, and deleted since. The writer staged the file's copy of each under a key of its own (write.ts
 * shadowPrefix) and recorded the tasks; here, at the commit point (reveal.ts commitStatements), before anything moves:
 * - a task deleted since comes back as the file has it (both modes); in replace mode every such task
 *   takes the file's version (the file is the truth for the ids it holds), in merge mode a live one
 *   stays as the person has it now;
 * - in replace mode the steps and dependencies of those tasks become the file's (the account's are
 *   deleted, the file's copies take their ids back); in merge mode the file's missing ones are added
 *   (staged under the recorded task: write.ts) and the copies of ones the account has are dropped.
 * Every statement names the account's rows by `user_id = userId`, the staged ones by the import's
 * staging owner: nothing here can reach another person's rows.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { Database } from "../../../db";
import { tasks } from "../../../db/schema";
import { rawStatement } from "../../../lib/batch";
import { stagingUserOf } from "./meta";
import { shadowPrefix } from "./write";

const TASK_COLUMNS = getTableConfig(tasks)
  .columns.map((c) => c.name)
  .filter((name) => name !== "id" && name !== "user_id");

const q = (name: string) => sql.raw(`"${name}"`);

export interface OwnCopiesInput {
  userId: string;
  importId: string;
  mode: "merge" | "replace";
}

/** The account's tasks this restore recorded as the file's too (write.ts). */
export const recordedTasks = (importId: string): SQL =>
  sql`(SELECT task_id FROM import_items WHERE import_id = ${importId})`;

/** The statements, run at the commit point, before the paged move and the last batch's replace (reveal.ts). */
export function ownCopiesStatements(db: Database, input: OwnCopiesInput): BatchItem<"sqlite">[] {
  const { userId, importId } = input;
  const staging = stagingUserOf(userId, importId);
  const prefix = shadowPrefix(importId);
  // [prefix, prefix with its last ':' made ';'): every key that starts with it, by the index.
  const end = `${prefix.slice(0, -1)};`;
  const cut = prefix.length + 1;
  const shadowed = (column: string) => sql`${q(column)} >= ${prefix} AND ${q(column)} < ${end}`;
  const copies = sql`(SELECT substr(id, ${cut}) FROM tasks WHERE user_id = ${staging} AND ${shadowed("id")})`;
  const list = sql.raw(TASK_COLUMNS.map((c) => `"${c}"`).join(", "));
  const fromCopy = sql.raw(TASK_COLUMNS.map((c) => `s."${c}"`).join(", "));
  const out: BatchItem<"sqlite">[] = [
    // The file's version: its `deleted_at` is the staging's hidden mark when the file's task is live,
    // so it stays hidden while the rows move and the last batch shows it with the restored ones.
    rawStatement(
      db,
      sql`UPDATE tasks SET (${list}) = (SELECT ${fromCopy} FROM tasks s WHERE s.user_id = ${staging} AND s.id = ${prefix} || tasks.id)
        WHERE user_id = ${userId} AND id IN ${copies}${input.mode === "merge" ? sql` AND deleted_at IS NOT NULL` : sql``}`,
    ),
  ];
  if (input.mode === "replace") {
    const recorded = recordedTasks(importId);
    out.push(
      rawStatement(db, sql`DELETE FROM micro_steps WHERE user_id = ${userId} AND task_id IN ${recorded}`),
      rawStatement(
        db,
        sql`DELETE FROM task_dependencies WHERE user_id = ${userId} AND task_id IN ${recorded}`,
      ),
      rawStatement(
        db,
        sql`UPDATE OR IGNORE micro_steps SET id = substr(id, ${cut}) WHERE user_id = ${staging} AND ${shadowed("id")}`,
      ),
      rawStatement(
        db,
        sql`UPDATE OR IGNORE task_dependencies SET depends_on_id = substr(depends_on_id, ${cut})
          WHERE user_id = ${staging} AND ${shadowed("depends_on_id")}`,
      ),
    );
  }
  // Copies left (a merge's, or one whose key was still taken) go, before the staging moves.
  out.push(
    rawStatement(db, sql`DELETE FROM tasks WHERE user_id = ${staging} AND ${shadowed("id")}`),
    rawStatement(db, sql`DELETE FROM micro_steps WHERE user_id = ${staging} AND ${shadowed("id")}`),
    rawStatement(
      db,
      sql`DELETE FROM task_dependencies WHERE user_id = ${staging} AND ${shadowed("depends_on_id")}`,
    ),
  );
  return out;
}
