/**
 * Which model answers a user: their own promoted version, else the population's, else the documented
 * prior. Every answer names the model and its measured error.
 */
import { type ModelKind, POPULATION } from "../../db/schema";
import type { ModelRow } from "./model-store";

export type AnswerScope = "personal" | "population" | "prior";

/** What a prediction says about the model behind it. */
export interface ModelInfo {
  model_id: string | null;
  version: number | null;
  scope: AnswerScope;
  algorithm: string;
  /** The model's held-out error (its metric, e.g. MAE in minutes); null for the prior. */
  mae: number | null;
  /** The best baseline's error on the same held-out rows. */
  baseline_mae: number | null;
}

/** The model id logged for a prior answer (prediction_log needs one). */
export const PRIOR_MODEL_ID = "prior";

export interface Answerer {
  row: ModelRow | null;
  info: ModelInfo;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);

export function modelInfo(row: ModelRow, scope: AnswerScope): ModelInfo {
  const metrics = row.metrics as { value?: unknown; baselines?: Record<string, unknown> };
  const baselines = Object.values(metrics.baselines ?? {})
    .map(num)
    .filter((v): v is number => v !== null);
  return {
    model_id: row.id,
    version: row.version,
    scope,
    algorithm: row.algorithm,
    mae: num(metrics.value),
    baseline_mae: baselines.length > 0 ? Math.min(...baselines) : null,
  };
}

/** The promoted model of `kind` that answers `userId` among `rows` (theirs and the population's). */
export function answererOf(
  rows: readonly ModelRow[],
  userId: string,
  kind: ModelKind,
  prior: string,
): Answerer {
  const own = rows.find((r) => r.kind === kind && r.userId === userId);
  if (own) return { row: own, info: modelInfo(own, "personal") };
  const everyone = rows.find((r) => r.kind === kind && r.userId === POPULATION);
  if (everyone) return { row: everyone, info: modelInfo(everyone, "population") };
  return {
    row: null,
    info: { model_id: null, version: null, scope: "prior", algorithm: prior, mae: null, baseline_mae: null },
  };
}

/** What each kind learns from, as a note says it ("until you have …"). */
const NEEDS: Record<ModelKind, (n: number) => string> = {
  duration: (n) => `finished ${n} timed tasks of your own`,
  difficulty: (n) => `said how hard ${n} of your finished tasks were when splitting them`,
  energy: (n) => `logged ${n} energy check-ins`,
  best_time: (n) => `finished ${n} timed tasks with an estimate and a category`,
};

/** The note of a population answer to someone with too little history of their own. */
export const populationNote = (kind: ModelKind, needed: number) =>
  `Based on everyone's history until you have ${NEEDS[kind](needed)}.`;
/** The note of a population answer to someone with enough history whose own model has not won yet. */
export const NOT_YET_BETTER_NOTE =
  "Based on everyone's history: your own model is retrained nightly and answers once it beats everyone's on your tasks.";
export const PRIOR_NOTE =
  "No model has been trained yet: this is a starting guess, not a prediction from history.";

/**
 * The plain note of an answer, by kind and reason: none from the user's own model; for the population's,
 * what the user still needs (`have` of `needed` rows training would use) or that theirs has not won yet.
 */
export function noteFor(
  kind: ModelKind,
  scope: AnswerScope,
  history: { have: number; needed: number },
): string | null {
  if (scope === "personal") return null;
  if (scope === "prior") return PRIOR_NOTE;
  return history.have < history.needed ? populationNote(kind, history.needed) : NOT_YET_BETTER_NOTE;
}
