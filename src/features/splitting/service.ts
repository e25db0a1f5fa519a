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
import type { StepRating } from "../../db/schema/splitting";
import type { TaskCategory } from "../../db/schema/tasks";
import { abortIf, D1Batch, isGuardAbort } from "../../lib/batch";
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
import {
  ALPHA,
  type LearnedPreference,
  learnedFrom,
  type PreferenceState,
  updatePreference,
} from "./learning";
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
import { fitsASplit, planFromTemplate } from "./template-plan";

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
async function readForSplit(
  db: Database,
  userId: string,
  taskId: string,
  options: { agentId?: string; splitId?: string; stepId?: string } = {},
) {
  const batch = new D1Batch();
  const task = batch.add(taskByIdQuery(db, userId, taskId, options.agentId));
  // An earlier suggestion to apply as it was shown: the user's own, for this task (and step).
  const earlier = options.splitId
    ? batch.add(
        db
          .select()
          .from(taskSplits)
          .where(
            and(
              eq(taskSplits.id, options.splitId),
              eq(taskSplits.userId, userId),
              eq(taskSplits.taskId, taskId),
              options.stepId ? eq(taskSplits.stepId, options.stepId) : isNull(taskSplits.stepId),
            ),
          ),
      )
    : undefined;
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
    earlier: earlier ? earlierSplit(earlier(results)[0]) : undefined,
  };
}

/** The suggestion a client asked to apply: 404 when it is not theirs (or not of this task), 409 if applied. */
function earlierSplit(row: typeof taskSplits.$inferSelect | undefined) {
  if (!row) throw notFound("Split");
  if (row.applied)
    throw new ApiError(
      409,
      "split_already_applied",
      "This split was already applied; split again for new steps.",
    );
  return row;
}

