import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import {
  microSteps,
  splitPreferences,
  stepFeedback,
  taskDependencies,
  taskSplits,
  tasks,
} from "../../db/schema";
import type { TaskCategory } from "../../db/schema/tasks";
import { D1Batch } from "../../lib/batch";
import { chunkRows } from "../../lib/chunk";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { EventEnvelope } from "../../lib/events";
import { findStoredResponse, type IdempotencyContext, storeResponse } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { insertEvent, newEvent } from "../../lib/outbox";
import { nowIso } from "../../lib/time";
import { computeProgress } from "../tasks/progress";
import { stepRowToDto, taskByIdQuery, toTaskDto } from "../tasks/queries";
import { MAX_STEPS_PER_TASK, type MicroStepDto, type TaskDto } from "../tasks/schemas";
import { insertStepStatements, stepRows } from "../tasks/step-rows";
import { templateByNameQuery, toTemplateDto } from "../templates/queries";
import { type LearnedPreference, learnedFrom, type PreferenceState, updatePreference } from "./learning";
import { findShape } from "./local-splitter";
import type { SplitResult, SuggestedStep } from "./plan";
import type {
  PreferenceDto,
  SplitResponse,
  SplitStepInput,
  SplitTaskInput,
  StepFeedbackInput,
  StepFeedbackResponse,
} from "./schemas";
import { type SplitterChoice, splitStep, splitTask } from "./splitter";
import { planFromTemplate } from "./template-plan";

const DEPENDENCY_COLUMNS = 4;

export interface SplitOutcome {
  body: SplitResponse;
  events: EventEnvelope[];
  replayed: boolean;
}

type PreferenceRow = typeof splitPreferences.$inferSelect;

function preferencesQuery(db: Database, userId: string) {
  return db.select().from(splitPreferences).where(eq(splitPreferences.userId, userId));
}

function stateOf(row: PreferenceRow): PreferenceState {
  return {
    step_minutes: row.stepMinutes,
    step_count: row.stepCount,
    just_right: row.justRight,
    too_large: row.tooLarge,
    too_small: row.tooSmall,
  };
}

function learnedFor(rows: PreferenceRow[], category: TaskCategory): LearnedPreference | null {
  const row = rows.find((r) => r.category === category);
  return row ? learnedFrom(category, stateOf(row)) : null;
}

/** The category work is filed under: what the client said, else the task's, else what its title looks like. */
function categoryOf(task: TaskDto, asked?: TaskCategory): TaskCategory {
  return asked ?? task.category ?? findShape(task.title, task.description).category;
}

/**
 * Reads the task (with its steps), the user's learned preferences and, for a task split, a template
 * named like the task — one round trip.
 */
async function readForSplit(db: Database, userId: string, taskId: string, agentId?: string) {
  const batch = new D1Batch();
  const task = batch.add(taskByIdQuery(db, userId, taskId, agentId));
  const prefs = batch.add(preferencesQuery(db, userId));
  // The template named like the task comes back in the same round trip, by a subquery on its title.
  const title = sql`(SELECT t.title FROM tasks t WHERE t.id = ${taskId} AND t.user_id = ${userId})`;
  const template = batch.add(templateByNameQuery(db, userId, title));
  const children = batch.add(
    db
      .select({ n: sql<number>`count(*)` })
      .from(tasks)
      .where(and(eq(tasks.userId, userId), eq(tasks.parentTaskId, taskId), isNull(tasks.deletedAt))),
  );
  const results = await batch.run(db);
  const row = task(results)[0];
  if (!row) throw notFound("Task");
  const named = template(results)[0];
  return {
    task: toTaskDto(row),
    preferences: prefs(results),
    template: named ? toTemplateDto(named, userId) : undefined,
    subtasks: children(results)[0]?.n ?? 0,
  };
}

