/**
 * The splitter's default difficulty: what the user's promoted difficulty model predicts for the task
 * (the population's until they have one, 3 before any). Its reads are batchable, so a split gets them
 * in the round trip it already makes.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { type EnergyLevel, POPULATION, tasks } from "../../db/schema";
import { type AnswerScope, answererOf } from "./answering";
import { DifficultyParamsSchema, PRIOR_DIFFICULTY, predictDifficulty } from "./difficulty";
import { type TaskFeatureRow, taskFeatureQuery, toTaskSample } from "./history";
import { type ModelRow, promotedQuery } from "./model-store";
import { scorePredictions } from "./prediction-log";

export function difficultyDefaultQueries(db: Database, userId: string, taskId: string) {
  return {
    task: taskFeatureQuery(
      db,
      and(eq(tasks.userId, userId), eq(tasks.id, taskId), isNull(tasks.deletedAt)),
    ).limit(1),
    models: promotedQuery(db, [userId, POPULATION], ["difficulty"]),
  };
}

export function defaultDifficulty(
  read: { task: TaskFeatureRow | undefined; models: readonly ModelRow[] },
  userId: string,
  energy: EnergyLevel | undefined,
  now = Date.now(),
): { difficulty: number; source: AnswerScope } {
  const answerer = answererOf(read.models, userId, "difficulty", "prior");
  const params = DifficultyParamsSchema.safeParse(answerer.row?.params);
  if (!read.task || !params.success) return { difficulty: PRIOR_DIFFICULTY, source: "prior" };
  const sample = toTaskSample(read.task, { at: now, energy: () => energy ?? null });
  return { difficulty: predictDifficulty(params.data, sample), source: answerer.info.scope };
}

/**
 * A difficulty the user states when splitting is the truth for the task's difficulty predictions: this
 * statement scores them, in the split's own batch.
 */
export function scoreDifficulty(db: Database, userId: string, taskId: string, difficulty: number) {
  return scorePredictions(db, userId, "difficulty", taskId, difficulty);
}