/** Naming an earlier suggestion only makes sense to apply it. */
function needsApply(input: { split_id?: string; apply: boolean }) {
  if (input.split_id !== undefined && !input.apply) {
    throw validationFailed(
      [{ field: "apply", message: "Must be true when split_id is given" }],
      "split_id applies an earlier suggestion: send apply: true with it.",
    );
  }
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

/**
 * The split's record: a new row, or — applying an earlier suggestion — that row marked applied (only
 * if it was not yet: the guard before it in the batch stops a second apply).
 */
function recordSplit(
  db: Database,
  userId: string,
  ids: { splitId: string; taskId: string; stepId: string | null },
  result: SplitResult,
  applied: boolean,
  now: number,
  earlier: boolean,
) {
  if (!earlier) return db.insert(taskSplits).values(splitRow(userId, ids, result, applied, now));
  return db
    .update(taskSplits)
    .set({ applied: true })
    .where(and(eq(taskSplits.id, ids.splitId), eq(taskSplits.userId, userId)));
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
    if (isGuardAbort(error)) {
      throw new ApiError(
        409,
        "changed_meanwhile",
        "The task or step changed while it was being split (another split or edit got there first); look at it again and split again if you still want to.",
      );
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
  needsApply(input);
  const [stored, read] = await Promise.all([
    options.idempotency ? findStoredResponse(db, userId, options.idempotency) : undefined,
    readForSplit(db, userId, taskId, { agentId: options.agentId, splitId: input.split_id }),
  ]);
  if (stored) return { body: stored.body as SplitResponse, events: [], replayed: true };
  const { task, preferences, template } = read;
  if (input.apply) assertOpen(task);
  const category = categoryOf(task, input.category);
  // A template named like the task is what its author wanted, unless a step count was asked for.
  const fromTemplate =
    template && !input.preferred_step_count && fitsASplit(template)
      ? planFromTemplate(template, { taskMinutes: task.estimated_minutes, category: input.category })
      : undefined;
  const result =
    read.earlier?.result ??
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
  const ids = { splitId: read.earlier?.id ?? newId(now), taskId, stepId: null, subtaskIds: [] as string[] };
  const batch = new D1Batch();
  // Applying builds on what was read: nothing may have touched the task since (a concurrent apply
  // would otherwise add a second set of steps or sub-tasks).
  if (input.apply) {
    batch.add(
      abortIf(
        db,
        sql`NOT EXISTS (SELECT 1 FROM tasks WHERE id = ${taskId} AND user_id = ${userId} AND deleted_at IS NULL AND updated_at = ${task.updated_at})
          OR (${result.scope === "PROJECT" ? 1 : 0} = 1 AND EXISTS (SELECT 1 FROM tasks WHERE user_id = ${userId} AND parent_task_id = ${taskId} AND deleted_at IS NULL))
          OR EXISTS (SELECT 1 FROM task_splits WHERE id = ${ids.splitId} AND applied = 1)`,
      ),
    );
  }
  batch.add(recordSplit(db, userId, ids, result, input.apply, now, read.earlier !== undefined));
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
      // "replace" (the default) swaps the pending steps for the new ones; "append" keeps every step.
      const appending = input.mode === "append";
      const kept = appending ? steps : steps.filter((s) => s.status !== "pending");
      assertRoom(kept.length, result.suggested_steps.length);
      const next = kept.reduce((max, s) => Math.max(max, s.position), 0) + 1;
      const rows = stepRows(userId, taskId, toStepInputs(result.suggested_steps), next, now);
      if (!appending) {
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
      }
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
  needsApply(input);
  const [stored, read] = await Promise.all([
    options.idempotency ? findStoredResponse(db, userId, options.idempotency) : undefined,
    readForSplit(db, userId, ids.taskId, {
      agentId: options.agentId,
      splitId: input.split_id,
      stepId: ids.stepId,
    }),
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
  const result =
    read.earlier?.result ??
    (await splitStep(choice, {
      description: step.description,
      minutes: step.estimated_minutes,
      leafType: step.leaf_type,
      energy: input.energy_level,
      difficulty: input.difficulty,
      category,
      preferredCount: input.preferred_step_count,
      learned: learnedFor(preferences, category),
    }));

  const now = Date.now();
  const splitIds = {
    splitId: read.earlier?.id ?? newId(now),
    taskId: ids.taskId,
    stepId: ids.stepId,
    subtaskIds: [],
  };
  const batch = new D1Batch();
  // The step must still be pending where it was read: two concurrent re-splits would otherwise both
  // insert their parts.
  if (input.apply) {
    batch.add(
      abortIf(
        db,
        sql`NOT EXISTS (SELECT 1 FROM micro_steps WHERE id = ${step.step_id} AND user_id = ${userId} AND status = 'pending' AND position = ${step.position})
          OR EXISTS (SELECT 1 FROM task_splits WHERE id = ${splitIds.splitId} AND applied = 1)`,
      ),
    );
  }
  batch.add(recordSplit(db, userId, splitIds, result, input.apply, now, read.earlier !== undefined));
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
      .select({
        rating: stepFeedback.rating,
        category: stepFeedback.category,
        actualMinutes: stepFeedback.actualMinutes,
      })
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
  const actual = input.actual_minutes ?? null;
  const current = prefsRead(results).find((p) => p.category === category);
  // The same rating sent again (a retry) teaches nothing new.
  if (
    earlier &&
    current &&
    earlier.rating === rating &&
    earlier.actualMinutes === actual &&
    earlier.category === category
  ) {
    return feedbackAnswer(step.step_id, task.task_id, rating, input, learnedFrom(category, stateOf(current)));
  }
  const rated = {
    rating,
    estimated_minutes: step.estimated_minutes,
    actual_minutes: actual,
    step_count: steps.length,
  };
  const replaced = earlier?.category === category ? earlier.rating : undefined;
  const first = updatePreference(undefined, rated);
  const now = nowIso();
  const feedback = {
    userId,
    stepId: step.step_id,
    taskId: task.task_id,
    category,
    rating,
    estimatedMinutes: step.estimated_minutes,
    actualMinutes: actual,
    energy: input.energy ?? null,
    stepCount: steps.length,
    createdAt: now,
  };
  const count = (r: StepRating) => {
    const column = {
      just_right: splitPreferences.justRight,
      too_large: splitPreferences.tooLarge,
      too_small: splitPreferences.tooSmall,
    }[r];
    const delta = (r === rating ? 1 : 0) - (r === replaced ? 1 : 0);
    return sql`max(0, ${column} + ${delta})`;
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
  // Counters and moving averages change inside D1, so concurrent ratings all count.
  const saved = write.add(
    db
      .insert(splitPreferences)
      .values({
        userId,
        category,
        stepMinutes: first.step_minutes,
        stepCount: first.step_count,
        justRight: first.just_right,
        tooLarge: first.too_large,
        tooSmall: first.too_small,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: [splitPreferences.userId, splitPreferences.category],
        set: {
          stepMinutes: sql`${splitPreferences.stepMinutes} + ${ALPHA} * (excluded.step_minutes - ${splitPreferences.stepMinutes})`,
          stepCount: sql`${splitPreferences.stepCount} + ${ALPHA} * (excluded.step_count - ${splitPreferences.stepCount})`,
          justRight: count("just_right"),
          tooLarge: count("too_large"),
          tooSmall: count("too_small"),
          updatedAt: now,
        },
      })
      .returning(),
  );
  const savedRow = saved(await write.run(db))[0];
  if (!savedRow) throw new Error("The preference upsert returned no row");
  return feedbackAnswer(step.step_id, task.task_id, rating, input, learnedFrom(category, stateOf(savedRow)));
}

function feedbackAnswer(
  stepId: string,
  taskId: string,
  rating: StepRating,
  input: StepFeedbackInput,
  preference: LearnedPreference,
): StepFeedbackResponse {
  return {
    step_id: stepId,
    task_id: taskId,
    rating,
    actual_minutes: input.actual_minutes ?? null,
    energy: input.energy ?? null,
    preference,
  };
}