function assertOpen(task: TaskDto) {
  if (task.status === "completed" || task.status === "cancelled") {
    throw new ApiError(
      409,
      "task_closed",
      `This task is ${task.status}; reopen it before putting new steps on it (or split with apply: false).`,
    );
  }
}

function assertRoom(current: number, adding: number) {
  if (current + adding > MAX_STEPS_PER_TASK) {
    throw validationFailed(
      [{ field: "apply", message: `A task holds at most ${MAX_STEPS_PER_TASK} steps` }],
      `Applying would give the task ${current + adding} steps; a task holds at most ${MAX_STEPS_PER_TASK}. Remove some first.`,
    );
  }
}

const toStepInputs = (steps: SuggestedStep[]) =>
  steps.map((s) => ({
    description: s.description,
    short_label: s.short_label,
    estimated_minutes: s.estimated_minutes,
    leaf_type: s.leaf_type,
  }));

function responseOf(
  result: SplitResult,
  ids: { splitId: string; taskId: string; stepId: string | null; subtaskIds: string[] },
  input: SplitTaskInput | SplitStepInput,
  task: TaskDto | null,
  now: number,
): SplitResponse {
  return {
    split_id: ids.splitId,
    task_id: ids.taskId,
    step_id: ids.stepId,
    split_method: result.split_method,
    scope: result.scope,
    suggested_steps: result.suggested_steps,
    subtasks: result.subtasks.map((s, i) => ({ ...s, task_id: ids.subtaskIds[i] ?? null })),
    total_estimated_minutes: result.total_estimated_minutes,
    task_estimated_minutes: result.task_minutes,
    energy_level: input.energy_level,
    difficulty: input.difficulty,
    category: result.category,
    reasoning: result.reasoning,
    applied: input.apply,
    task,
    created_at: nowIso(now),
  };
}

function splitRow(
  userId: string,
  ids: { splitId: string; taskId: string; stepId: string | null },
  result: SplitResult,
  applied: boolean,
  now: number,
): typeof taskSplits.$inferInsert {
  return {
    id: ids.splitId,
    userId,
    taskId: ids.taskId,
    stepId: ids.stepId,
    method: result.split_method,
    scope: result.scope,
    category: result.category,
    applied,
    result,
    createdAt: nowIso(now),
  };
}

/** A project's sub-tasks as task rows (each waiting on the one before), with their steps and events. */
function subtaskStatements(db: Database, userId: string, parent: TaskDto, result: SplitResult, now: number) {
  const statements: Parameters<D1Batch["addAll"]>[0] = [];
  const events: EventEnvelope[] = [];
  const ids: string[] = [];
  const dependencies: (typeof taskDependencies.$inferInsert)[] = [];
  for (const [i, sub] of result.subtasks.entries()) {
    const id = newId(now);
    ids.push(id);
    statements.push(
      db.insert(tasks).values({
        id,
        userId,
        title: sub.title.slice(0, 300),
        priority: parent.priority,
        estimatedMinutes: sub.estimated_minutes,
        dueAt: parent.due_at,
        tags: parent.tags,
        category: result.category,
        parentTaskId: parent.task_id,
        createdAt: nowIso(now),
        updatedAt: nowIso(now),
      }),
    );
    statements.push(
      ...insertStepStatements(db, stepRows(userId, id, toStepInputs(sub.suggested_steps), 1, now)),
    );
    const before = ids[i - 1];
    if (before) dependencies.push({ taskId: id, dependsOnId: before, userId, createdAt: nowIso(now) });
    events.push(
      newEvent(
        "task.created",
        userId,
        {
          task_id: id,
          title: sub.title,
          priority: parent.priority,
          task_source: "user",
          step_count: sub.suggested_steps.length,
          parent_task_id: parent.task_id,
        },
        now,
      ),
    );
  }
  for (const chunk of chunkRows(dependencies, DEPENDENCY_COLUMNS))
    statements.push(db.insert(taskDependencies).values(chunk));
  for (const event of events) statements.push(insertEvent(db, event));
  return { statements, ids, events };
}

