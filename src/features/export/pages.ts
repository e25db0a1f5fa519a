/**
 * What an export reads from D1: pages of each table by key (never OFFSET, so every page costs the
 * same however deep into 100,000 tasks it is), the users row, and the counts that make `rows_total`.
 * Raw SQL over the database's own column names: the rows go into the file as they are stored.
 */
import { EXPORTED_TABLES, type ExportedTable } from "./format";
import type { RawRow } from "./json-document";

/** Rows per page unless the table says otherwise. */
export const DEFAULT_PAGE_ROWS = 1000;
/** Tasks per page of the CSV (with their steps and dependencies: about six times as many rows). */
export const CSV_PAGE_TASKS = 500;

export type KeyValue = string | number;

const quoted = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** The keyset statement of a table: its rows after a key (or the first ones), in key order. */
export function pageSql(spec: ExportedTable, withAfter: boolean, limit: number): string {
  const alias = spec.owner === "template" ? "s." : "";
  const keys = spec.key.map((k) => alias + quoted(k));
  const after =
    keys.length === 1
      ? `${keys[0]} > ?2`
      : `(${keys.join(", ")}) > (${keys.map((_, i) => `?${i + 2}`).join(", ")})`;
  // A template's steps belong to the user through the template. The user's templates, in id order,
  // each seek their steps by (template_id, id): no sort, and templates before the cursor are skipped.
  const from =
    spec.owner === "template"
      ? `SELECT s.* FROM template_steps s WHERE s.template_id IN (SELECT id FROM task_templates WHERE user_id = ?1${withAfter ? " AND id >= ?2" : ""})`
      : `SELECT * FROM ${quoted(spec.name)} WHERE user_id = ?1`;
  return `${from}${withAfter ? ` AND ${after}` : ""} ORDER BY ${keys.join(", ")} LIMIT ${limit}`;
}

export interface Page {
  columns: string[];
  rows: RawRow[];
}

export const pageRowsOf = (spec: ExportedTable) => spec.pageSize ?? DEFAULT_PAGE_ROWS;

export async function readPage(
  d1: D1Database,
  spec: ExportedTable,
  userId: string,
  after: readonly KeyValue[] | null,
): Promise<Page> {
  const statement = d1
    .prepare(pageSql(spec, after !== null, pageRowsOf(spec)))
    .bind(userId, ...(after ?? []));
  const [columns = [], ...rows] = await statement.raw<unknown[]>({ columnNames: true });
  return { columns: columns as string[], rows };
}

/** Positions of the key's columns in a page's columns. */
export function keyPositions(columns: readonly string[], key: readonly string[]): number[] {
  return key.map((k) => {
    const at = columns.indexOf(k);
    if (at < 0) throw new Error(`the page has no key column ${k}`);
    return at;
  });
}

const countSql = (spec: ExportedTable) =>
  spec.owner === "template"
    ? "SELECT count(*) AS n FROM template_steps s JOIN task_templates t ON t.id = s.template_id WHERE t.user_id = ?1"
    : `SELECT count(*) AS n FROM ${quoted(spec.name)} WHERE user_id = ?1`;

const CSV_TASKS = "FROM tasks WHERE user_id = ?1 AND deleted_at IS NULL";

/** How many rows the file will hold (as of now), in one round trip. */
export async function countRows(d1: D1Database, userId: string, format: "json" | "csv"): Promise<number> {
  const statements =
    format === "json"
      ? EXPORTED_TABLES.map((spec) => d1.prepare(countSql(spec)).bind(userId))
      : [
          d1.prepare(`SELECT count(*) AS n ${CSV_TASKS}`).bind(userId),
          d1
            .prepare(`SELECT count(*) AS n FROM micro_steps WHERE task_id IN (SELECT id ${CSV_TASKS})`)
            .bind(userId),
        ];
  const results = await d1.batch<{ n: number }>(statements);
  return results.reduce((sum, r) => sum + (r.results[0]?.n ?? 0), 0);
}

/** The users row, as stored (the caller leaves out its credential). */
export async function readAccount(d1: D1Database, userId: string): Promise<Record<string, unknown> | null> {
  return d1.prepare("SELECT * FROM users WHERE id = ?1").bind(userId).first<Record<string, unknown>>();
}

export interface TaskPage {
  tasks: Record<string, unknown>[];
  steps: Map<string, Record<string, unknown>[]>;
  dependsOn: Map<string, string[]>;
}

/**
 * A page of the CSV: the next tasks (not deleted) after `after`, their steps in order and what they
 * depend on — three statements in one batch (one round trip, one consistent view).
 */
export async function readTaskPage(
  d1: D1Database,
  userId: string,
  after: string,
  limit = CSV_PAGE_TASKS,
): Promise<TaskPage> {
  const page = `SELECT id ${CSV_TASKS} AND id > ?2 ORDER BY id LIMIT ${limit}`;
  const [tasks, steps, deps] = await d1.batch<Record<string, unknown>>([
    d1.prepare(`SELECT * ${CSV_TASKS} AND id > ?2 ORDER BY id LIMIT ${limit}`).bind(userId, after),
    d1
      .prepare(`SELECT * FROM micro_steps WHERE task_id IN (${page}) ORDER BY task_id, position`)
      .bind(userId, after),
    d1
      .prepare(
        `SELECT task_id, depends_on_id FROM task_dependencies WHERE task_id IN (${page}) ORDER BY task_id, depends_on_id`,
      )
      .bind(userId, after),
  ]);
  const byTask = <T>(rows: Record<string, unknown>[], pick: (row: Record<string, unknown>) => T) => {
    const map = new Map<string, T[]>();
    for (const row of rows) {
      const taskId = String(row.task_id);
      const list = map.get(taskId) ?? [];
      list.push(pick(row));
      map.set(taskId, list);
    }
    return map;
  };
  return {
    tasks: tasks?.results ?? [],
    steps: byTask(steps?.results ?? [], (row) => row),
    dependsOn: byTask(deps?.results ?? [], (row) => String(row.depends_on_id)),
  };
}
