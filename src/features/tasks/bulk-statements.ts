/**
 * Tasks written by the thousand (imports, restores): rows the caller names the ids of, inserted with
 * `INSERT … SELECT … FROM json_each(?)` — one JSON parameter per statement, so a statement stays far
 * under D1's 100 bound parameters whatever the number of rows — and idempotent by id (a retried
 * chunk inserts nothing twice). The invariants `newTaskWrite` keeps hold here too: the category is
 * filed at creation, tags are unique, steps are numbered from 1 with a micro-step's estimate, and a
 * completed task leaves no step pending. No `task.created` event is written: a bulk writer says what
 * it did with one event of its own.
 *
 * Rows may be written hidden (`hiddenAt`: a `deleted_at` no read shows) and revealed all at once.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import type { TaskPriority, TaskSource } from "../../db/schema/tasks";
import { rawStatement } from "../../lib/batch";
import { categoryAtCreation } from "../categories/service";
import { DEFAULT_STEP_MINUTES } from "./schemas";

/** Statuses a task can arrive in (in progress or blocked is for the person to say, once it is theirs). */
export type BulkTaskStatus = "pending" | "completed" | "cancelled";

export interface BulkStep {
  id: string;
  description: string;
  done: boolean;
}

export interface BulkTask {
  id: string;
  title: string;
  description: string | null;
  status: BulkTaskStatus;
  priority: TaskPriority;
  estimatedMinutes: number | null;
  dueAt: string | null;
  tags: string[];
  taskSource: TaskSource;
  /** A task id, or a placeholder the caller resolves later (see `resolveReferences`). */
  parentTaskId: string | null;
  /** Task ids (or placeholders) this one waits on. */
  dependsOn: string[];
  steps: BulkStep[];
  createdAt: string;
  completedAt: string | null;
}

/** The most JSON one statement carries: well under what D1 binds in one value. */
const MAX_JSON_CHARS = 200_000;

