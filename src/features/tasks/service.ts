import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { microSteps, taskDependencies, tasks } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { chunkRows } from "../../lib/chunk";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { EventEnvelope } from "../../lib/events";
import { findStoredResponse, type IdempotencyContext, storeResponse } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { insertEvent, insertEventIfChanged, newEvent, recordedEvents } from "../../lib/outbox";
import { nowIso } from "../../lib/time";
import { computeProgress } from "./progress";
import { OUTER_TASK_ID, stepRowToDto, taskByIdQuery, toTaskDto } from "./queries";
import {
  type CreateTaskInput,
  DEFAULT_STEP_MINUTES,
  MAX_STEPS_PER_TASK,
  type StepInput,
  type TaskDto,
  type UpdateTaskInput,
} from "./schemas";

type StepRow = typeof microSteps.$inferSelect;

export interface WriteResult<T> {
  body: T;
  events: EventEnvelope[];
}

const TASK_COLUMNS_IN_STEP = 13;
const DEPENDENCY_COLUMNS = 4;

function stepRows(
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

function insertStepStatements(db: Database, rows: StepRow[]) {
  return chunkRows(rows, TASK_COLUMNS_IN_STEP).map((chunk) => db.insert(microSteps).values(chunk));
}

function insertDependencyStatements(
  db: Database,
  userId: string,
  taskId: string,
  dependsOn: string[],
  now: number,
) {
  const rows = dependsOn.map((dependsOnId) => ({ taskId, dependsOnId, userId, createdAt: nowIso(now) }));
  return chunkRows(rows, DEPENDENCY_COLUMNS).map((chunk) => db.insert(taskDependencies).values(chunk));
}

/** The caller's live tasks among `ids`: a dependency on anything else is rejected as missing. */
function existingTasksQuery(db: Database, userId: string, ids: string[]) {
  return db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.userId, userId), isNull(tasks.deletedAt), inArray(tasks.id, ids)));
}

function missingDependencies(requested: string[], found: { id: string }[]) {
  const have = new Set(found.map((r) => r.id));
  const missing = requested.filter((id) => !have.has(id));
  if (missing.length > 0) {
    throw validationFailed(
      missing.map(() => ({ field: "depends_on", message: "No such task" })),
      `depends_on names tasks that do not exist: ${missing.join(", ")}.`,
    );
  }
}

export async function createTask(
  db: Database,
  userId: string,
  input: CreateTaskInput,
  idempotency?: IdempotencyContext,
): Promise<WriteResult<TaskDto> & { replayed: boolean }> {
  const now = Date.now();
  const dependsOn = [...new Set(input.depends_on ?? [])];
  if (idempotency || dependsOn.length > 0) {
    // Only writes that need a check pay for a read before the write batch.
    const [stored, found] = await Promise.all([
      idempotency ? findStoredResponse(db, userId, idempotency) : undefined,
      dependsOn.length > 0 ? existingTasksQuery(db, userId, dependsOn).all() : [],
    ]);
    if (stored) return { body: stored.body as TaskDto, events: [], replayed: true };
    missingDependencies(dependsOn, found);
  }

  const taskId = newId(now);
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
    },
    now,
  );

  const batch = new D1Batch();
  batch.add(db.insert(tasks).values(task));
  batch.addAll(insertStepStatements(db, steps));
  batch.addAll(insertDependencyStatements(db, userId, taskId, dependsOn, now));
  batch.add(insertEvent(db, event));
  if (idempotency) batch.add(storeResponse(db, userId, idempotency, 201, body));
  try {
    await batch.run(db);
  } catch (error) {
    // A concurrent retry with the same key won the race: answer what it stored.
    if (idempotency) {
      const stored = await findStoredResponse(db, userId, idempotency);
      if (stored) return { body: stored.body as TaskDto, events: [], replayed: true };
    }
    throw error;
  }
  return { body, events: [event], replayed: false };
}

export async function getTask(db: Database, userId: string, taskId: string): Promise<TaskDto> {
  const row = await taskByIdQuery(db, userId, taskId).get();
  if (!row) throw notFound("Task");
  return toTaskDto(row);
}

/** True when `taskId` is reachable from any of `dependsOn` (so depending on them closes a cycle). */
function cycleQuery(db: Database, taskId: string, dependsOn: string[]) {
  const seeds = sql.join(
    dependsOn.map((id) => sql`${id}`),
    sql`, `,
  );
  return db.all<{ found: number }>(sql`
    WITH RECURSIVE reach(id) AS (
      SELECT value FROM json_each(json_array(${seeds}))
      UNION
      SELECT d.depends_on_id FROM task_dependencies d JOIN reach r ON d.task_id = r.id
    )
    SELECT 1 AS found FROM reach WHERE id = ${taskId} LIMIT 1`);
}

