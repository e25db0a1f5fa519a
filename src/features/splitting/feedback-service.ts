/** Step ratings (BE-05 learning): each one updates the learned preference of its category. */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { splitPreferences, stepFeedback } from "../../db/schema";
import type { StepRating } from "../../db/schema/splitting";
import { D1Batch } from "../../lib/batch";
import { notFound, validationFailed } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { taskByIdQuery, toTaskDto } from "../tasks/statements";
import { ALPHA, type LearnedPreference, learnedFrom, updatePreference } from "./learning";
import { categoryOf, stateOf } from "./preferences";
import { preferencesQuery } from "./queries";
import type { PreferenceDto, StepFeedbackInput, StepFeedbackResponse } from "./schemas";

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
