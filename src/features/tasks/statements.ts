/**
 * What other features may compose into their own D1 batches: the task read (with its correlated
 * progress, dependencies and steps) and its answer, step rows, a new task's statements and a
 * completion's. Besides `schemas.ts` (and `service.ts` for real service calls), the only module of
 * tasks another feature imports.
 */
import { and, eq, isNull, lte, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { microSteps, taskDependencies, tasks } from "../../db/schema";
import type { LeafType, StepStatus } from "../../db/schema/tasks";
import { chunkRows } from "../../lib/chunk";
import type { Envelope } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { jsonBoolean, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { categoryAtCreation } from "../categories/service";
import { originalTaskFields } from "./original-fields";
import { computeProgress } from "./progress";
import {
  type CreateTaskInput,
  DEFAULT_STEP_MINUTES,
  type MicroStepDto,
  type StepInput,
  type TaskDto,
} from "./schemas";

// For features that shape a task's answer themselves after their own batch (a split's new steps).
export { computeProgress };

type TaskRow = typeof tasks.$inferSelect;
type StepRow = typeof microSteps.$inferSelect;

// Qualified by hand: drizzle renders a column bare in single-table selects, which inside these
// subqueries would bind to the subquery's own table.
export const OUTER_TASK_ID = sql.raw('"tasks"."id"');

// Correlated subqueries keep a task, its progress, its dependencies and (optionally) its steps in
// one statement: one D1 round trip for a whole page.
export const totalSteps = sql<number>`(SELECT count(*) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID})`;
const completedSteps = sql<number>`(SELECT count(*) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed')`;
const dependsOn = sql<string>`(SELECT json_group_array(d.depends_on_id) FROM task_dependencies d WHERE d.task_id = ${OUTER_TASK_ID})`;
const stepsJson = sql<string>`(SELECT json_group_array(json_object(
  'step_id', s.id, 'task_id', s.task_id, 'position', s.position, 'description', s.description,
  'short_label', s.short_label, 'icon', s.icon, 'estimated_minutes', s.estimated_minutes,
  'leaf_type', s.leaf_type, 'status', s.status, 'completed_at', s.completed_at, 'created_at', s.created_at))
  FROM (SELECT * FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} ORDER BY s.position) s)`;

export const baseSelection = { task: tasks, totalSteps, completedSteps, dependsOn };
export const withSteps = { ...baseSelection, steps: stepsJson };

interface TaskQueryRow {
  task: TaskRow;
  totalSteps: number;
  completedSteps: number;
  dependsOn: string;
  steps?: string;
}

/** Who does a step, as the original API says it: an agent can do a DIGITAL step, a person does the rest. */
export const delegationModeOf = (leaf: LeafType) =>
  leaf === "DIGITAL" ? ("DELEGATE" as const) : ("DO" as const);

/** The original API's names for a step's facts, answered beside ours. */
export function legacyStepFields(position: number, status: StepStatus, leafType: LeafType) {
  return {
    step_order: position,
    step_number: position,
    is_completed: status === "completed",
    delegation_mode: delegationModeOf(leafType),
  };
}

export function stepRowToDto(row: StepRow): MicroStepDto {
  return {
    ...legacyStepFields(row.position, row.status, row.leafType),
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
  const progress = computeProgress(row.completedSteps, row.totalSteps, t.status === "completed");
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
    category_source: t.categorySource,
    parent_task_id: t.parentTaskId,
    progress,
    ...originalTaskFields(t, progress.percent, Date.now()),
    completed_at: t.completedAt,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
  };
  if (row.steps !== undefined) {
    dto.micro_steps = (
      JSON.parse(row.steps) as (Omit<
        MicroStepDto,
        "leaf_type" | "status" | keyof ReturnType<typeof legacyStepFields>
      > & {
        leaf_type: LeafType;
        status: StepStatus;
      })[]
    )
      .sort((a, b) => a.position - b.position)
      .map((step) => ({ ...step, ...legacyStepFields(step.position, step.status, step.leaf_type) }));
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

/** Columns of a micro_steps row: a bulk insert fits 100 / 13 = 7 rows per statement. */
const STEP_COLUMNS = 13;

export function stepRows(
  userId: string,
  taskId: string,
  steps: StepInput[],
  firstPosition: number,
  now: number,
): StepRow[] {
  return steps.map((step, i) => ({
    id: newId(now),
    taskId,
    userId,
    position: firstPosition + i,
    description: step.description,
    shortLabel: step.short_label ?? null,
    icon: step.icon ?? null,
    estimatedMinutes: step.estimated_minutes ?? DEFAULT_STEP_MINUTES,
    leafType: step.leaf_type ?? "HUMAN",
    status: "pending",
    completedAt: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  }));
}

export function insertStepStatements(db: Database, rows: StepRow[]) {
  return chunkRows(rows, STEP_COLUMNS).map((chunk) => db.insert(microSteps).values(chunk));
}

const DEPENDENCY_COLUMNS = 4;

export function insertDependencyStatements(
  db: Database,
  userId: string,
  taskId: string,
  dependsOn: string[],
  now: number,
) {
  const rows = dependsOn.map((dependsOnId) => ({ taskId, dependsOnId, userId, createdAt: nowIso(now) }));
  return chunkRows(rows, DEPENDENCY_COLUMNS).map((chunk) => db.insert(taskDependencies).values(chunk));
}

/**
 * The statements that create a task (with its steps, dependencies and `task.created` event) and the
 * answer describing it — for callers that put them in a batch of their own. Nothing is checked here:
 * dependencies must be the caller's own tasks (or ones created in the same batch).
 */
export function newTaskWrite(
  db: Database,
  userId: string,
  input: CreateTaskInput,
  now: number,
  options: { parentTaskId?: string } = {},
): { statements: BatchItem<"sqlite">[]; body: TaskDto; event: Envelope } {
  const dependsOn = [...new Set(input.depends_on ?? [])];
  const taskId = newId(now);
  const filed = categoryAtCreation(input);
  const task: typeof tasks.$inferSelect = {
    id: taskId,
    userId,
    title: input.title,
    description: input.description ?? null,
    status: input.status ?? "pending",
    priority: input.priority ?? "medium",
    estimatedMinutes: input.estimated_minutes ?? null,
    actualMinutes: input.actual_minutes ?? null,
    dueAt: input.due_at ?? null,
    tags: [...new Set(input.tags ?? [])],
    delegationMode: input.delegation_mode ?? "DO",
    assignedTo: input.assigned_to ?? null,
    agentType: input.agent_type ?? null,
    isMetaTask: input.is_meta_task ?? false,
    taskSource: input.task_source ?? "user",
    category: filed.category,
    categorySource: filed.source,
    parentTaskId: options.parentTaskId ?? null,
    completedAt: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
    deletedAt: null,
  };
  const steps = stepRows(userId, taskId, input.micro_steps ?? [], 1, now);
  const body: TaskDto = {
    ...toTaskDto({ task, totalSteps: steps.length, completedSteps: 0, dependsOn: JSON.stringify(dependsOn) }),
    micro_steps: steps.map(stepRowToDto),
  };
  const event = newEvent(
    "task.created",
    userId,
    {
      task_id: taskId,
      title: task.title,
      priority: task.priority,
      task_source: task.taskSource,
      step_count: steps.length,
      ...(options.parentTaskId ? { parent_task_id: options.parentTaskId } : {}),
    },
    now,
  );

  const statements: BatchItem<"sqlite">[] = [];
  statements.push(db.insert(tasks).values(task));
  statements.push(...insertStepStatements(db, steps));
  statements.push(...insertDependencyStatements(db, userId, taskId, dependsOn, now));
  statements.push(writeEvent(db, event));
  return { statements, body, event };
}

/**
 * Statements that complete a task, with its `task.completed` event written only if this request
 * made the change. `whenStepsDone` completes it only if no step is pending and one was completed
 * (the last step was just finished); otherwise leftover pending steps are marked skipped.
 */
export function completionStatements(
  db: Database,
  userId: string,
  taskId: string,
  now: number,
  options: {
    whenStepsDone: boolean /** an extra condition, e.g. "this request made its change" */;
    guard?: SQL;
    /** When the work was done, if earlier than `now` (a completion synced late). */
    completedAt?: number;
  },
) {
  const doneAt = options.completedAt ?? now;
  const guard = options.whenStepsDone
    ? sql`NOT EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'pending')
        AND EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed')`
    : sql`1 = 1`;
  // Finished by its last step, a task is done when its latest step was: a step synced late (an offline
  // app) must not move the whole task, its XP and streak day, back to that step's time.
  const completedAt = options.whenStepsDone
    ? sql`coalesce((SELECT max(s.completed_at) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed'), ${nowIso(doneAt)})`
    : nowIso(doneAt);
  const complete = db
    .update(tasks)
    .set({ status: "completed", completedAt, updatedAt: nowIso(now) })
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.userId, userId),
        isNull(tasks.deletedAt),
        sql`${tasks.status} != 'completed'`,
        guard,
        options.guard,
      ),
    );
  const data = sqlData(
    "task.completed",
    {
      task_id: sql`t.id`,
      title: sql`t.title`,
      priority: sql`t.priority`,
      estimated_minutes: sql`t.estimated_minutes`,
      actual_minutes: sql`t.actual_minutes`,
      is_meta_task: jsonBoolean(sql`t.is_meta_task`),
      created_at: sql`t.created_at`,
      completed_steps: sql`(SELECT count(*) FROM micro_steps s WHERE s.task_id = t.id AND s.status = 'completed')`,
    },
    sql`FROM tasks t WHERE t.id = ${taskId}`,
  );
  const event = writeEvent(
    db,
    sqlEvent(
      "task.completed",
      userId,
      data,
      doneAt,
      sql`(SELECT t.completed_at FROM tasks t WHERE t.id = ${taskId})`,
    ),
    { changed: { table: tasks, id: tasks.id, value: taskId } },
  );
  const skipRest = db
    .update(microSteps)
    .set({ status: "skipped", updatedAt: nowIso(now) })
    .where(
      and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId), eq(microSteps.status, "pending")),
    );
  return { complete, event, skipRest };
}

/**
 * A task an import made takes the calendar item's new title, description and due date — unless it
 * was deleted, or changed since `importedAt` (when the import last wrote it): what the person did to
 * it by hand wins over the calendar.
 */
export function importedTaskUpdate(
  db: Database,
  userId: string,
  change: {
    taskId: string;
    title: string;
    description: string | null;
    dueAt: string | null;
    importedAt: string;
  },
  now: number,
) {
  return db
    .update(tasks)
    .set({
      title: change.title,
      description: change.description,
      dueAt: change.dueAt,
      updatedAt: nowIso(now),
    })
    .where(
      and(
        eq(tasks.id, change.taskId),
        eq(tasks.userId, userId),
        isNull(tasks.deletedAt),
        lte(tasks.updatedAt, change.importedAt),
      ),
    );
}
