import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { microSteps, tasks } from "../../db/schema";
import { abortIf, D1Batch, isGuardAbort } from "../../lib/batch";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import { recordedEvents, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { nowIso } from "../../lib/time";
import { lateCompletionTime } from "./late-completion";
import { MAX_STEPS_PER_TASK, type StepInput, type TaskDto } from "./schemas";
import type { WriteResult } from "./service";
import { completionStatements, OUTER_TASK_ID, stepRows, taskByIdQuery, toTaskDto } from "./statements";

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

/** The step.completed data, read from the step `s` as the batch just stored it. */
const stepCompletedData = (stepId: string) =>
  sqlData(
    "step.completed",
    {
      task_id: sql`s.task_id`,
      step_id: sql`s.id`,
      description: sql`s.description`,
      estimated_minutes: sql`s.estimated_minutes`,
      leaf_type: sql`s.leaf_type`,
      task_priority: sql`(SELECT t.priority FROM tasks t WHERE t.id = s.task_id)`,
      task_estimated_minutes: sql`(SELECT t.estimated_minutes FROM tasks t WHERE t.id = s.task_id)`,
    },
    sql`FROM micro_steps s WHERE s.id = ${stepId}`,
  );

/**
 * A condition a write holds to inside its own transaction (checked at its start, so a change made
 * between a caller's read and the write cannot slip through), and the error when it does not hold.
 */
export interface WriteCondition {
  holds: SQL;
  otherwise: () => ApiError;
}

/** Completes a step now — or at `reportedAt`, for a completion an offline app reports late. */
export async function completeStep(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
  reportedAt?: string,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  const completedAt = reportedAt === undefined ? undefined : lateCompletionTime(reportedAt, now);
  if (completedAt === undefined) return completeStepAt(db, userId, taskId, stepId, now, now);
  // A late completion cannot predate the step (no filling in yesterday with a step made today); checked
  // inside the batch, so it costs no read of its own.
  return completeStepAt(db, userId, taskId, stepId, completedAt, now, {
    holds: sql`NOT EXISTS (SELECT 1 FROM micro_steps s WHERE s.id = ${stepId} AND s.task_id = ${taskId}
      AND s.user_id = ${userId} AND s.created_at > ${nowIso(completedAt)})`,
    otherwise: () =>
      validationFailed([{ field: "completed_at", message: "Must not be before the step was created" }]),
  });
}

/** Completes a step now, only while `condition` holds (in the same transaction as the write). */
export function completeStepWhile(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
  condition: WriteCondition,
): Promise<WriteResult<TaskDto>> {
  const now = Date.now();
  return completeStepAt(db, userId, taskId, stepId, now, now, condition);
}

async function completeStepAt(
  db: Database,
  userId: string,
  taskId: string,
  stepId: string,
  doneAt: number,
  now: number,
  condition?: WriteCondition,
): Promise<WriteResult<TaskDto>> {
  const batch = new D1Batch();
  if (condition) batch.add(abortIf(db, sql`NOT (${condition.holds})`));
  batch.add(
    db
      .update(microSteps)
      .set({ status: "completed", completedAt: nowIso(doneAt), updatedAt: nowIso(now) })
      .where(and(stepWhere(userId, taskId, stepId), sql`${microSteps.status} != 'completed'`)),
  );
  const stepEvent = batch.add(
    writeEvent(db, sqlEvent("step.completed", userId, stepCompletedData(stepId), doneAt), {
      changed: { table: microSteps, id: microSteps.id, value: stepId },
    }),
  );
  batch.add(
    db
      .update(tasks)
      .set({ status: "in_progress", updatedAt: nowIso(now) })
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), eq(tasks.status, "pending"))),
  );
  const { complete, event } = completionStatements(db, userId, taskId, now, {
    whenStepsDone: true,
    completedAt: doneAt,
  });
  batch.add(complete);
  const taskEvent = batch.add(event);
  const stepRead = batch.add(
    db
      .select({ id: microSteps.id })
      .from(microSteps)
      .where(stepWhere(userId, taskId, stepId)),
  );
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  let results: readonly unknown[];
  try {
    results = await batch.run(db);
  } catch (error) {
    if (!condition || !isGuardAbort(error)) throw error;
    throw condition.otherwise();
  }
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
  // The order travels as one JSON parameter, not one per step: D1 binds at most 100 per statement.
  const order = JSON.stringify(stepIds);
  const batch = new D1Batch();
  batch.add(
    db
      .update(microSteps)
      .set({
        position: sql`(SELECT o.key + 1 FROM json_each(${order}) AS o WHERE o.value = ${microSteps.id})`,
        updatedAt: nowIso(now),
      })
      .where(
        and(
          eq(microSteps.taskId, taskId),
          eq(microSteps.userId, userId),
          sql`${microSteps.id} IN (SELECT value FROM json_each(${order}))`,
        ),
      ),
  );
  const read = batch.add(taskByIdQuery(db, userId, taskId));
  const results = await batch.run(db);
  const task = read(results)[0];
  if (!task) throw notFound("Task");
  return { body: toTaskDto(task), events: [] };
}

/**
 * The task a step of the caller's belongs to (the original API named steps without their task): one
 * read by the step's primary key; 404 when it is not the caller's or its task is gone.
 */
export async function taskIdOfStep(db: Database, userId: string, stepId: string): Promise<string> {
  const row = await db
    .select({ taskId: microSteps.taskId })
    .from(microSteps)
    .where(
      and(
        eq(microSteps.id, stepId),
        eq(microSteps.userId, userId),
        sql`EXISTS (SELECT 1 FROM tasks t WHERE t.id = ${sql.raw('"micro_steps"."task_id"')} AND t.user_id = ${userId} AND t.deleted_at IS NULL)`,
      ),
    )
    .get();
  if (!row) throw notFound("Step");
  return row.taskId;
}
