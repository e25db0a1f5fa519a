import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { ENERGY_SCALE, microSteps, taskSplits, tasks } from "../../db/schema";
import { abortIf, D1Batch } from "../../lib/batch";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import {
  type IdempotencyContext,
  type PreparedWrite,
  type WriteOutcome,
  writeOnce,
} from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { difficultyFromProfile, energyFromProfile } from "../compat/onboarding-defaults";
import { onboardingForSplitQuery } from "../compat/onboarding-service";
import { originalSplitFields } from "../compat/split";
import { PRIOR_DIFFICULTY } from "../learning/difficulty";
import { defaultDifficulty, difficultyDefaultQueries, scoreDifficulty } from "../learning/splitter-default";
import { MAX_STEPS_PER_TASK, type MicroStepDto, type TaskDto } from "../tasks/schemas";
import {
  insertStepStatements,
  legacyStepFields,
  stepRows,
  stepRowToDto,
  taskByIdQuery,
  toTaskDto,
  withSteps,
} from "../tasks/statements";
import { templateByNameQuery, toTemplateDto } from "../templates/queries";
import type { Energy } from "./plan";
import { categoryOf, learnedFor } from "./preferences";
import {
  fillTaskBlanks,
  preferencesQuery,
  recordSplit,
  responseOf,
  type SplitAsked,
  splitConflict,
  subtaskStatements,
  taskAfter,
  toStepInputs,
} from "./queries";
import type { SplitResponse, SplitStepInput, SplitTaskInput } from "./schemas";
import { scopeOf } from "./sizing";
import { type SplitterChoice, splitStep, splitTask } from "./splitter";
import { fitsASplit, planFromTemplate } from "./template-plan";
import { shortLabel } from "./text";

export type SplitOutcome = WriteOutcome<SplitResponse, Envelope>;

type SplitRead = Awaited<ReturnType<typeof readForSplit>>;

/**
 * Reads the task (with its steps), the user's learned preferences and, for a task split, a template
 * named like the task — one round trip.
 */
async function readForSplit(
  db: Database,
  userId: string,
  taskId: string,
  options: {
    agentId?: string;
    splitId?: string;
    stepId?: string;
    defaultDifficulty?: boolean;
    /** The original API's re-split of a project answers its first sub-task's steps. */
    firstSubtask?: boolean;
  } = {},
) {
  const batch = new D1Batch();
  // No difficulty asked: the learned default's reads ride in this same round trip.
  const learned = options.defaultDifficulty ? difficultyDefaultQueries(db, userId, taskId) : undefined;
  const learnedTask = learned ? batch.add(learned.task) : undefined;
  const learnedModels = learned ? batch.add(learned.models) : undefined;
  const learnedCheckin = learned ? batch.add(learned.checkin) : undefined;
  const learnedLog = learned ? batch.add(learned.logged) : undefined;
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
  const template = batch.add(templateByNameQuery(db, options.agentId ? null : userId, title));
  const children = batch.add(
    db
      .select({ n: sql<number>`count(*)` })
      .from(tasks)
      .where(and(eq(tasks.userId, userId), eq(tasks.parentTaskId, taskId), isNull(tasks.deletedAt))),
  );
  // The onboarding answers (and the user's time zone for their hours) feed the defaults: same round trip.
  const profile = batch.add(onboardingForSplitQuery(db, userId));
  // The sub-task that waits on none of the others comes first (splitting chains them in order).
  const firstSubtask = options.firstSubtask
    ? batch.add(
        db
          .select(withSteps)
          .from(tasks)
          .where(
            and(
              eq(tasks.userId, userId),
              eq(tasks.parentTaskId, taskId),
              isNull(tasks.deletedAt),
              sql`NOT EXISTS (SELECT 1 FROM task_dependencies d WHERE d.user_id = ${userId} AND d.task_id = ${tasks.id})`,
            ),
          )
          .orderBy(tasks.createdAt, tasks.id)
          .limit(1),
      )
    : undefined;
  const results = await batch.run(db);
  const row = task(results)[0];
  if (!row) throw notFound("Task");
  const named = template(results)[0];
  const person = profile(results)[0];
  const first = firstSubtask?.(results)[0];
  return {
    profile: person,
    firstSubtaskSteps: first ? (toTaskDto(first).micro_steps ?? []) : [],
    task: toTaskDto(row),
    preferences: prefs(results),
    template: named ? toTemplateDto(named, userId) : undefined,
    subtasks: children(results)[0]?.n ?? 0,
    earlier: earlier ? earlierSplit(earlier(results)[0]) : undefined,
    learned:
      learnedTask && learnedModels && learnedCheckin && learnedLog
        ? {
            task: learnedTask(results)[0],
            models: learnedModels(results),
            checkin: learnedCheckin(results)[0]?.level ?? null,
            logged: learnedLog(results),
          }
        : undefined,
  };
}