/** Files the task under the split's category and its estimate of the whole task when it had none. */
function fillTaskBlanks(
  db: Database,
  userId: string,
  taskId: string,
  result: SplitResult,
  now: number,
  options: { estimate: boolean },
) {
  return db
    .update(tasks)
    .set({
      category: sql`coalesce(${tasks.category}, ${result.category})`,
      ...(options.estimate
        ? { estimatedMinutes: sql`coalesce(${tasks.estimatedMinutes}, ${result.task_minutes})` }
        : {}),
      updatedAt: nowIso(now),
    })
    .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId)));
}

/** The task as the batch leaves it, built in memory so the answer can be stored in the same batch. */
function taskAfter(
  task: TaskDto,
  steps: MicroStepDto[],
  result: SplitResult,
  now: number,
  options: { estimate: boolean },
): TaskDto {
  const done = steps.filter((s) => s.status === "completed").length;
  return {
    ...task,
    category: task.category ?? result.category,
    estimated_minutes: task.estimated_minutes ?? (options.estimate ? result.task_minutes : null),
    micro_steps: steps,
    progress: computeProgress(done, steps.length, task.status === "completed"),
    updated_at: nowIso(now),
  };
}

async function runBatch(
  db: Database,
  batch: D1Batch,
  userId: string,
  idempotency: IdempotencyContext | undefined,
  body: SplitResponse,
): Promise<SplitResponse | undefined> {
  if (idempotency) batch.add(storeResponse(db, userId, idempotency, 200, body));
  try {
    await batch.run(db);
    return undefined;
  } catch (error) {
    // A concurrent retry with the same key won the race: answer what it stored.
    if (idempotency) {
      const stored = await findStoredResponse(db, userId, idempotency);
      if (stored) return stored.body as SplitResponse;
    }
    throw error;
  }
}

export async function splitTaskFor(
  db: Database,
  userId: string,
  taskId: string,
  input: SplitTaskInput,
  choice: SplitterChoice,
  options: { agentId?: string; idempotency?: IdempotencyContext } = {},
): Promise<SplitOutcome> {
  const [stored, read] = await Promise.all([
    options.idempotency ? findStoredResponse(db, userId, options.idempotency) : undefined,
    readForSplit(db, userId, taskId, options.agentId),
  ]);
  if (stored) return { body: stored.body as SplitResponse, events: [], replayed: true };
  const { task, preferences, template } = read;
  if (input.apply) assertOpen(task);
  const category = categoryOf(task, input.category);
  // A template named like the task is what its author wanted, unless a step count was asked for.
  const fromTemplate = template && !input.preferred_step_count ? planFromTemplate(template) : undefined;
  const result =
    fromTemplate ??
    (await splitTask(choice, {
      title: task.title,
      description: task.description,
      estimatedMinutes: task.estimated_minutes,
      energy: input.energy_level,
      difficulty: input.difficulty,
      preferredCount: input.preferred_step_count,
      category,
      learned: learnedFor(preferences, category),
    }));

  const now = Date.now();
  const ids = { splitId: newId(now), taskId, stepId: null, subtaskIds: [] as string[] };
  const batch = new D1Batch();
  batch.add(db.insert(taskSplits).values(splitRow(userId, ids, result, input.apply, now)));
  let events: EventEnvelope[] = [];
  let after: TaskDto | null = null;
  if (input.apply) {
    let steps = task.micro_steps ?? [];
    if (result.scope === "PROJECT") {
      // Applying a project twice would double its sub-tasks: split those instead, or delete them first.
      if (read.subtasks > 0) {
        throw new ApiError(
          409,
          "already_split",
          `This project already has ${read.subtasks} sub-task${read.subtasks === 1 ? "" : "s"}; split one of them, or delete them before splitting the project again.`,
        );
      }
      const made = subtaskStatements(db, userId, task, result, now);
      batch.addAll(made.statements);
      ids.subtaskIds = made.ids;
      events = made.events;
    } else {
      const kept = steps.filter((s) => s.status !== "pending");
      assertRoom(kept.length, result.suggested_steps.length);
      const next = kept.reduce((max, s) => Math.max(max, s.position), 0) + 1;
      const rows = stepRows(userId, taskId, toStepInputs(result.suggested_steps), next, now);
      batch.add(
        db
          .delete(microSteps)
          .where(
            and(
              eq(microSteps.taskId, taskId),
              eq(microSteps.userId, userId),
              eq(microSteps.status, "pending"),
            ),
          ),
      );
      batch.addAll(insertStepStatements(db, rows));
      steps = [...kept, ...rows.map(stepRowToDto)];
    }
    batch.add(fillTaskBlanks(db, userId, taskId, result, now, { estimate: true }));
    after = taskAfter(task, steps, result, now, { estimate: true });
  }
  const body = responseOf(result, ids, input, after, now);
  const raced = await runBatch(db, batch, userId, options.idempotency, body);
  if (raced) return { body: raced, events: [], replayed: true };
  return { body, events, replayed: false };
}