/** Rows in groups whose JSON stays under `maxChars`, one group per statement. */
export function jsonGroups<T>(rows: readonly T[], maxChars = MAX_JSON_CHARS): T[][] {
  const groups: T[][] = [];
  let group: T[] = [];
  let size = 2;
  for (const row of rows) {
    const length = JSON.stringify(row).length + 1;
    if (group.length > 0 && size + length > maxChars) {
      groups.push(group);
      group = [];
      size = 2;
    }
    group.push(row);
    size += length;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

const field = (name: string) => sql.raw(`json_extract(j.value, '$.${name}')`);

/**
 * The statements that insert these tasks with their steps and dependencies, hidden until
 * `revealTasks` when `hiddenAt` is given. A row whose id exists already is left as it is.
 */
export function bulkInsertTasks(
  db: Database,
  userId: string,
  input: readonly BulkTask[],
  now: string,
  hiddenAt: string | null,
): BatchItem<"sqlite">[] {
  const tasks = input.map((t) => {
    const filed = categoryAtCreation({ title: t.title, description: t.description, tags: t.tags });
    return {
      id: t.id,
      title: t.title,
      description: t.description,
      status: t.status,
      priority: t.priority,
      estimated_minutes: t.estimatedMinutes,
      due_at: t.dueAt,
      tags: [...new Set(t.tags)],
      task_source: t.taskSource,
      category: filed.category,
      category_source: filed.source,
      parent_task_id: t.parentTaskId,
      completed_at: t.status === "completed" ? t.completedAt : null,
      created_at: t.createdAt,
    };
  });
  const steps = input.flatMap((t) =>
    t.steps.map((s, i) => ({
      id: s.id,
      task_id: t.id,
      position: i + 1,
      description: s.description,
      // A finished task leaves nothing pending, as completing one by hand skips what is left.
      status: s.done ? "completed" : t.status === "pending" ? "pending" : "skipped",
      completed_at: s.done ? (t.completedAt ?? now) : null,
    })),
  );
  const dependencies = input.flatMap((t) =>
    [...new Set(t.dependsOn)].filter((d) => d !== t.id).map((d) => ({ task_id: t.id, depends_on_id: d })),
  );

  const statements: BatchItem<"sqlite">[] = [];
  for (const group of jsonGroups(tasks)) {
    statements.push(
      rawStatement(
        db,
        sql`INSERT INTO tasks (id, user_id, title, description, status, priority, estimated_minutes, due_at, tags,
          delegation_mode, is_meta_task, task_source, category, category_source, parent_task_id, completed_at,
          created_at, updated_at, deleted_at)
        SELECT ${field("id")}, ${userId}, ${field("title")}, ${field("description")}, ${field("status")},
          ${field("priority")}, ${field("estimated_minutes")}, ${field("due_at")}, ${field("tags")}, 'DO', 0,
          ${field("task_source")}, ${field("category")}, ${field("category_source")}, ${field("parent_task_id")},
          ${field("completed_at")}, ${field("created_at")}, ${now}, ${hiddenAt}
        FROM json_each(${JSON.stringify(group)}) j WHERE 1
        ON CONFLICT(id) DO NOTHING`,
      ),
    );
  }
  for (const group of jsonGroups(steps)) {
    statements.push(
      rawStatement(
        db,
        sql`INSERT INTO micro_steps (id, task_id, user_id, position, description, estimated_minutes, leaf_type,
          status, completed_at, created_at, updated_at)
        SELECT ${field("id")}, ${field("task_id")}, ${userId}, ${field("position")}, ${field("description")},
          ${DEFAULT_STEP_MINUTES}, 'HUMAN', ${field("status")}, ${field("completed_at")}, ${now}, ${now}
        FROM json_each(${JSON.stringify(group)}) j WHERE 1
        ON CONFLICT(id) DO NOTHING`,
      ),
    );
  }
  for (const group of jsonGroups(dependencies)) {
    statements.push(
      rawStatement(
        db,
        sql`INSERT INTO task_dependencies (task_id, depends_on_id, user_id, created_at)
        SELECT ${field("task_id")}, ${field("depends_on_id")}, ${userId}, ${now}
        FROM json_each(${JSON.stringify(group)}) j WHERE 1
        ON CONFLICT DO NOTHING`,
      ),
    );
  }
  return statements;
}

/**
 * Replaces placeholders in the parents and dependencies of the tasks `ids` selects: `isPlaceholder`
 * tells one (a SQL predicate over the column `ref`), `resolve` maps one to its task (a scalar subquery
 * over `ref`; NULL when it names nothing). A parent that resolves to nothing is dropped, as is a
 * dependency (or one that would repeat another). Running it again changes nothing.
 */
export function resolveReferences(
  db: Database,
  userId: string,
  ids: SQL,
  isPlaceholder: (ref: SQL) => SQL,
  resolve: (ref: SQL) => SQL,
): [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] {
  const parent = sql.raw("tasks.parent_task_id");
  const target = sql.raw("task_dependencies.depends_on_id");
  return [
    rawStatement(
      db,
      sql`UPDATE tasks SET parent_task_id = ${resolve(parent)}
        WHERE user_id = ${userId} AND id IN ${ids} AND parent_task_id IS NOT NULL AND ${isPlaceholder(parent)}`,
    ),
    rawStatement(
      db,
      sql`UPDATE OR IGNORE task_dependencies SET depends_on_id = ${resolve(target)}
        WHERE task_id IN ${ids} AND ${isPlaceholder(target)} AND ${resolve(target)} IS NOT NULL`,
    ),
    rawStatement(db, sql`DELETE FROM task_dependencies WHERE task_id IN ${ids} AND ${isPlaceholder(target)}`),
  ];
}

/** The parent links and dependency edges among the tasks `ids` selects, to look for cycles. */
export function linksAmong(db: Database, userId: string, ids: SQL) {
  return {
    parents: db.all<{ id: string; parent: string }>(
      sql`SELECT id, parent_task_id AS parent FROM tasks
        WHERE user_id = ${userId} AND id IN ${ids} AND parent_task_id IN ${ids}`,
    ),
    dependencies: db.all<{ id: string; dependsOn: string }>(
      sql`SELECT task_id AS id, depends_on_id AS dependsOn FROM task_dependencies
        WHERE task_id IN ${ids} AND depends_on_id IN ${ids}`,
    ),
  };
}

/** Statements that cut these links (each one closes a cycle). */
export function cutLinks(
  db: Database,
  userId: string,
  parents: readonly string[],
  dependencies: readonly { id: string; dependsOn: string }[],
): BatchItem<"sqlite">[] {
  const statements: BatchItem<"sqlite">[] = [];
  for (const group of jsonGroups(parents)) {
    statements.push(
      rawStatement(
        db,
        sql`UPDATE tasks SET parent_task_id = NULL
          WHERE user_id = ${userId} AND id IN (SELECT value FROM json_each(${JSON.stringify(group)}))`,
      ),
    );
  }
  for (const group of jsonGroups(dependencies)) {
    statements.push(
      rawStatement(
        db,
        sql`DELETE FROM task_dependencies WHERE user_id = ${userId} AND (task_id, depends_on_id) IN
          (SELECT json_extract(j.value, '$.id'), json_extract(j.value, '$.dependsOn') FROM json_each(${JSON.stringify(group)}) j)`,
      ),
    );
  }
  return statements;
}

/** Deletes (softly, as DELETE /tasks does) every task of the user's that is live now. */
export function deleteLiveTasks(db: Database, userId: string, now: string): BatchItem<"sqlite"> {
  return rawStatement(
    db,
    sql`UPDATE tasks SET deleted_at = ${now}, updated_at = ${now} WHERE user_id = ${userId} AND deleted_at IS NULL`,
  );
}

/** Shows the tasks `ids` selects that were written hidden at `hiddenAt`. */
export function revealTasks(db: Database, userId: string, ids: SQL, hiddenAt: string, now: string) {
  return rawStatement(
    db,
    sql`UPDATE tasks SET deleted_at = NULL, updated_at = ${now}
      WHERE user_id = ${userId} AND id IN ${ids} AND deleted_at = ${hiddenAt}`,
  );
}

/** Erases the tasks `ids` selects that are still hidden at `hiddenAt`, with their steps and dependencies. */
export function eraseHiddenTasks(
  db: Database,
  userId: string,
  ids: SQL,
  hiddenAt: string,
): BatchItem<"sqlite">[] {
  const hidden = sql`(SELECT id FROM tasks WHERE user_id = ${userId} AND id IN ${ids} AND deleted_at = ${hiddenAt})`;
  return [
    rawStatement(db, sql`DELETE FROM micro_steps WHERE user_id = ${userId} AND task_id IN ${hidden}`),
    rawStatement(db, sql`DELETE FROM task_dependencies WHERE user_id = ${userId} AND task_id IN ${hidden}`),
    rawStatement(
      db,
      sql`DELETE FROM tasks WHERE user_id = ${userId} AND id IN ${ids} AND deleted_at = ${hiddenAt}`,
    ),
  ];
}
