import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskDependencies, tasks } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { recordedEvents, writeEvent } from "../../lib/events/outbox";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { nowIso } from "../../lib/time";
import { withMinutes } from "./original-fields";
import type { CreateTaskInput, TaskDto, UpdateTaskInput } from "./schemas";
import {
  completionStatements,
  insertDependencyStatements,
  newTaskWrite,
  taskByIdQuery,
  toTaskDto,
} from "./statements";

export interface WriteResult<T> {
  body: T;
  events: Envelope[];
}

/** The caller's live tasks among `ids`: a dependency on anything else is rejected as missing. */
function existingTasksQuery(db: Database, userId: string, ids: string[]) {
  return db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.userId, userId), isNull(tasks.deletedAt), inArray(tasks.id, ids)));
}

/** A task's project must be one of the caller's live tasks (found by the same read as its dependencies). */
function missingProject(projectId: string | null | undefined, found: { id: string }[]) {
  if (projectId && !found.some((r) => r.id === projectId)) {
    throw validationFailed([{ field: "project_id", message: "No such project." }], "No such project.");
  }
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

export function createTask(
  db: Database,
  userId: string,
  input: CreateTaskInput,
  idempotency?: IdempotencyContext,
  /** `ignore`: a project_id that is not one of the caller's tasks is dropped, not refused (a client's placeholder). */
  options: { unknownProject?: "refuse" | "ignore" } = {},
): Promise<WriteOutcome<TaskDto, Envelope>> {
  const dependsOn = [...new Set(input.depends_on ?? [])];
  const checked = input.project_id ? [...new Set([...dependsOn, input.project_id])] : dependsOn;
  return createTaskAfter(
    db,
    userId,
    idempotency,
    // Only writes that need a check pay for a read before the write batch.
    async () => (checked.length > 0 ? existingTasksQuery(db, userId, checked).all() : []),
    (found) => {
      missingDependencies(dependsOn, found);
      let projectId = input.project_id;
      if (options.unknownProject === "ignore" && !found.some((r) => r.id === projectId))
        projectId = undefined;
      missingProject(projectId, found);
      return {
        input: { ...input, depends_on: dependsOn },
        ...(projectId ? { parentTaskId: projectId } : {}),
        answer: (task) => task,
      };
    },
  );
}

/** A task to create, as `createTaskAfter`'s `build` makes it from what its read found. */
export interface TaskToCreate<B> {
  input: CreateTaskInput;
  parentTaskId?: string;
  /** The answer from the task made (stored under the idempotency key, replayed as it was). */
  answer: (task: TaskDto) => B;
}

/**
 * Creates a task whose input is only known once `read` has answered: the read runs beside the
 * idempotency key's lookup (no round trip of its own), `build` turns what it found into the task
 * (throwing to refuse it), and one batch writes it.
 */
export function createTaskAfter<R, B>(
  db: Database,
  userId: string,
  idempotency: IdempotencyContext | undefined,
  read: () => Promise<R>,
  build: (found: R, now: number) => TaskToCreate<B>,
): Promise<WriteOutcome<B, Envelope>> {
  const now = Date.now();
  return writeOnce(
    db,
    userId,
    idempotency,
    (found) => {
      const task = build(found, now);
      // Hours are minutes by the time the task is written, whoever built it.
      const write = newTaskWrite(db, userId, withMinutes(task.input), now, {
        ...(task.parentTaskId ? { parentTaskId: task.parentTaskId } : {}),
      });
      const batch = new D1Batch();
      batch.addAll(write.statements);
      return { status: 201, batch, body: task.answer(write.body), events: [write.event] };
    },
    read,
  );
}

export async function getTask(
  db: Database,
  userId: string,
  taskId: string,
  agentId?: string,
): Promise<TaskDto> {
  const row = await taskByIdQuery(db, userId, taskId, agentId).get();
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
  sent: UpdateTaskInput,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const input = withMinutes(sent);
  const dependsOn = input.depends_on ? [...new Set(input.depends_on)] : undefined;
  if (dependsOn?.includes(taskId)) {
    throw validationFailed([{ field: "depends_on", message: "A task cannot depend on itself" }]);
  }
  const projectId = input.project_id;
  if (projectId === taskId) {
    throw validationFailed([{ field: "project_id", message: "A task cannot be its own project" }]);
  }
  const checkedIds = [...new Set([...(dependsOn ?? []), ...(projectId ? [projectId] : [])])];
  const checks = new D1Batch();
  const current = checks.add(
    db
      .select({ id: tasks.id, status: tasks.status })
      .from(tasks)
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
  );
  const found = checkedIds.length ? checks.add(existingTasksQuery(db, userId, checkedIds)) : undefined;
  // Recursive CTEs are raw SQL, which drizzle cannot batch: this check runs beside the batch.
  const [checked, cycle] = await Promise.all([
    checks.run(db),
    dependsOn?.length ? cycleQuery(db, taskId, dependsOn) : undefined,
  ]);
  const existing = current(checked)[0];
  if (!existing) throw notFound("Task");
  if (found) missingProject(projectId, found(checked));
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
        category: input.category,
        parentTaskId: input.project_id,
        // A category set by hand is the user's from now on; the AI refinement never overwrites it.
        ...(input.category !== undefined ? { categorySource: input.category === null ? null : "user" } : {}),
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
    writeEvent(db, newEvent("task.deleted", userId, { task_id: taskId }, now), {
      changed: { table: tasks, id: tasks.id, value: taskId },
    }),
  );
  const results = await batch.run(db);
  if (deleted(results).length === 0) throw notFound("Task");
  return { body: null, events: recordedEvents(written(results)) };
}
