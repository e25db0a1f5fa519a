import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { allRows } from "../../db/rows";
import { tasks } from "../../db/schema";
import { accountIsLive } from "../../lib/auth/account";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { PRIORITY_RANK } from "./progress";
import type { ListTasksQuery, TaskDto } from "./schemas";
import { baseSelection, OUTER_TASK_ID, toTaskDto, totalSteps, visibleLive, withSteps } from "./statements";

/** A task is ready when every task it depends on is completed (deleted ones no longer block). */
const isReady = sql`NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks b ON b.id = d.depends_on_id
  WHERE d.task_id = ${OUTER_TASK_ID} AND b.status != 'completed' AND b.deleted_at IS NULL)`;
const isOpen = sql`${tasks.status} IN ('pending', 'in_progress', 'blocked')`;

export async function listTasks(
  db: Database,
  userId: string,
  query: ListTasksQuery,
  afterId: string | null,
  agentId?: string,
): Promise<Page<TaskDto>> {
  // Rows come back only while the account is live: the route needs no lookup of it beside.
  const conditions: (SQL | undefined)[] = [accountIsLive(userId), visibleLive(userId, agentId)];
  if (afterId) conditions.push(lt(tasks.id, afterId));
  if (query.status) conditions.push(eq(tasks.status, query.status));
  if (query.priority) conditions.push(eq(tasks.priority, query.priority));
  if (query.delegation_mode) conditions.push(eq(tasks.delegationMode, query.delegation_mode));
  if (query.category) conditions.push(eq(tasks.category, query.category));
  if (query.parent_task_id) conditions.push(eq(tasks.parentTaskId, query.parent_task_id));
  if (query.assigned_to) conditions.push(eq(tasks.assignedTo, query.assigned_to));
  if (query.is_meta_task !== undefined) conditions.push(eq(tasks.isMetaTask, query.is_meta_task));
  if (query.due_before)
    conditions.push(sql`${tasks.dueAt} IS NOT NULL AND ${tasks.dueAt} < ${query.due_before}`);
  if (query.tag)
    conditions.push(sql`EXISTS (SELECT 1 FROM json_each(${tasks.tags}) WHERE value = ${query.tag})`);
  if (query.ready === true) conditions.push(and(isOpen, isReady));
  if (query.ready === false) conditions.push(and(isOpen, sql`NOT (${isReady})`));
  if (query.q) {
    // instr, not LIKE: D1 refuses LIKE patterns over 50 bytes, and a search needs no wildcards.
    const needle = query.q.toLowerCase();
    conditions.push(
      sql`(instr(lower(${tasks.title}), ${needle}) > 0 OR instr(lower(coalesce(${tasks.description}, '')), ${needle}) > 0)`,
    );
  }
  const selection = query.include === "micro_steps" ? withSteps : baseSelection;
  const rows = await allRows(
    db
      .select(selection)
      .from(tasks)
      .where(and(...conditions))
      .orderBy(desc(tasks.id))
      .limit(rowsToFetch(query.limit)),
    selection,
  );
  return pageOf(rows, query.limit, toTaskDto, (r) => r.task.id);
}

const priorityRank = sql`CASE ${tasks.priority} ${sql.raw(
  Object.entries(PRIORITY_RANK)
    .map(([p, r]) => `WHEN '${p}' THEN ${r}`)
    .join(" "),
)} END`;

/**
 * Hunter mode: the one task to work on now — open, ready, the person's own to do (not delegated or
 * dropped), with a step left (or no steps at all): started work first, then priority, then due time.
 */
export async function findNextTask(
  db: Database,
  userId: string,
  agentId?: string,
): Promise<TaskDto | undefined> {
  const row = await db
    .select(withSteps)
    .from(tasks)
    .where(
      and(
        visibleLive(userId, agentId),
        sql`${tasks.status} IN ('pending', 'in_progress')`,
        sql`${tasks.delegationMode} IN ('DO', 'DO_WITH_ME')`,
        isReady,
        sql`(${totalSteps} = 0 OR EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'pending'))`,
      ),
    )
    .orderBy(
      sql`CASE ${tasks.status} WHEN 'in_progress' THEN 0 ELSE 1 END`,
      priorityRank,
      sql`${tasks.dueAt} IS NULL`,
      tasks.dueAt,
      tasks.id,
    )
    .limit(1)
    .get();
  return row ? toTaskDto(row) : undefined;
}
