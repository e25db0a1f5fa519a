/**
 * One training of every kind of model on one history (a user's, or the population's sample): fit on
 * the training rows, score the candidate, the baselines and the promoted version on the same held-out
 * rows, and decide promotion. Pure: the caller reads the history and writes the outcome.
 */
import type { ModelKind } from "../../db/schema/analytics";
import { BestTimeParamsSchema, brier, comparable, onTimeChance, trainBestTime } from "./best-time";
import {
  DifficultyParamsSchema,
  meanDifficulty,
  modeDifficulty,
  predictDifficulty,
  rated,
  trainDifficulty,
} from "./difficulty";
import {
  DurationParamsSchema,
  estimateBaseline,
  meanMinutes,
  predictDuration,
  quantile,
  timed,
  trainDuration,
} from "./duration";
import { EnergyParamsSchema, type EnergySample, energyAt, levelValue, trainEnergy } from "./energy";
import { accuracy, decidePromotion, MIN_TEST_ROWS, mae, splitHeldOut } from "./evaluate";
import { modelFeatures, type TaskSample } from "./features";
import { capPerPerson, MIN_POPULATION_USERS, peopleIn } from "./population";
import { predictRidge } from "./ridge";

/** Fewer finished, timed tasks (or labelled ones, or check-ins) than this: the kind is skipped. */
export const MIN_HISTORY = 15;

export const ALGORITHMS: Record<ModelKind, string> = {
  duration: "ridge-log-minutes-v1",
  difficulty: "ridge-rounded-v1",
  energy: "dirichlet-by-hour-v1",
  best_time: "beta-by-block-v1",
};

export interface TrainingInput {
  tasks: readonly TaskSample[];
  checkins: readonly EnergySample[];
  /**
   * The version answering now for each kind (its params as stored), to score on the new held-out rows:
   * the owner's promoted one, else the population's (what a user gets until their own wins).
   */
  current: Partial<Record<ModelKind, unknown>>;
  /** Where each `current` comes from, recorded with the metrics. */
  currentScope?: Partial<Record<ModelKind, "personal" | "population">>;
  /**
   * The population's training: each kind counts the people behind its own rows (by their userId) and
   * caps each person's share of them (population.ts).
   */
  population?: boolean;
}

export interface KindOutcome {
  kind: ModelKind;
  status: "trained" | "skipped";
  reason: string;
  algorithm: string;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  promote: boolean;
  trainSamples: number;
  testSamples: number;
}

function skipped(kind: ModelKind, reason: string, samples: number): KindOutcome {
  return {
    kind,
    status: "skipped",
    reason,
    algorithm: ALGORITHMS[kind],
    params: {},
    metrics: { samples },
    promote: false,
    trainSamples: 0,
    testSamples: 0,
  };
}

/**
 * The rows a kind trains on, or why it is skipped: fewer than MIN_HISTORY rows, or for the population
 * fewer than MIN_POPULATION_USERS people behind them (then each person's share is capped, which may
 * leave too few rows again).
 */
function rowsFor<T extends { userId?: string }>(
  kind: ModelKind,
  input: TrainingInput,
  rows: readonly T[],
  what: string,
): readonly T[] | KindOutcome {
  if (rows.length < MIN_HISTORY) return skipped(kind, `fewer than ${MIN_HISTORY} ${what}`, rows.length);
  if (!input.population) return rows;
  const people = peopleIn(rows);
  if (people < MIN_POPULATION_USERS)
    return skipped(kind, `fewer than ${MIN_POPULATION_USERS} people contribute`, people);
  const capped = capPerPerson(rows);
  if (capped.length < MIN_HISTORY)
    return skipped(
      kind,
      `fewer than ${MIN_HISTORY} ${what} once no one person makes up more than a fifth of them`,
      capped.length,
    );
  return capped;
}

const isSkipped = <T>(rows: readonly T[] | KindOutcome): rows is KindOutcome => !Array.isArray(rows);

const round = (v: number | null, digits = 3) =>
  v === null || !Number.isFinite(v) ? null : Math.round(v * 10 ** digits) / 10 ** digits;

function outcome(
  kind: ModelKind,
  params: Record<string, unknown>,
  scores: { metric: string; value: number; baselines: Record<string, number>; current: number | null },
  sizes: { train: number; test: number },
  extra: Record<string, number | null>,
  currentScope: "personal" | "population" | null,
): KindOutcome {
  const decision = decidePromotion({
    candidate: scores.value,
    baselines: scores.baselines,
    current: scores.current,
    testRows: sizes.test,
  });
  return {
    kind,
    status: "trained",
    reason: decision.reason,
    algorithm: ALGORITHMS[kind],
    params,
    metrics: {
      metric: scores.metric,
      value: round(scores.value),
      baselines: Object.fromEntries(Object.entries(scores.baselines).map(([k, v]) => [k, round(v)])),
      current: round(scores.current),
      current_scope: scores.current === null ? null : currentScope,
      ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, round(v)])),
    },
    promote: decision.promote,
    trainSamples: sizes.train,
    testSamples: sizes.test,
  };
}

