/**
 * Task features shared by the duration and difficulty models: what is known about a task before it is
 * done. Standardised with the means and scales stored with the model, so a prediction uses exactly the
 * scaling the model was trained with.
 */
import { z } from "@hono/zod-openapi";
import type { EnergyLevel } from "../../db/schema/analytics";
import {
  TASK_CATEGORIES,
  TASK_PRIORITIES,
  type TaskCategory,
  type TaskPriority,
} from "../../db/schema/tasks";

/** One task as the models see it. `actual` and `difficulty` are the labels (null: not known). */
export interface TaskSample {
  id: string;
  /** Whose task: the population's training counts people by it. */
  userId?: string;
  category: TaskCategory | null;
  /** The user's own estimate in minutes. */
  estimate: number | null;
  priority: TaskPriority;
  steps: number;
  /**
   * Local hour (0–23) the work started (for an open task: now); null when nothing but the finish time
   * and the minutes taken say when, which would make the answer a feature of itself.
   */
  hour: number | null;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  energy: EnergyLevel | null;
  titleLength: number;
  /** Minutes it really took. */
  actual: number | null;
  /** How hard the user said it was when splitting it (1–5). */
  difficulty: number | null;
}

/** The feature layout, stored with every model: a model trained on another layout answers nothing. */
export const FEATURE_NAMES = [
  ...TASK_CATEGORIES.map((c) => `category_${c.toLowerCase()}`),
  "log_estimate",
  "has_estimate",
  "priority",
  "log_steps",
  "hour_sin",
  "hour_cos",
  "hour_known",
  "weekday_sin",
  "weekday_cos",
  "energy",
  "energy_known",
  "log_title_length",
] as const;

const ENERGY_ORDINAL: Record<EnergyLevel, number> = { low: -1, medium: 0, high: 1 };

/** The raw (unscaled) feature vector of a task, in FEATURE_NAMES order. */
export function rawFeatures(task: TaskSample): number[] {
  const hourAngle = (2 * Math.PI * (task.hour ?? 0)) / 24;
  const hourKnown = task.hour !== null;
  const dayAngle = (2 * Math.PI * (task.weekday - 1)) / 7;
  const hasEstimate = task.estimate !== null && task.estimate > 0;
  return [
    ...TASK_CATEGORIES.map((c) => (task.category === c ? 1 : 0)),
    hasEstimate ? Math.log(task.estimate!) : 0,
    hasEstimate ? 1 : 0,
    TASK_PRIORITIES.indexOf(task.priority),
    Math.log1p(Math.max(0, task.steps)),
    hourKnown ? Math.sin(hourAngle) : 0,
    hourKnown ? Math.cos(hourAngle) : 0,
    hourKnown ? 1 : 0,
    Math.sin(dayAngle),
    Math.cos(dayAngle),
    task.energy ? ENERGY_ORDINAL[task.energy] : 0,
    task.energy ? 1 : 0,
    Math.log1p(Math.max(0, task.titleLength)),
  ];
}

/** Whether stored feature names are the layout this code builds. */
export const sameLayout = (names: readonly string[]) =>
  names.length === FEATURE_NAMES.length && names.every((n, i) => n === FEATURE_NAMES[i]);

/**
 * Means and scales of each feature, stored with a model, and the range each took in training: a
 * prediction clamps to it rather than extrapolate a line fitted on a narrow range (a user who only ever
 * worked in the morning asking at night gets their latest-hour answer, not a wild one).
 */
export interface Scaler {
  means: number[];
  scales: number[];
  mins: number[];
  maxs: number[];
}

export function fitScaler(rows: readonly number[][]): Scaler {
  const d = rows[0]?.length ?? FEATURE_NAMES.length;
  const n = Math.max(1, rows.length);
  const means = new Array<number>(d).fill(0);
  for (const row of rows) for (let i = 0; i < d; i++) means[i] = means[i]! + row[i]! / n;
  const vars = new Array<number>(d).fill(0);
  for (const row of rows) for (let i = 0; i < d; i++) vars[i] = vars[i]! + (row[i]! - means[i]!) ** 2 / n;
  // A constant column scales by 1: it centres to zero and carries no weight, instead of dividing by 0.
  const scales = vars.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1));
  const mins = new Array<number>(d).fill(Number.POSITIVE_INFINITY);
  const maxs = new Array<number>(d).fill(Number.NEGATIVE_INFINITY);
  for (const row of rows)
    for (let i = 0; i < d; i++) {
      mins[i] = Math.min(mins[i]!, row[i]!);
      maxs[i] = Math.max(maxs[i]!, row[i]!);
    }
  return {
    means,
    scales,
    mins: mins.map((v) => (Number.isFinite(v) ? v : 0)),
    maxs: maxs.map((v) => (Number.isFinite(v) ? v : 0)),
  };
}

export function scale(scaler: Scaler, row: readonly number[]): number[] {
  return row.map((v, i) => {
    const clamped = Math.min(scaler.maxs[i] ?? v, Math.max(scaler.mins[i] ?? v, v));
    return (clamped - (scaler.means[i] ?? 0)) / (scaler.scales[i] ?? 1);
  });
}

/** Training rows an hour needs before a model's answer at that hour uses what it learned about it. */
export const MIN_HOUR_ROWS = 5;
const HOUR_COLUMNS = ["hour_sin", "hour_cos", "hour_known"].map((n) =>
  FEATURE_NAMES.indexOf(n as (typeof FEATURE_NAMES)[number]),
);

/** Training rows per local hour (0–23), stored with a model. */
export function hourCounts(samples: readonly TaskSample[]): number[] {
  const counts = new Array<number>(24).fill(0);
  for (const s of samples) if (s.hour !== null) counts[s.hour] = counts[s.hour]! + 1;
  return counts;
}

/**
 * The scaled features a model answers from. At an hour it saw too little of in training, the hour
 * columns take their training means (they add nothing): a line fitted on the hours someone works
 * says nothing about the others.
 */
export function modelFeatures(params: Scaler & { hours: readonly number[] }, task: TaskSample): number[] {
  const raw = rawFeatures(task);
  if (task.hour !== null && params.hours[task.hour]! < MIN_HOUR_ROWS)
    for (const i of HOUR_COLUMNS) raw[i] = params.means[i] ?? 0;
  return scale(params, raw);
}

/**
 * The stored parameters of a ridge model on the task features (duration and difficulty alike): the
 * feature layout it was trained on (another layout is not used), the scaler, the clamp range, training
 * rows per local hour (hours seen too little answer without the hour), and the fit.
 */
export const linearModelParams = {
  features: z.array(z.string()).refine(sameLayout),
  means: z.array(z.number()),
  scales: z.array(z.number()),
  mins: z.array(z.number()),
  maxs: z.array(z.number()),
  hours: z.array(z.number()).length(24),
  intercept: z.number(),
  weights: z.array(z.number()),
  lambda: z.number(),
};