/**
 * The energy and difficulty a split is sized for: as asked, else medium and the learned default. An
 * earlier suggestion being applied was sized when it was made: that is what the answer reports.
 */
function askedOf(input: SplitTaskInput | SplitStepInput, read: SplitRead, userId: string): SplitAsked {
  if (read.earlier) return earlierAsked(read.earlier);
  const energy = input.energy_level ?? defaultEnergy(read);
  const said = { energy: input.energy_level ?? null, difficulty: input.difficulty ?? null };
  if (input.difficulty !== undefined)
    return { energy, difficulty: input.difficulty, difficultySource: "request", said };
  const fallback = read.learned
    ? defaultDifficulty(read.learned, userId, input.energy_level)
    : { difficulty: PRIOR_DIFFICULTY, source: "prior" as const };
  // Before any model knows the person, the support level they gave at onboarding says how hard work feels.
  const fromProfile = fallback.source === "prior" ? difficultyFromProfile(read.profile) : undefined;
  if (fromProfile !== undefined)
    return { energy, difficulty: fromProfile, difficultySource: "profile", said };
  return { energy, difficulty: fallback.difficulty, difficultySource: fallback.source, said };
}

/**
 * Energy nobody stated: medium, as always, unless the person gave their working hours at onboarding —
 * then today's energy check-in if there is one, else medium inside those hours and low outside them.
 */
function defaultEnergy(read: SplitRead): Energy {
  const fromHours = energyFromProfile(read.profile, read.profile?.time_zone ?? "UTC", Date.now());
  if (fromHours === undefined) return "medium";
  return read.learned?.checkin ?? fromHours;
}

