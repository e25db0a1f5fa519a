/**
 * The statements that write restored rows: one INSERT … SELECT FROM json_each(?) per table run, so a
 * chunk of hundreds of rows binds a few parameters. Rows go in under the import's staging owner
 * (meta.ts stagingUserOf): nothing of them shows until the end of the job moves them to the account.
 *
 * Every insert is ON CONFLICT DO NOTHING: a row the account has already (the same id, a handle someone
 * else holds) stays as it is, which makes a redelivered chunk, and a second restore of the same file,
 * write nothing twice. A child row goes in only under a parent this restore wrote (its staged task,
 * step, template or assignment; review item 1): a file naming anyone else's task, step, template or
 * assignment — or one of the account's own, which the staging owner does not hold — writes nothing
 * there. A reference that may be
 * empty (a focus session's task) is kept only when it names a task or step of the restore or of the
 * account, else written empty.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import type { Database } from "../../../db";
import { rawStatement } from "../../../lib/batch";
import { MAX_NOTES_PER_ASSIGNMENT, OWNER_AUTHOR } from "../../delegation/schemas";
import { columnsOf, exportedTable } from "../../export/format";
import { utf8Length } from "../../export/reader";
import { HANDLE_COOLDOWN_DAYS } from "../../social/profile-service";

const DAY_MS = 86_400_000;

type Row = Record<string, unknown>;

/** Bytes of rows of one table per statement (D1 stores a value up to 2,000,000 bytes). */
export const STATEMENT_JSON_BYTES = 900_000;

const quote = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Rows of one table, grouped so each group's JSON (in UTF-8 bytes) stays under the statement size. */
export function groupsOf(rows: readonly Row[], maxBytes = STATEMENT_JSON_BYTES): string[] {
  const groups: string[] = [];
  let parts: string[] = [];
  let size = 2;
  for (const row of rows) {
    const text = JSON.stringify(row);
    const bytes = utf8Length(text, 0, text.length);
    if (parts.length > 0 && size + bytes + 1 > maxBytes) {
      groups.push(`[${parts.join(",")}]`);
      parts = [];
      size = 2;
    }
    parts.push(text);
    size += bytes + 1;
  }
  if (parts.length > 0) groups.push(`[${parts.join(",")}]`);
  return groups;
}

/** A column that names a row of the user's (a parent). */
interface ParentRef {
  column: string;
  parent: "tasks" | "micro_steps" | "task_templates" | "task_assignments";
}

/**
 * The references checked at insert. tasks.parent_task_id is not here: a parent may come in the same
 * statement (SQLite reads the table before the insert), so the end of the job empties the ones left
 * pointing at nothing the account holds (reveal.ts).
 */
export const PARENT_REFS: Readonly<Record<string, readonly ParentRef[]>> = {
  micro_steps: [{ column: "task_id", parent: "tasks" }],
  task_dependencies: [
    { column: "task_id", parent: "tasks" },
    { column: "depends_on_id", parent: "tasks" },
  ],
  template_steps: [{ column: "template_id", parent: "task_templates" }],
  task_assignments: [{ column: "task_id", parent: "tasks" }],
  assignment_notes: [{ column: "assignment_id", parent: "task_assignments" }],
  focus_sessions: [
    { column: "task_id", parent: "tasks" },
    { column: "step_id", parent: "micro_steps" },
  ],
  calendar_imports: [{ column: "task_id", parent: "tasks" }],
  analytics_task_times: [{ column: "task_id", parent: "tasks" }],
  task_splits: [
    { column: "task_id", parent: "tasks" },
    { column: "step_id", parent: "micro_steps" },
  ],
  step_feedback: [
    { column: "step_id", parent: "micro_steps" },
    { column: "task_id", parent: "tasks" },
  ],
};

export interface WriteContext {
  /** The account restored into. */
  userId: string;
  /** The owner rows are staged under until the end of the job moves them. */
  staging: string;
  /** The `deleted_at` tasks are staged with (and the account's own hidden with, in replace mode). */
  hiddenAt: string;
  mode: "merge" | "replace";
  /** The import: a replace records here which of the file's tasks the account holds already. */
  importId: string;
}

