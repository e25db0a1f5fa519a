import { and, desc, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { type microSteps, tasks } from "../../db/schema";
import type { LeafType, StepStatus } from "../../db/schema/tasks";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { computeProgress, PRIORITY_RANK } from "./progress";
import type { ListTasksQuery, MicroStepDto, TaskDto } from "./schemas";

type TaskRow = typeof tasks.$inferSelect;
type StepRow = typeof microSteps.$inferSelect;

// Qualified by hand: drizzle renders a column bare in single-table selects, which inside these
// subqueries would bind to the subquery's own table.
export const OUTER_TASK_ID = sql.raw('"tasks"."id"');

// Correlated subqueries keep a task, its progress, its dependencies and (optionally) its steps in
// one statement: one D1 round trip for a whole page.
const totalSteps = sql<number>`(SELECT count(*) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID})`;
const completedSteps = sql<number>`(SELECT count(*) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed')`;
const dependsOn = sql<string>`(SELECT json_group_array(d.depends_on_id) FROM task_dependencies d WHERE d.task_id = ${OUTER_TASK_ID})`;
const stepsJson = sql<string>`(SELECT json_group_array(json_object(
  'step_id', s.id, 'task_id', s.task_id, 'position', s.position, 'description', s.description,
  'short_label', s.short_label, 'icon', s.icon, 'estimated_minutes', s.estimated_minutes,
  'leaf_type', s.leaf_type, 'status', s.status, 'completed_at', s.completed_at, 'created_at', s.created_at))
  FROM (SELECT * FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} ORDER BY s.position) s)`;

const baseSelection = { task: tasks, totalSteps, completedSteps, dependsOn };
const withSteps = { ...baseSelection, steps: stepsJson };

interface TaskQueryRow {
  task: TaskRow;
  totalSteps: number;
  completedSteps: number;
  dependsOn: string;
  steps?: string;
}

export function stepRowToDto(row: StepRow): MicroStepDto {
  return {
    step_id: row.id,
    task_id: row.taskId,
    position: row.position,
    description: row.description,
    short_label: row.shortLabel,
    icon: row.icon,
    estimated_minutes: row.estimatedMinutes,
    leaf_type: row.leafType,
    status: row.status,
    completed_at: row.completedAt,
    created_at: row.createdAt,
  };
}

export function toTaskDto(row: TaskQueryRow): TaskDto {
  const t = row.task;
  const dto: TaskDto = {
    task_id: t.id,
    title: t.title,
    description: t.description,
    status: t.status,
    priority: t.priority,
    estimated_minutes: t.estimatedMinutes,
    actual_minutes: t.actualMinutes,
    due_at: t.dueAt,
    tags: t.tags,
    depends_on: (JSON.parse(row.dependsOn) as string[]).sort(),
    delegation_mode: t.delegationMode,
    assigned_to: t.assignedTo,
    agent_type: t.agentType,
    is_meta_task: t.isMetaTask,
    task_source: t.taskSource,
    category: t.category,
    parent_task_id: t.parentTaskId,
    progress: computeProgress(row.completedSteps, row.totalSteps, t.status === "completed"),
    completed_at: t.completedAt,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
  if (row.steps !== undefined) {
    dto.micro_steps = (
      JSON.parse(row.steps) as (Omit<MicroStepDto, "leaf_type" | "status"> & {
        leaf_type: LeafType;
        status: StepStatus;
      })[]
    ).sort((a, b) => a.position - b.position);
  }
  return dto;
}

const ownedLive = (userId: string) => and(eq(tasks.userId, userId), isNull(tasks.deletedAt));

/**
 * What a caller may read: a person reads all their live tasks; an agent (through its own token)
 * reads only the tasks it has been assigned.
 */
export function visibleLive(userId: string, agentId?: string) {
  if (!agentId) return ownedLive(userId);
  return and(
    ownedLive(userId),
    sql`EXISTS (SELECT 1 FROM task_assignments a WHERE a.task_id = ${OUTER_TASK_ID} AND a.agent_id = ${agentId})`,
  );
}

/** One of the caller's live tasks with its steps, as a batchable query (empty when absent or not theirs). */
export function taskByIdQuery(db: Database, userId: string, taskId: string, agentId?: string) {
  return db
    .select(withSteps)
    .from(tasks)
    .where(and(visibleLive(userId, agentId), eq(tasks.id, taskId)))
    .limit(1);
}

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
  const conditions: (SQL | undefined)[] = [visibleLive(userId, agentId)];
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
  const rows = await db
    .select(selection)
    .from(tasks)
    .where(and(...conditions))
    .orderBy(desc(tasks.id))
    .limit(rowsToFetch(query.limit))
    .all();
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