/**
 * Statements that complete a task, with its `task.completed` event written only if this request
 * made the change. `whenStepsDone` completes it only if no step is pending and one was completed
 * (the last step was just finished); otherwise leftover pending steps are marked skipped.
 */
function completionStatements(
  db: Database,
  userId: string,
  taskId: string,
  now: number,
  options: { whenStepsDone: boolean },
) {
  const guard = options.whenStepsDone
    ? sql`NOT EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'pending')
        AND EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed')`
    : sql`1 = 1`;
  const complete = db
    .update(tasks)
    .set({ status: "completed", completedAt: nowIso(now), updatedAt: nowIso(now) })
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.userId, userId),
        isNull(tasks.deletedAt),
        sql`${tasks.status} != 'completed'`,
        guard,
      ),
    );
  const event = insertEventIfChanged(
    db,
    {
      ...newEvent("task.completed", userId, {}, now),
      data: sql`(SELECT json_object('task_id', t.id, 'title', t.title, 'priority', t.priority,
        'estimated_minutes', t.estimated_minutes, 'actual_minutes', t.actual_minutes, 'is_meta_task', t.is_meta_task,
        'completed_steps', (SELECT count(*) FROM micro_steps s WHERE s.task_id = t.id AND s.status = 'completed'))
        FROM tasks t WHERE t.id = ${taskId})`,
    },
    { table: tasks, id: tasks.id, value: taskId },
  );
  const skipRest = db
    .update(microSteps)
    .set({ status: "skipped", updatedAt: nowIso(now) })
    .where(
      and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId), eq(microSteps.status, "pending")),
    );
  return { complete, event, skipRest };
}

export async function completeTask(
  db: Database,
  userId: string,
  taskId: string,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const { complete, event, skipRest } = completionStatements(db, userId, taskId, now, {
    whenStepsDone: false,
  });
  const batch = new D1Batch();
  batch.add(complete);
  const written = batch.add(event);
  batch.add(skipRest);
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const row = read(results)[0];
  if (!row) throw notFound("Task");
  return { body: toTaskDto(row), events: recordedEvents(written(results)) };
}

export async function updateTask(
  db: Database,
  userId: string,
  taskId: string,
  input: UpdateTaskInput,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const dependsOn = input.depends_on ? [...new Set(input.depends_on)] : undefined;
  if (dependsOn?.includes(taskId)) {
    throw validationFailed([{ field: "depends_on", message: "A task cannot depend on itself" }]);
  }
  const checks = new D1Batch();
  const current = checks.add(
    db
      .select({ id: tasks.id, status: tasks.status })
      .from(tasks)
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
  );
  const found = dependsOn?.length ? checks.add(existingTasksQuery(db, userId, dependsOn)) : undefined;
  // Recursive CTEs are raw SQL, which drizzle cannot batch: this check runs beside the batch.
  const [checked, cycle] = await Promise.all([
    checks.run(db),
    dependsOn?.length ? cycleQuery(db, taskId, dependsOn) : undefined,
  ]);
  const existing = current(checked)[0];
  if (!existing) throw notFound("Task");
  if (dependsOn && found && cycle) {
    missingDependencies(dependsOn, found(checked));
    if (cycle.length > 0) {
      throw new ApiError(
        409,
        "dependency_cycle",
        "These dependencies would create a cycle: a task would wait on itself.",
      );
    }
  }

  const completing = input.status === "completed" && existing.status !== "completed";
  const reopening =
    input.status !== undefined && input.status !== "completed" && existing.status === "completed";
  const batch = new D1Batch();
  batch.add(
    db
      .update(tasks)
      // drizzle leaves out keys whose value is undefined: only the fields the client sent change.
      .set({
        title: input.title,
        description: input.description,
        priority: input.priority,
        estimatedMinutes: input.estimated_minutes,
        actualMinutes: input.actual_minutes,
        dueAt: input.due_at,
        ...(input.tags !== undefined ? { tags: [...new Set(input.tags)] } : {}),
        delegationMode: input.delegation_mode,
        assignedTo: input.assigned_to,
        agentType: input.agent_type,
        isMetaTask: input.is_meta_task,
        taskSource: input.task_source,
        ...(input.status !== undefined && input.status !== "completed" ? { status: input.status } : {}),
        ...(reopening ? { completedAt: null } : {}),
        updatedAt: nowIso(now),
      })
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
  );
  if (dependsOn) {
    batch.add(db.delete(taskDependencies).where(eq(taskDependencies.taskId, taskId)));
    batch.addAll(insertDependencyStatements(db, userId, taskId, dependsOn, now));
  }
  let written:
    | ((r: readonly unknown[]) => typeof import("../../db/schema").events.$inferSelect[])
    | undefined;
  if (completing) {
    const { complete, event, skipRest } = completionStatements(db, userId, taskId, now, {
      whenStepsDone: false,
    });
    batch.add(complete);
    written = batch.add(event);
    batch.add(skipRest);
  }
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const row = read(results)[0];
  if (!row) throw notFound("Task");
  return { body: toTaskDto(row), events: written ? recordedEvents(written(results)) : [] };
}