/** Inserts `rows` of `table` (restoredRow's output) under the staging owner. */
export function insertRows(
  db: Database,
  table: string,
  rows: readonly Row[],
  ctx: WriteContext,
): BatchItem<"sqlite">[] {
  const spec = exportedTable(table);
  if (!spec || rows.length === 0) return [];
  const known = new Set(columnsOf(spec.table));
  const notNull = new Set(
    getTableConfig(spec.table)
      .columns.filter((c) => c.notNull)
      .map((c) => c.name),
  );
  // Every row of a table has the same keys (checked before anything is written: validate.ts); the
  // union still decides, so a row lacking a column is never written with it dropped from the others.
  const present = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) present.add(key);
  const columns = [...present].filter((c) => known.has(c));
  const refs = new Map((PARENT_REFS[table] ?? []).map((r) => [r.column, r.parent]));
  const value = (c: string) => sql.raw(`json_extract(j.value, '$.${c}')`);
  const conditions: SQL[] = [];
  const values = columns.map((c) => {
    const parent = refs.get(c);
    if (!parent) return value(c);
    if (notNull.has(c)) {
      // Required: only under a parent this restore staged, or a task of the account's own that this
      // restore recorded as the file's too (its own export by link: review3 H1) — the account's by
      // its owner, so never anyone else's.
      conditions.push(
        parent === "tasks"
          ? sql`EXISTS (SELECT 1 FROM tasks p WHERE p.id = ${value(c)} AND (p.user_id = ${ctx.staging}
              OR (p.user_id = ${ctx.userId} AND EXISTS (SELECT 1 FROM import_items r WHERE r.import_id = ${ctx.importId} AND r.ref = p.id))))`
          : parent === "micro_steps"
            ? sql`EXISTS (SELECT 1 FROM micro_steps p WHERE p.id IN (${value(c)}, ${shadowPrefix(ctx.importId)} || ${value(c)}) AND p.user_id = ${ctx.staging})`
            : sql`EXISTS (SELECT 1 FROM ${sql.raw(parent)} p WHERE p.id = ${value(c)} AND p.user_id = ${ctx.staging})`,
      );
      return value(c);
    }
    // A step staged as a shadow (own.ts) is the file's step too: it takes its id back.
    const ids =
      parent === "micro_steps"
        ? sql`(${value(c)}, ${shadowPrefix(ctx.importId)} || ${value(c)})`
        : sql`(${value(c)})`;
    return sql`CASE WHEN EXISTS (SELECT 1 FROM ${sql.raw(parent)} p WHERE p.id IN ${ids} AND p.user_id IN (${ctx.staging}, ${ctx.userId})) THEN ${value(c)} END`;
  });
  if (table === "social_profiles") {
    // A handle another profile let go of within the cooldown is still kept for it (review2 H4).
    const since = new Date(Date.now() - HANDLE_COOLDOWN_DAYS * DAY_MS).toISOString();
    conditions.push(
      sql`NOT EXISTS (SELECT 1 FROM social_profiles o WHERE o.released_handle_key = ${value("handle_key")}
        AND o.user_id NOT IN (${ctx.userId}, ${ctx.staging}) AND o.released_at > ${since})`,
    );
  }
  if (table === "assignment_notes") {
    // An author is the person or the restored assignment's own agent: any other name is a dangling
    // reference, skipped as the others are.
    conditions.push(knownAuthor(value, ctx));
  }
  const where = conditions.length > 0 ? sql.join(conditions, sql` AND `) : sql`1`;
  const list = sql.raw(columns.map(quote).join(", "));
  // A task the account holds under the same id (its own export by link, or the same file restored
  // again) is left as it is while the job runs (review2 M2: the account is not changed before the
  // commit point) and recorded, deleted or not: the last batch keeps it from a replace's deletion,
  // and the commit point gives it the file's version (own.ts); children of the file may be staged under it.
  const records = table === "tasks";
  const id = value("id");
  const at = new Date().toISOString();
  const shadow = shadowOf(table, ctx);
  const shadowed = shadow
    ? {
        values: columns.map((c, i) =>
          shadow.columns.includes(c) ? sql`${shadowPrefix(ctx.importId)} || ${value(c)}` : (values[i] as SQL),
        ),
        held: shadow.held(value),
      }
    : null;
  // A child staged as a shadow is not staged under its own key too.
  const plain = shadow?.only && shadowed ? sql`${where} AND NOT ${shadowed.held}` : where;
  return groupsOf(rows).flatMap((group) => [
    ...(records
      ? [
          rawStatement(
            db,
            sql`INSERT INTO import_items (import_id, ref, user_id, source, external_id, task_id, outcome, created_at)
              SELECT ${ctx.importId}, ${id}, ${ctx.userId}, 'export', NULL, ${id}, 'duplicate', ${at} FROM json_each(${group}) j
              WHERE EXISTS (SELECT 1 FROM tasks t WHERE t.id = ${id} AND t.user_id = ${ctx.userId})
              ON CONFLICT DO NOTHING`,
          ),
        ]
      : []),
    rawStatement(
      db,
      sql`INSERT INTO ${sql.raw(quote(table))} (${list}) SELECT ${sql.join(values, sql`, `)} FROM json_each(${group}) j WHERE ${plain}${
        table === "assignment_notes" ? sql` AND ${underNoteCap(group, value, ctx)}` : sql``
      } ON CONFLICT DO NOTHING`,
    ),
    ...(shadowed
      ? [
          rawStatement(
            db,
            sql`INSERT INTO ${sql.raw(quote(table))} (${list}) SELECT ${sql.join(shadowed.values, sql`, `)} FROM json_each(${group}) j
              WHERE ${where} AND ${shadowed.held} ON CONFLICT DO NOTHING`,
          ),
        ]
      : []),
  ]);
}