export async function splitStepFor(
  db: Database,
  userId: string,
  ids: { taskId: string; stepId: string },
  input: SplitStepInput,
  choice: SplitterChoice,
  options: { agentId?: string; idempotency?: IdempotencyContext } = {},
): Promise<SplitOutcome> {
  const [stored, read] = await Promise.all([
    options.idempotency ? findStoredResponse(db, userId, options.idempotency) : undefined,
    readForSplit(db, userId, ids.taskId, options.agentId),
  ]);
  if (stored) return { body: stored.body as SplitResponse, events: [], replayed: true };
  const { task, preferences } = read;
  const steps = task.micro_steps ?? [];
  const step = steps.find((s) => s.step_id === ids.stepId);
  if (!step) throw notFound("Step");
  if (input.apply) {
    assertOpen(task);
    if (step.status !== "pending")
      throw new ApiError(
        409,
        "step_closed",
        `This step is ${step.status}; only a pending step can be replaced by smaller ones.`,
      );
  }
  const category = categoryOf(task, input.category);
  const result = await splitStep(choice, {
    description: step.description,
    minutes: step.estimated_minutes,
    leafType: step.leaf_type,
    energy: input.energy_level,
    difficulty: input.difficulty,
    category,
    preferredCount: input.preferred_step_count,
    learned: learnedFor(preferences, category),
  });

  const now = Date.now();
  const splitIds = { splitId: newId(now), taskId: ids.taskId, stepId: ids.stepId, subtaskIds: [] };
  const batch = new D1Batch();
  batch.add(db.insert(taskSplits).values(splitRow(userId, splitIds, result, input.apply, now)));
  let after: TaskDto | null = null;
  if (input.apply) {
    const parts = result.suggested_steps.length;
    assertRoom(steps.length - 1, parts);
    const rows = stepRows(userId, ids.taskId, toStepInputs(result.suggested_steps), step.position, now);
    // Later steps move down to make room; the step itself gives way to its parts.
    batch.add(
      db
        .update(microSteps)
        .set({ position: sql`${microSteps.position} + ${parts - 1}` })
        .where(
          and(
            eq(microSteps.taskId, ids.taskId),
            eq(microSteps.userId, userId),
            gt(microSteps.position, step.position),
          ),
        ),
    );
    batch.add(
      db.delete(microSteps).where(and(eq(microSteps.id, step.step_id), eq(microSteps.userId, userId))),
    );
    batch.addAll(insertStepStatements(db, rows));
    batch.add(fillTaskBlanks(db, userId, ids.taskId, result, now, { estimate: false }));
    const moved = steps.flatMap((s) =>
      s.step_id === step.step_id
        ? rows.map(stepRowToDto)
        : [s.position > step.position ? { ...s, position: s.position + parts - 1 } : s],
    );
    after = taskAfter(task, moved, result, now, { estimate: false });
  }
  const body = responseOf(result, splitIds, input, after, now);
  const raced = await runBatch(db, batch, userId, options.idempotency, body);
  if (raced) return { body: raced, events: [], replayed: true };
  return { body, events: [], replayed: false };
}

