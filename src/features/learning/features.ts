/**
 * Task features shared by the duration and difficulty models: what is known about a task before it is
 * done. Standardised with the means and scales stored with the model, so a prediction uses exactly the
 * scaling the model was trained with.
 */
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
  category: TaskCategory | null;
  /** The user's own estimate in minutes. */
  estimate: number | null;
  priority: TaskPriority;
  steps: number;
  /** Local hour (0–23) the work started (for an open task: now). */
  hour: number;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  energy: EnergyLevel | null;
  titleLength: number;
  /** Minutes it really took. */
  actual: number | null;
  /** How hard the user said it was when splitting it (1–5). */
  difficulty: number | null;
}

export const FEATURE_NAMES = [
  ...TASK_CATEGORIES.map((c) => `category_${c.toLowerCase()}`),
  "log_estimate",
  "has_estimate",
  "priority",
  "log_steps",
  "hour_sin",
  "hour_cos",
  "weekday_sin",
  "weekday_cos",
  "energy",
  "energy_known",
  "log_title_length",
] as const;

const ENERGY_ORDINAL: Record<EnergyLevel, number> = { low: -1, medium: 0, high: 1 };

/** The raw (unscaled) feature vector of a task, in FEATURE_NAMES order. */
export function rawFeatures(task: TaskSample): number[] {
  const hourAngle = (2 * Math.PI * task.hour) / 24;
  const dayAngle = (2 * Math.PI * (task.weekday - 1)) / 7;
  const hasEstimate = task.estimate !== null && task.estimate > 0;
  return [
    ...TASK_CATEGORIES.map((c) => (task.category === c ? 1 : 0)),
    hasEstimate ? Math.log(task.estimate ?? 1) : 0,
    hasEstimate ? 1 : 0,
    TASK_PRIORITIES.indexOf(task.priority),
    Math.log1p(Math.max(0, task.steps)),
    Math.sin(hourAngle),
    Math.cos(hourAngle),
    Math.sin(dayAngle),
    Math.cos(dayAngle),
    task.energy ? ENERGY_ORDINAL[task.energy] : 0,
    task.energy ? 1 : 0,
    Math.log1p(Math.max(0, task.titleLength)),
  ];
}

/** Means and scales of each feature, stored with a model. */
export interface Scaler {
  means: number[];
  scales: number[];
}

export function fitScaler(rows: readonly number[][]): Scaler {
  const d = rows[0]?.length ?? FEATURE_NAMES.length;
  const n = Math.max(1, rows.length);
  const means = new Array<number>(d).fill(0);
  for (const row of rows) for (let i = 0; i < d; i++) means[i] = (means[i] ?? 0) + (row[i] ?? 0) / n;
  const vars = new Array<number>(d).fill(0);
  for (const row of rows)
    for (let i = 0; i < d; i++) vars[i] = (vars[i] ?? 0) + ((row[i] ?? 0) - (means[i] ?? 0)) ** 2 / n;
  // A constant column scales by 1: it centres to zero and carries no weight, instead of dividing by 0.
  const scales = vars.map((v) => (v > 1e-12 ? Math.sqrt(v) : 1));
  return { means, scales };
}

export function scale(scaler: Scaler, row: readonly number[]): number[] {
  return row.map((v, i) => (v - (scaler.means[i] ?? 0)) / (scaler.scales[i] ?? 1));
}