/**
 * The file's copy of a row the account holds under the same key is staged under a key of its own
 * (shadowPrefix before one column: the import's own, so two restores never meet), so the commit point can take the file's version (own.ts): a task
 * in both modes (a merge brings back a task deleted since), a step or a dependency in replace mode
 * (the file's children of such a task become its children).
 */
export const shadowPrefix = (importId: string) => `shadow:${importId}:`;

type Value = (c: string) => SQL;

/** The task `column` names is one of the account's this restore recorded as the file's too. */
const recordedParent = (v: Value, column: string, ctx: WriteContext) =>
  sql`EXISTS (SELECT 1 FROM import_items r WHERE r.import_id = ${ctx.importId} AND r.ref = ${v(column)})`;

/**
 * Which rows are staged as shadows, and which of their columns take the prefix: a task the account
 * holds (its id); every step and dependency under such a task (both modes: own.ts gives a task all of
 * its file's children in one batch, so they neither trickle in while the rows move nor meet the
 * account's before their task's page — review4 M2), their task's id prefixed too, so no read of the
 * account's task by its id (its steps, its dependencies either way) meets them while they are staged;
 * and, in replace mode, a step or dependency whose key the account holds elsewhere (dropped at the end).
 */
function shadowOf(
  table: string,
  ctx: WriteContext,
): { columns: readonly string[]; held: (value: Value) => SQL; only: boolean } | null {
  const { userId, mode } = ctx;
  if (table === "tasks")
    return {
      columns: ["id"],
      held: (v) => sql`EXISTS (SELECT 1 FROM tasks a WHERE a.id = ${v("id")} AND a.user_id = ${userId})`,
      only: false,
    };
  if (table === "micro_steps")
    return {
      columns: ["id", "task_id"],
      held: (v) =>
        mode === "replace"
          ? sql`(${recordedParent(v, "task_id", ctx)} OR EXISTS (SELECT 1 FROM micro_steps a WHERE a.id = ${v("id")} AND a.user_id = ${userId}))`
          : recordedParent(v, "task_id", ctx),
      only: true,
    };
  if (table === "task_dependencies")
    return {
      columns: ["task_id", "depends_on_id"],
      held: (v) =>
        mode === "replace"
          ? sql`(${recordedParent(v, "task_id", ctx)} OR EXISTS (SELECT 1 FROM task_dependencies a WHERE a.task_id = ${v("task_id")}
              AND a.depends_on_id = ${v("depends_on_id")} AND a.user_id = ${userId}))`
          : recordedParent(v, "task_id", ctx),
      only: true,
    };
  return null;
}

/**
 * A note goes in only while its assignment holds fewer than the notes one may hold: those staged
 * already, and those before it in this statement (SQLite reads the table as it was before the insert);
 * the rest are skipped.
 */
function underNoteCap(group: string, value: (c: string) => SQL, ctx: WriteContext): SQL {
  return sql`(SELECT count(*) FROM assignment_notes n WHERE n.assignment_id = ${value("assignment_id")}
      AND n.user_id = ${ctx.staging})
    + (SELECT count(*) FROM json_each(${group}) k WHERE json_extract(k.value, '$.assignment_id') = ${value("assignment_id")}
      AND k.key < j.key AND ${knownAuthor((c) => sql.raw(`json_extract(k.value, '$.${c}')`), ctx)}) < ${MAX_NOTES_PER_ASSIGNMENT}`;
}

/** A note's author is the person, or the agent of the staged assignment it is on. */
function knownAuthor(value: (c: string) => SQL, ctx: WriteContext): SQL {
  return sql`(${value("author")} = ${OWNER_AUTHOR} OR ${value("author")} = 'agent:' || (SELECT p.agent_id
    FROM task_assignments p WHERE p.id = ${value("assignment_id")} AND p.user_id = ${ctx.staging}))`;
}
