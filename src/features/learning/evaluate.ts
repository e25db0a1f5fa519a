/**
 * Held-out evaluation and the promotion rule. The split is by a hash of the subject's id, so the same
 * task is always on the same side (and a retrain on more history tests on comparable rows).
 */
import { seedOf } from "../../lib/seeded-random";

/** About one row in five is held out. */
export const HELD_OUT_PERCENT = 20;
/**
 * Fewer held-out rows than this: the metrics are too noisy to promote on. Five, not more: a user with
 * four weeks of two tasks a day (56) holds out about 11, and 10 would refuse a third of such users.
 * The noise a small test set lets through is bounded by the other rule: a new version must also beat
 * what answers now, the population model included.
 */
export const MIN_TEST_ROWS = 5;

export const isHeldOut = (id: string) => seedOf(`held-out:${id}`) % 100 < HELD_OUT_PERCENT;

export function splitHeldOut<T extends { id: string }>(rows: readonly T[]): { train: T[]; test: T[] } {
  const train: T[] = [];
  const test: T[] = [];
  for (const row of rows) (isHeldOut(row.id) ? test : train).push(row);
  return { train, test };
}

export function mae(predicted: readonly number[], actual: readonly number[]): number {
  if (actual.length === 0) return Number.NaN;
  let total = 0;
  for (let i = 0; i < actual.length; i++) total += Math.abs(predicted[i]! - actual[i]!);
  return total / actual.length;
}

/** Share of predictions within `tolerance` of the truth (0: exact). */
export function accuracy(predicted: readonly number[], actual: readonly number[], tolerance = 0): number {
  if (actual.length === 0) return Number.NaN;
  let hits = 0;
  for (let i = 0; i < actual.length; i++)
    if (Math.abs(predicted[i]! - actual[i]!) <= tolerance + 1e-9) hits++;
  return hits / actual.length;
}

export interface PromotionInput {
  /** The candidate's error on the held-out rows (lower is better). */
  candidate: number;
  /** Each baseline's error on the same rows. */
  baselines: Record<string, number>;
  /** The promoted version's error on the same rows, when one exists. */
  current: number | null;
  testRows: number;
}

export interface PromotionDecision {
  promote: boolean;
  reason: string;
}

/**
 * A new version answers predictions only when, on the held-out rows, it beats every baseline and the
 * version answering now; with too few held-out rows, nothing is promoted.
 */
export function decidePromotion(input: PromotionInput): PromotionDecision {
  if (input.testRows < MIN_TEST_ROWS) {
    return { promote: false, reason: `fewer than ${MIN_TEST_ROWS} held-out rows` };
  }
  if (!Number.isFinite(input.candidate)) {
    return { promote: false, reason: "its held-out error is not a number" };
  }
  for (const [name, error] of Object.entries(input.baselines)) {
    if (Number.isFinite(error) && !(input.candidate < error)) {
      return { promote: false, reason: `does not beat the ${name} baseline` };
    }
  }
  if (input.current !== null && Number.isFinite(input.current) && !(input.candidate < input.current)) {
    return { promote: false, reason: "does not beat the promoted version" };
  }
  return { promote: true, reason: "beats the baselines and the promoted version" };
}