export function trainDurationKind(input: TrainingInput): KindOutcome {
  const rows = rowsFor("duration", input, timed(input.tasks), "timed tasks");
  if (isSkipped(rows)) return rows;
  const { train, test } = splitHeldOut(rows);
  const params = withHeldOutRange(trainDuration(train), test);
  const actual = test.map((t) => t.actual!);
  const mean = meanMinutes(train);
  const current = DurationParamsSchema.safeParse(input.current.duration);
  return outcome(
    "duration",
    params,
    {
      metric: "mae_minutes",
      value: mae(
        test.map((t) => predictDuration(params, t).minutes),
        actual,
      ),
      baselines: {
        own_estimate: mae(
          test.map((t) => estimateBaseline(t, mean)),
          actual,
        ),
        global_mean: mae(
          test.map(() => mean),
          actual,
        ),
      },
      current: current.success
        ? mae(
            test.map((t) => predictDuration(current.data, t).minutes),
            actual,
          )
        : null,
    },
    { train: train.length, test: test.length },
    { global_mean_minutes: mean },
    input.currentScope?.duration ?? null,
  );
}

/** The range around a prediction from the held-out residuals (log space), when there are enough. */
function withHeldOutRange(
  params: ReturnType<typeof trainDuration>,
  test: readonly TaskSample[],
): ReturnType<typeof trainDuration> {
  if (test.length < MIN_TEST_ROWS) return params;
  const residuals = test
    .map((t) => Math.log(Math.max(1, t.actual!)) - predictRidge(params, modelFeatures(params, t)))
    .sort((a, b) => a - b);
  return { ...params, low: quantile(residuals, 0.2), high: quantile(residuals, 0.8) };
}

export function trainDifficultyKind(input: TrainingInput): KindOutcome {
  const rows = rowsFor("difficulty", input, rated(input.tasks), "tasks with a difficulty");
  if (isSkipped(rows)) return rows;
  const { train, test } = splitHeldOut(rows);
  const params = trainDifficulty(train);
  const actual = test.map((t) => t.difficulty!);
  const predicted = test.map((t) => predictDifficulty(params, t));
  const mode = modeDifficulty(train);
  const mean = meanDifficulty(train);
  const current = DifficultyParamsSchema.safeParse(input.current.difficulty);
  return outcome(
    "difficulty",
    params,
    {
      metric: "mae_levels",
      value: mae(predicted, actual),
      baselines: {
        most_common: mae(
          test.map(() => mode),
          actual,
        ),
        global_mean: mae(
          test.map(() => mean),
          actual,
        ),
      },
      current: current.success
        ? mae(
            test.map((t) => predictDifficulty(current.data, t)),
            actual,
          )
        : null,
    },
    { train: train.length, test: test.length },
    {
      accuracy: accuracy(predicted, actual),
      within_one: accuracy(predicted, actual, 1),
      baseline_accuracy: accuracy(
        test.map(() => mode),
        actual,
      ),
    },
    input.currentScope?.difficulty ?? null,
  );
}

export function trainEnergyKind(input: TrainingInput): KindOutcome {
  const rows = rowsFor("energy", input, input.checkins, "energy check-ins");
  if (isSkipped(rows)) return rows;
  const { train, test } = splitHeldOut(rows);
  const params = trainEnergy(train);
  const actual = test.map((c) => levelValue(c.level));
  const current = EnergyParamsSchema.safeParse(input.current.energy);
  return outcome(
    "energy",
    params,
    {
      metric: "mae_levels",
      value: mae(
        test.map((c) => energyAt(params, c.hour).expected),
        actual,
      ),
      baselines: {
        user_mean: mae(
          test.map(() => params.mean),
          actual,
        ),
      },
      current: current.success
        ? mae(
            test.map((c) => energyAt(current.data, c.hour).expected),
            actual,
          )
        : null,
    },
    { train: train.length, test: test.length },
    {},
    input.currentScope?.energy ?? null,
  );
}

export function trainBestTimeKind(input: TrainingInput): KindOutcome {
  const rows = rowsFor(
    "best_time",
    input,
    comparable(input.tasks),
    "timed tasks with an estimate and category",
  );
  if (isSkipped(rows)) return rows;
  const { train, test } = splitHeldOut(rows);
  const params = trainBestTime(train);
  const current = BestTimeParamsSchema.safeParse(input.current.best_time);
  return outcome(
    "best_time",
    params,
    {
      metric: "brier_on_time",
      value: brier(
        test.map((t) => onTimeChance(params, t)),
        test,
      ),
      baselines: {
        overall_rate: brier(
          test.map(() => params.overall_rate),
          test,
        ),
      },
      current: current.success
        ? brier(
            test.map((t) => onTimeChance(current.data, t)),
            test,
          )
        : null,
    },
    { train: train.length, test: test.length },
    {},
    input.currentScope?.best_time ?? null,
  );
}

/** Trains every kind; each kind stands alone (one skipped does not hold the others back). */
export function trainAll(input: TrainingInput): KindOutcome[] {
  return [
    trainDurationKind(input),
    trainDifficultyKind(input),
    trainEnergyKind(input),
    trainBestTimeKind(input),
  ];
}
