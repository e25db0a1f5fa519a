/**
 * The difficulty model (1–5): ridge regression on the difficulty the user gave when splitting, rounded
 * and clamped to the scale. The splitter's `difficulty` defaults to it.
 */
import { z } from "@hono/zod-openapi";
import {
  FEATURE_NAMES,
  fitScaler,
  hourCounts,
  linearModelParams,
  modelFeatures,
  rawFeatures,
  scale,
  type TaskSample,
} from "./features";
import { fitRidgeTuned, predictRidge } from "./ridge";

/** The splitter's default difficulty before any model: the middle of the scale. */
export const PRIOR_DIFFICULTY = 3;

export const DifficultyParamsSchema = z.object({
  ...linearModelParams,
});
export type DifficultyParams = z.infer<typeof DifficultyParamsSchema>;

export const clampDifficulty = (value: number) =>
  Math.min(5, Math.max(1, Math.round(Number.isFinite(value) ? value : PRIOR_DIFFICULTY)));

/** Samples with a difficulty label. */
export const rated = (samples: readonly TaskSample[]) =>
  samples.filter((s) => s.difficulty !== null && s.difficulty >= 1 && s.difficulty <= 5);

export function trainDifficulty(train: readonly TaskSample[]): DifficultyParams {
  const rows = train.map(rawFeatures);
  const scaler = fitScaler(rows);
  const x = rows.map((r) => scale(scaler, r));
  const y = train.map((s) => s.difficulty ?? PRIOR_DIFFICULTY);
  // Tuned for the rounded answer's error, which is what the user sees.
  const model = fitRidgeTuned(x, y, (p, a) => Math.abs(clampDifficulty(p) - a));
  return { features: [...FEATURE_NAMES], hours: hourCounts(train), ...scaler, ...model };
}

export function predictDifficulty(params: DifficultyParams, task: TaskSample): number {
  return clampDifficulty(predictRidge(params, modelFeatures(params, task)));
}

/** The user's most common difficulty in the training rows (ties: the lower), the "mode" baseline. */
export function modeDifficulty(train: readonly TaskSample[]): number {
  const rows = rated(train);
  if (rows.length === 0) return PRIOR_DIFFICULTY;
  const counts = [0, 0, 0, 0, 0];
  // Rated rows have a difficulty of 1–5.
  for (const s of rows) counts[s.difficulty! - 1]! += 1;
  // The first of the most counted: the lower of a tie.
  let best = 0;
  for (let i = 1; i < 5; i++) if (counts[i]! > counts[best]!) best = i;
  return best + 1;
}

/** The training rows' mean difficulty, rounded: the "global mean" baseline. */
export function meanDifficulty(train: readonly TaskSample[]): number {
  const rows = rated(train);
  if (rows.length === 0) return PRIOR_DIFFICULTY;
  return clampDifficulty(rows.reduce((s, r) => s + r.difficulty!, 0) / rows.length);
}
