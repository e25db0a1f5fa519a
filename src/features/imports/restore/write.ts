/**
 * The statements that write restored rows: one INSERT … SELECT FROM json_each(?) per table run, so a
 * chunk of hundreds of rows binds one parameter. Every insert is ON CONFLICT DO NOTHING: a row the
 * account has already (the same id, the same XP source key, a handle someone else holds) stays as it
 * is, which makes a redelivered chunk, and a second restore of the same file, write nothing twice.
 */
import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../../db";
import { rawStatement } from "../../../lib/batch";
import { columnsOf, exportedTable } from "../../export/format";

type Row = Record<string, unknown>;

/** Rows of one table per statement, by size of their JSON (D1 takes statements up to ~1 MB). */
export const STATEMENT_JSON_CHARS = 400_000;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Rows of one table, grouped so each group's JSON stays under the statement size. */
export function groupsOf(rows: readonly Row[], maxChars = STATEMENT_JSON_CHARS): string[] {
  const groups: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    if (parts.length > 0 && size + text.length + 1 > maxChars) {
      groups.push(`[${parts.join(",")}]`);
      parts = [];
      size = 2;
    }
    parts.push(text);
    size += text.length + 1;
  }
  if (parts.length > 0) groups.push(`[${parts.join(",")}]`);
  return groups;
}

/**
 * Inserts `rows` of `table` (restoredRow's output). In replace mode a task the account has already
 * under the same id (the same file restored again) is hidden with the others and shown again at the
 * end, so the final batch's "delete the live tasks" does not take it.
 */
export function insertRows(
  db: Database,
  table: string,
  rows: readonly Row[],
  mode: "merge" | "replace",
): BatchItem<"sqlite">[] {
  const spec = exportedTable(table);
  if (!spec || rows.length === 0) return [];
  const known = new Set(columnsOf(spec.table));
  // A file of an older version may lack columns added since: the database's default fills them in.
  const columns = Object.keys(rows[0] as Row).filter((c) => known.has(c));
  const list = sql.raw(columns.map(quote).join(", "));
  const values = sql.raw(columns.map((c) => `json_extract(j.value, '$.${c}')`).join(", "));
  const conflict =
    table === "tasks" && mode === "replace"
      ? sql.raw(
          "ON CONFLICT (id) DO UPDATE SET deleted_at = excluded.deleted_at WHERE tasks.user_id = excluded.user_id AND tasks.deleted_at IS NULL",
        )
      : sql.raw("ON CONFLICT DO NOTHING");
  return groupsOf(rows).map((group) =>
    rawStatement(
      db,
      sql`INSERT INTO ${sql.raw(quote(table))} (${list}) SELECT ${values} FROM json_each(${group}) j WHERE 1 ${conflict}`,
    ),
  );
}
