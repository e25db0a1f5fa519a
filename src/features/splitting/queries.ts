/** The statements and answers of a split: its record, new steps or sub-tasks, the task after it. */

import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { splitPreferences, taskSplits, tasks } from "../../db/schema";
import type { SplitResult, SuggestedStep } from "../../db/schema/splitting";
import { isGuardAbort } from "../../lib/batch";
import { ApiError } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { nowIso } from "../../lib/time";
import { originalSplitFields } from "../compat/split";
import type { MicroStepDto, TaskDto } from "../tasks/schemas";
import { computeProgress, newTaskWrite } from "../tasks/statements";
import type { Energy } from "./plan";
import type { SplitResponse, SplitStepInput, SplitTaskInput } from "./schemas";

export const toStepInputs = (steps: SuggestedStep[]) =>
  steps.map((s) => ({
    description: s.description,
    short_label: s.short_label,
    estimated_minutes: s.estimated_minutes,
    leaf_type: s.leaf_type,
  }));

export function responseOf(
  result: SplitResult,
  ids: { splitId: string; taskId: string; stepId: string | null; subtaskIds: string[] },
  input: SplitTaskInput | SplitStepInput,
  asked: SplitAsked,
  task: TaskDto | null,
  now: number,
  /** The steps the original API's clients are shown: the task's, or a project's first sub-task's. */
  shownSteps: MicroStepDto[] = task?.micro_steps ?? [],
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
    energy_level: asked.energy,
    difficulty: asked.difficulty,
    difficulty_source: asked.difficultySource,
    category: result.category,
    reasoning: result.reasoning,
    applied: input.apply,
    task,
    created_at: nowIso(now),
    ...originalSplitFields(result.split_method, shownSteps),
  };
}

/** What a split was sized for: the energy and difficulty asked (or defaulted), and where the difficulty came from. */
export interface SplitAsked {
  energy: Energy;
  difficulty: number;
  difficultySource: "request" | "personal" | "population" | "prior" | "profile";
  /** What the user said themselves (stored on the split: the difficulty model learns only from these). */
  said: { energy: Energy | null; difficulty: number | null };
}

function splitRow(
  userId: string,
  ids: { splitId: string; taskId: string; stepId: string | null },
  result: SplitResult,
  applied: boolean,
  now: number,
  asked: SplitAsked,
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
    energy: asked.said.energy,
    difficulty: asked.said.difficulty,
    result: {
      ...result,
      sized_for: {
        energy: asked.energy,
        difficulty: asked.difficulty,
        difficulty_source: asked.difficultySource,
      },
    },
    createdAt: nowIso(now),
  };
}

/**
 * The split's record: a new row, or — applying an earlier suggestion — that row marked applied (only
 * if it was not yet: the guard before it in the batch stops a second apply).
 */
export function recordSplit(
  db: Database,
  userId: string,
  ids: { splitId: string; taskId: string; stepId: string | null },
  result: SplitResult,
  applied: boolean,
  now: number,
  earlier: boolean,
  asked: SplitAsked,
) {
  if (!earlier) return db.insert(taskSplits).values(splitRow(userId, ids, result, applied, now, asked));
  return db
    .update(taskSplits)
    .set({ applied: true })
    .where(and(eq(taskSplits.id, ids.splitId), eq(taskSplits.userId, userId)));
}

/** A project's sub-tasks as task rows (each waiting on the one before), with their steps and events. */
export function subtaskStatements(
  db: Database,
  userId: string,
  parent: TaskDto,
  result: SplitResult,
  now: number,
) {
  const statements: BatchItem<"sqlite">[] = [];
  const events: Envelope[] = [];
  const ids: string[] = [];
  const bodies: TaskDto[] = [];
  for (const sub of result.subtasks) {
    const before = ids[ids.length - 1];
    const write = newTaskWrite(
      db,
      userId,
      {
        title: sub.title.slice(0, 300),
        priority: parent.priority,
        estimated_minutes: sub.estimated_minutes,
        due_at: parent.due_at,
        tags: parent.tags,
        category: result.category,
        // Each sub-task waits on the one before: Hunter mode offers them in order.
        depends_on: before ? [before] : [],
        micro_steps: toStepInputs(sub.suggested_steps),
      },
      now,
      { parentTaskId: parent.task_id },
    );
    ids.push(write.body.task_id);
    bodies.push(write.body);
    statements.push(...write.statements);
    events.push(write.event);
  }
  return { statements, ids, events, bodies };
}

/** Files the task under the split's category and its estimate of the whole task when it had none. */
export function fillTaskBlanks(
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
export function taskAfter(
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

/** What a split's failed batch answers: 409 when its guard aborted (the task or step changed since it was read). */
export function splitConflict(error: unknown): unknown {
  if (!isGuardAbort(error)) return error;
  return new ApiError(
    409,
    "changed_meanwhile",
    "The task or step changed while it was being split (another split or edit got there first); look at it again and split again if you still want to.",
  );
}

/** What the splitter learned for the user, one row per category. */
export function preferencesQuery(db: Database, userId: string) {
  return db.select().from(splitPreferences).where(eq(splitPreferences.userId, userId));
}
