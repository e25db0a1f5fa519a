/**
 * The duration model: how many minutes a task will really take. Ridge regression on log minutes
 * (a task's duration errs by a factor, not by minutes), answered as exp of the prediction (the median
 * minutes, the right point for MAE) and clamped to a sane range.
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

export const MIN_MINUTES = 1;
export const MAX_MINUTES = 16 * 60;
/** What answers when no model exists yet (scope "prior"): the user's estimate, else this. */
export const PRIOR_MINUTES = 25;

const clampMinutes = (m: number) => Math.min(MAX_MINUTES, Math.max(MIN_MINUTES, m));

export const DurationParamsSchema = z.object({
  ...linearModelParams,
  /**
   * Quantiles (20%, 80%) of the residuals in log space: the range around a prediction. Training sets
   * them from the held-out residuals (train.ts), which are wider and honest; the training residuals
   * only stand in when there are too few held-out rows.
   */
  low: z.number(),
  high: z.number(),
});
export type DurationParams = z.infer<typeof DurationParamsSchema>;

/** Samples a duration model can learn from: finished, with the minutes they took. */
export const timed = (samples: readonly TaskSample[]) =>
  samples.filter((s) => s.actual !== null && s.actual > 0);

export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const at = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[at]!;
}

export function trainDuration(train: readonly TaskSample[]): DurationParams {
  const rows = train.map(rawFeatures);
  const scaler = fitScaler(rows);
  const x = rows.map((r) => scale(scaler, r));
  const y = train.map((s) => Math.log(clampMinutes(s.actual ?? PRIOR_MINUTES)));
  const model = fitRidgeTuned(x, y);
  const residuals = x.map((r, i) => y[i]! - predictRidge(model, r)).sort((a, b) => a - b);
  return {
    features: [...FEATURE_NAMES],
    hours: hourCounts(train),
    ...scaler,
    ...model,
    low: quantile(residuals, 0.2),
    high: quantile(residuals, 0.8),
  };
}

export interface DurationPrediction {
  minutes: number;
  low: number;
  high: number;
}

export function predictDuration(params: DurationParams, task: TaskSample): DurationPrediction {
  const logMinutes = predictRidge(params, modelFeatures(params, task));
  const minutes = clampMinutes(Math.exp(logMinutes));
  return {
    minutes: Math.round(minutes),
    low: Math.round(clampMinutes(Math.exp(logMinutes + Math.min(0, params.low)))),
    high: Math.round(clampMinutes(Math.exp(logMinutes + Math.max(0, params.high)))),
  };
}

/** The prior answer: the user's estimate when they gave one, else PRIOR_MINUTES. */
export function priorDuration(task: TaskSample): DurationPrediction {
  const minutes = task.estimate && task.estimate > 0 ? task.estimate : PRIOR_MINUTES;
  return { minutes, low: Math.round(minutes * 0.75), high: Math.round(minutes * 1.5) };
}

/** The training rows' mean minutes: the "global mean" baseline. */
export function meanMinutes(train: readonly TaskSample[]): number {
  const rows = timed(train);
  if (rows.length === 0) return PRIOR_MINUTES;
  return rows.reduce((s, r) => s + r.actual!, 0) / rows.length;
}

/** The "own estimate" baseline: the user's estimate, or the training mean where they gave none. */
export const estimateBaseline = (task: TaskSample, fallback: number) =>
  task.estimate && task.estimate > 0 ? task.estimate : fallback;