export async function deleteTask(db: Database, userId: string, taskId: string): Promise<WriteResult<null>> {
  const now = Date.now();
  const batch = new D1Batch();
  const deleted = batch.add(
    db
      .update(tasks)
      .set({ deletedAt: nowIso(now), updatedAt: nowIso(now) })
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt)))
      .returning({ id: tasks.id }),
  );
  const written = batch.add(
    insertEventIfChanged(db, newEvent("task.deleted", userId, { task_id: taskId }, now), {
      table: tasks,
      id: tasks.id,
      value: taskId,
    }),
  );
  const results = await batch.run(db);
  if (deleted(results).length === 0) throw notFound("Task");
  return { body: null, events: recordedEvents(written(results)) };
}

// ---- micro-steps ----

const liveTaskOf = (userId: string, taskId: string) =>
  sql`EXISTS (SELECT 1 FROM tasks t WHERE t.id = ${taskId} AND t.user_id = ${userId} AND t.deleted_at IS NULL)`;

function stepWhere(userId: string, taskId: string, stepId: string) {
  return and(
    eq(microSteps.id, stepId),
    eq(microSteps.taskId, taskId),
    eq(microSteps.userId, userId),
    liveTaskOf(userId, taskId),
  );
}

/** A completed task that gets a pending step again is open again. */
function reopenIfPendingSteps(db: Database, userId: string, taskId: string, now: number) {
  return db
    .update(tasks)
    .set({ status: "in_progress", completedAt: null, updatedAt: nowIso(now) })
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.userId, userId),
        eq(tasks.status, "completed"),
        sql`EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'pending')`,
      ),
    );
}

export async function addStep(
  db: Database,
  userId: string,
  taskId: string,
  input: StepInput & { position?: number | undefined },
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const counts = await db
    .select({ total: sql<number>`(SELECT count(*) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID})` })
    .from(tasks)
    .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt)))
    .get();
  if (!counts) throw notFound("Task");
  if (counts.total >= MAX_STEPS_PER_TASK) {
    throw new ApiError(409, "too_many_steps", `A task can have at most ${MAX_STEPS_PER_TASK} steps.`);
  }
  const position = Math.min(input.position ?? counts.total + 1, counts.total + 1);
  const [row] = stepRows(userId, taskId, [input], position, now);
  const batch = new D1Batch();
  batch.add(
    db
      .update(microSteps)
      .set({ position: sql`${microSteps.position} + 1` })
      .where(
        and(
          eq(microSteps.taskId, taskId),
          eq(microSteps.userId, userId),
          sql`${microSteps.position} >= ${position}`,
        ),
      ),
  );
  batch.add(db.insert(microSteps).values(row!));
  batch.add(reopenIfPendingSteps(db, userId, taskId, now));
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const task = read(results)[0];
  if (!task) throw notFound("Task");
  return { body: toTaskDto(task), events: [] };
}

export async function updateStep(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
  input: {
    description?: string | undefined;
    short_label?: string | null | undefined;
    icon?: string | null | undefined;
    estimated_minutes?: number | undefined;
    leaf_type?: "DIGITAL" | "HUMAN" | undefined;
    status?: "pending" | "skipped" | undefined;
  },
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const batch = new D1Batch();
  const updated = batch.add(
    db
      .update(microSteps)
      .set({
        description: input.description,
        shortLabel: input.short_label,
        icon: input.icon,
        estimatedMinutes: input.estimated_minutes,
        leafType: input.leaf_type,
        ...(input.status !== undefined ? { status: input.status, completedAt: null } : {}),
        updatedAt: nowIso(now),
      })
      .where(stepWhere(userId, taskId, stepId))
      .returning({ id: microSteps.id }),
  );
  batch.add(reopenIfPendingSteps(db, userId, taskId, now));
  // Skipping the last pending step finishes the task, as completing it would.
  const { complete, event } = completionStatements(db, userId, taskId, now, { whenStepsDone: true });
  batch.add(complete);
  const written = batch.add(event);
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const task = read(results)[0];
  if (updated(results).length === 0 || !task) throw notFound("Step");
  return { body: toTaskDto(task), events: recordedEvents(written(results)) };
}