/** What an earlier suggestion was sized for (rows from before it was stored: what the user said, else the defaults). */
function earlierAsked(row: typeof taskSplits.$inferSelect): SplitAsked {
  // Applying says nothing new about the task: nothing is stored or scored again.
  const said = { energy: null, difficulty: null };
  const sized = row.result.sized_for;
  if (sized)
    return {
      energy: sized.energy,
      difficulty: sized.difficulty,
      difficultySource: sized.difficulty_source,
      said,
    };
  const energy = ENERGY_SCALE.find((e) => e === row.energy) ?? "medium";
  return row.difficulty !== null
    ? { energy, difficulty: row.difficulty, difficultySource: "request", said }
    : { energy, difficulty: PRIOR_DIFFICULTY, difficultySource: "prior", said };
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

export async function splitTaskFor(
  db: Database,
  userId: string,
  taskId: string,
  input: SplitTaskInput,
  choice: SplitterChoice,
  options: { agentId?: string; idempotency?: IdempotencyContext; keepExisting?: boolean } = {},
): Promise<SplitOutcome> {
  needsApply(input);
  return writeOnce(
    db,
    userId,
    options.idempotency,
    (read) =>
      options.keepExisting && alreadySplit(read)
        ? existingSplit(userId, input, read)
        : taskSplitWrite(db, userId, taskId, input, choice, read),
    () =>
      readForSplit(db, userId, taskId, {
        agentId: options.agentId,
        splitId: input.split_id,
        // Applying an earlier suggestion reuses its sizing: no learned default to read.
        defaultDifficulty: input.difficulty === undefined && input.split_id === undefined,
        firstSubtask: options.keepExisting,
      }),
  );
}

/** The task already has steps (or, a project, sub-tasks): the original API's re-split answers those. */
const alreadySplit = (read: SplitRead) => (read.task.micro_steps?.length ?? 0) > 0 || read.subtasks > 0;

/**
 * The original API's re-split: the task's steps as they are, the same ids, nothing written; for a
 * project made into sub-tasks, its first sub-task's steps (as its first split answered).
 */
function existingSplit(
  userId: string,
  input: SplitTaskInput,
  read: SplitRead,
): PreparedWrite<SplitResponse, Envelope> {
  const { task } = read;
  const steps = [...(task.micro_steps ?? [])].sort((a, b) => a.position - b.position);
  const suggested = steps.map((s) => ({
    step_order: s.position,
    description: s.description,
    short_label: s.short_label ?? shortLabel(s.description),
    estimated_minutes: s.estimated_minutes,
    leaf_type: s.leaf_type,
    reasoning: "The task's own step, as it is.",
    confidence: 1,
  }));
  const total = suggested.reduce((sum, s) => sum + s.estimated_minutes, 0);
  const asked = askedOf(input, read, userId);
  const now = Date.now();
  const body: SplitResponse = {
    split_id: newId(now),
    task_id: task.task_id,
    step_id: null,
    split_method: "existing",
    scope: read.subtasks > 0 ? "PROJECT" : scopeOf(task.estimated_minutes ?? total),
    suggested_steps: suggested,
    subtasks: [],
    total_estimated_minutes: total,
    task_estimated_minutes: task.estimated_minutes ?? total,
    energy_level: asked.energy,
    difficulty: asked.difficulty,
    difficulty_source: asked.difficultySource,
    category: categoryOf(task, input.category),
    reasoning: "The task is already split: these are its steps, unchanged.",
    applied: false,
    task,
    created_at: nowIso(now),
    ...originalSplitFields("existing", steps.length > 0 ? steps : read.firstSubtaskSteps),
  };
  return { status: 200, batch: new D1Batch(), body, events: [] };
}

/** What a task split writes (the suggestion; applied, the steps or sub-tasks too) and its answer. */
async function taskSplitWrite(
  db: Database,
  userId: string,
  taskId: string,
  input: SplitTaskInput,
  choice: SplitterChoice,
  read: SplitRead,
): Promise<PreparedWrite<SplitResponse, Envelope>> {
  const { task, preferences, template } = read;
  if (input.apply) assertOpen(task);
  const category = categoryOf(task, input.category);
  const asked = askedOf(input, read, userId);
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
      energy: asked.energy,
      difficulty: asked.difficulty,
      preferredCount: input.preferred_step_count,
      category,
      learned: learnedFor(preferences, category),
    }));

  const now = Date.now();
  const ids = { splitId: read.earlier?.id ?? newId(now), taskId, stepId: null, subtaskIds: [] as string[] };
  // Sub-tasks come from the plan, not the scope label: a template answers a long task with steps only.
  const makesSubtasks = result.subtasks.length > 0;
  const batch = new D1Batch();
  // Applying builds on what was read: nothing may have touched the task since (a concurrent apply
  // would otherwise add a second set of steps or sub-tasks).
  if (input.apply) {
    batch.add(
      abortIf(
        db,
        sql`NOT EXISTS (SELECT 1 FROM tasks WHERE id = ${taskId} AND user_id = ${userId} AND deleted_at IS NULL AND updated_at = ${task.updated_at})
          OR (${makesSubtasks ? 1 : 0} = 1 AND EXISTS (SELECT 1 FROM tasks WHERE user_id = ${userId} AND parent_task_id = ${taskId} AND deleted_at IS NULL))
          OR EXISTS (SELECT 1 FROM task_splits WHERE id = ${ids.splitId} AND applied = 1)`,
      ),
    );
  }
  batch.add(recordSplit(db, userId, ids, result, input.apply, now, read.earlier !== undefined, asked));
  if (asked.said.difficulty !== null) batch.add(scoreDifficulty(db, userId, taskId, asked.said.difficulty));
  let events: Envelope[] = [];
  let after: TaskDto | null = null;
  let firstSubtaskSteps: MicroStepDto[] | undefined;
  if (input.apply) {
    let steps = task.micro_steps ?? [];
    if (makesSubtasks) {
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
      firstSubtaskSteps = made.bodies[0]?.micro_steps ?? [];
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
  const body = responseOf(result, ids, input, asked, after, now, firstSubtaskSteps ?? after?.micro_steps);
  return { status: 200, batch, body, events, failure: splitConflict };
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
  return writeOnce(
    db,
    userId,
    options.idempotency,
    (read) => stepSplitWrite(db, userId, ids, input, choice, read),
    () =>
      readForSplit(db, userId, ids.taskId, {
        agentId: options.agentId,
        splitId: input.split_id,
        stepId: ids.stepId,
        // Applying an earlier suggestion reuses its sizing: no learned default to read.
        defaultDifficulty: input.difficulty === undefined && input.split_id === undefined,
      }),
  );
}

/** What a step split writes (the suggestion; applied, the parts in the step's place) and its answer. */
async function stepSplitWrite(
  db: Database,
  userId: string,
  ids: { taskId: string; stepId: string },
  input: SplitStepInput,
  choice: SplitterChoice,
  read: SplitRead,
): Promise<PreparedWrite<SplitResponse, Envelope>> {
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
  const asked = askedOf(input, read, userId);
  const result =
    read.earlier?.result ??
    (await splitStep(choice, {
      description: step.description,
      minutes: step.estimated_minutes,
      leafType: step.leaf_type,
      energy: asked.energy,
      difficulty: asked.difficulty,
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
  batch.add(recordSplit(db, userId, splitIds, result, input.apply, now, read.earlier !== undefined, asked));
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
        : [s.position > step.position ? movedStep(s, s.position + parts - 1) : s],
    );
    after = taskAfter(task, moved, result, now, { estimate: false });
  }
  const body = responseOf(result, splitIds, input, asked, after, now);
  return { status: 200, batch, body, failure: splitConflict };
}

/** A step at a new position, with every field that says where it is. */
function movedStep(step: MicroStepDto, position: number): MicroStepDto {
  return { ...step, position, ...legacyStepFields(position, step.status, step.leaf_type) };
}
