/**
 * The splitter's default difficulty: what the user's promoted difficulty model predicts for the task
 * (the population's until they have one, 3 before any), with the same energy rule as
 * GET /predictions/difficulty (history.ts taskEnergy). Its reads are batchable, so a split gets
 * them in the round trip it already makes.
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { type EnergyLevel, POPULATION, predictionLog, tasks } from "../../db/schema";
import { type AnswerScope, answererOf } from "./answering";
import { DifficultyParamsSchema, PRIOR_DIFFICULTY, predictDifficulty } from "./difficulty";
import { openSample, type TaskFeatureRow, taskEnergy, taskFeatureQuery } from "./history";
import { type ModelRow, promotedQuery } from "./model-store";
import { energyNowQuery, scorePredictions } from "./prediction-log";

export function difficultyDefaultQueries(db: Database, userId: string, taskId: string, now = Date.now()) {
  return {
    task: taskFeatureQuery(
      db,
      and(eq(tasks.userId, userId), eq(tasks.id, taskId), isNull(tasks.deletedAt)),
    ).limit(1),
    models: promotedQuery(db, [userId, POPULATION], ["difficulty"]),
    checkin: energyNowQuery(db, userId, now),
    // What GET /predictions/difficulty answered for this task (it repeats its first logged value).
    logged: db
      .select({ modelId: predictionLog.modelId, predicted: predictionLog.predicted })
      .from(predictionLog)
      .where(
        and(
          eq(predictionLog.userId, userId),
          eq(predictionLog.kind, "difficulty"),
          eq(predictionLog.subject, taskId),
        ),
      ),
  };
}

export function defaultDifficulty(
  read: {
    task: TaskFeatureRow | undefined;
    models: readonly ModelRow[];
    checkin: EnergyLevel | null;
    logged: readonly { modelId: string; predicted: number }[];
  },
  userId: string,
  energy: EnergyLevel | undefined,
  now = Date.now(),
): { difficulty: number; source: AnswerScope } {
  const answerer = answererOf(read.models, userId, "difficulty", "prior");
  const params = DifficultyParamsSchema.safeParse(answerer.row?.params);
  if (!read.task || !params.success) return { difficulty: PRIOR_DIFFICULTY, source: "prior" };
  const modelId = answerer.row?.id;
  const logged = read.logged.find((l) => l.modelId === modelId);
  // Asked before with no energy of the request's own: the answer the prediction gave, as it gave it.
  if (logged && energy === undefined) return { difficulty: logged.predicted, source: answerer.info.scope };
  const sample = openSample(read.task, now, taskEnergy(read.task, energy, read.checkin));
  return { difficulty: predictDifficulty(params.data, sample), source: answerer.info.scope };
}

/**
 * A difficulty the user states when splitting is the truth for the task's difficulty predictions: this
 * statement scores them, in the split's own batch.
 */
export function scoreDifficulty(db: Database, userId: string, taskId: string, difficulty: number) {
  return scorePredictions(db, userId, "difficulty", taskId, difficulty);
}