/** The user's learned preferences, one per category they have rated steps in. */
export async function listPreferences(db: Database, userId: string): Promise<PreferenceDto[]> {
  const rows = await preferencesQuery(db, userId).all();
  return rows
    .map((row) => learnedFrom(row.category, stateOf(row)))
    .sort((a, b) => a.category.localeCompare(b.category));
}

/** Rates a step; the rating updates the learned preference of the task's category in the same batch. */
export async function rateStep(
  db: Database,
  userId: string,
  ids: { taskId: string; stepId: string },
  input: StepFeedbackInput,
  agentId?: string,
): Promise<StepFeedbackResponse> {
  const rating =
    input.rating ?? (["too_large", "too_small", "just_right"] as const).find((r) => input[r] === true);
  if (!rating)
    throw validationFailed([
      { field: "rating", message: "Say exactly one of too_large, too_small or just_right" },
    ]);
  const batch = new D1Batch();
  const taskRead = batch.add(taskByIdQuery(db, userId, ids.taskId, agentId));
  const prefsRead = batch.add(preferencesQuery(db, userId));
  const earlierRead = batch.add(
    db
      .select({ rating: stepFeedback.rating, category: stepFeedback.category })
      .from(stepFeedback)
      .where(and(eq(stepFeedback.userId, userId), eq(stepFeedback.stepId, ids.stepId))),
  );
  const results = await batch.run(db);
  const row = taskRead(results)[0];
  if (!row) throw notFound("Task");
  const task = toTaskDto(row);
  const steps = task.micro_steps ?? [];
  const step = steps.find((s) => s.step_id === ids.stepId);
  if (!step) throw notFound("Step");
  const category = categoryOf(task);
  const earlier = earlierRead(results)[0];
  const previous = prefsRead(results).find((p) => p.category === category);
  const state = updatePreference(
    previous ? stateOf(previous) : undefined,
    {
      rating,
      estimated_minutes: step.estimated_minutes,
      actual_minutes: input.actual_minutes ?? null,
      step_count: steps.length,
    },
    earlier?.category === category ? earlier.rating : undefined,
  );
  const now = nowIso();
  const feedback = {
    userId,
    stepId: step.step_id,
    taskId: task.task_id,
    category,
    rating,
    estimatedMinutes: step.estimated_minutes,
    actualMinutes: input.actual_minutes ?? null,
    energy: input.energy ?? null,
    stepCount: steps.length,
    createdAt: now,
  };
  const preference = {
    userId,
    category,
    stepMinutes: state.step_minutes,
    stepCount: state.step_count,
    justRight: state.just_right,
    tooLarge: state.too_large,
    tooSmall: state.too_small,
    updatedAt: now,
  };
  const write = new D1Batch();
  write.add(
    db
      .insert(stepFeedback)
      .values(feedback)
      .onConflictDoUpdate({
        target: [stepFeedback.userId, stepFeedback.stepId],
        set: { ...feedback, userId: undefined, stepId: undefined },
      }),
  );
  write.add(
    db
      .insert(splitPreferences)
      .values(preference)
      .onConflictDoUpdate({
        target: [splitPreferences.userId, splitPreferences.category],
        set: { ...preference, userId: undefined, category: undefined },
      }),
  );
  await write.run(db);
  return {
    step_id: step.step_id,
    task_id: task.task_id,
    rating,
    actual_minutes: input.actual_minutes ?? null,
    energy: input.energy ?? null,
    preference: learnedFrom(category, state),
  };
}