export async function completeStep(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const batch = new D1Batch();
  batch.add(
    db
      .update(microSteps)
      .set({ status: "completed", completedAt: nowIso(now), updatedAt: nowIso(now) })
      .where(and(stepWhere(userId, taskId, stepId), sql`${microSteps.status} != 'completed'`)),
  );
  const stepEvent = batch.add(
    insertEventIfChanged(
      db,
      {
        ...newEvent("step.completed", userId, {}, now),
        data: sql`(SELECT json_object('task_id', s.task_id, 'step_id', s.id, 'description', s.description,
          'estimated_minutes', s.estimated_minutes, 'leaf_type', s.leaf_type,
          'task_priority', (SELECT t.priority FROM tasks t WHERE t.id = s.task_id),
          'task_estimated_minutes', (SELECT t.estimated_minutes FROM tasks t WHERE t.id = s.task_id))
          FROM micro_steps s WHERE s.id = ${stepId})`,
      },
      { table: microSteps, id: microSteps.id, value: stepId },
    ),
  );
  batch.add(
    db
      .update(tasks)
      .set({ status: "in_progress", updatedAt: nowIso(now) })
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), eq(tasks.status, "pending"))),
  );
  const { complete, event } = completionStatements(db, userId, taskId, now, { whenStepsDone: true });
  batch.add(complete);
  const taskEvent = batch.add(event);
  const stepRead = batch.add(
    db
      .select({ id: microSteps.id })
      .from(microSteps)
      .where(stepWhere(userId, taskId, stepId)),
  );
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const task = read(results)[0];
  if (stepRead(results).length === 0 || !task) throw notFound("Step");
  return { body: toTaskDto(task), events: recordedEvents(stepEvent(results), taskEvent(results)) };
}

export async function deleteStep(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
): Promise<WriteResult<null>> {
  const now = Date.now();
  const batch = new D1Batch();
  const deleted = batch.add(
    db
      .delete(microSteps)
      .where(stepWhere(userId, taskId, stepId))
      .returning({ id: microSteps.id }),
  );
  // Renumber 1..n so positions stay dense after the gap.
  batch.add(
    db
      .update(microSteps)
      .set({
        position: sql`(SELECT count(*) FROM micro_steps m2 WHERE m2.task_id = ${microSteps.taskId} AND m2.position <= ${microSteps.position})`,
      })
      .where(and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId))),
  );
  const { complete, event } = completionStatements(db, userId, taskId, now, { whenStepsDone: true });
  batch.add(complete);
  const written = batch.add(event);
  const results = await batch.run(db);
  if (deleted(results).length === 0) throw notFound("Step");
  return { body: null, events: recordedEvents(written(results)) };
}

export async function reorderSteps(
  db: Database,
  userId: string,
  taskId: string,
  stepIds: string[],
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const current = await db
    .select({ id: microSteps.id })
    .from(microSteps)
    .where(and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId), liveTaskOf(userId, taskId)))
    .all();
  if (current.length === 0) {
    const task = await taskByIdQuery(db, userId, taskId).get();
    if (!task) throw notFound("Task");
  }
  const have = new Set(current.map((s) => s.id));
  if (
    stepIds.length !== have.size ||
    new Set(stepIds).size !== stepIds.length ||
    stepIds.some((id) => !have.has(id))
  ) {
    throw validationFailed(
      [{ field: "step_ids", message: "Must list every step of the task exactly once" }],
      "step_ids must list every step of the task exactly once.",
    );
  }
  const cases = sql.join(
    stepIds.map((id, i) => sql`WHEN ${id} THEN ${i + 1}`),
    sql` `,
  );
  const batch = new D1Batch();
  batch.add(
    db
      .update(microSteps)
      .set({ position: sql`CASE ${microSteps.id} ${cases} END`, updatedAt: nowIso(now) })
      .where(
        and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId), inArray(microSteps.id, stepIds)),
      ),
  );
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const task = read(results)[0];
  if (!task) throw notFound("Task");
  return { body: toTaskDto(task), events: [] };
}

export { computeProgress };
