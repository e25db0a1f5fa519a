import type { Scope } from "../../db/schema/splitting";
import { MAX_STEP_MINUTES, MIN_STEP_MINUTES } from "../tasks/schemas";
import type { Energy } from "./plan";

/** What the user's ratings taught the splitter for one category (see learning.ts). */
export interface LearnedSizing {
  /** Minutes a step should take for this user, learned from ratings. */
  step_minutes: number;
  /** How many steps a task of this category should have, learned from ratings. */
  step_count: number;
  /** 0–1: how much the learned values outweigh the defaults. */
  confidence: number;
}

export const SIMPLE_UNDER_MINUTES = 15;
export const PROJECT_OVER_MINUTES = 120;
export const MIN_STEPS = 3;
export const MAX_STEPS = 7;

const BASE_STEP_MINUTES: Record<Energy, number> = { low: 3, medium: 4, high: 5 };

export function scopeOf(minutes: number): Scope {
  if (minutes < SIMPLE_UNDER_MINUTES) return "SIMPLE";
  return minutes <= PROJECT_OVER_MINUTES ? "MULTI" : "PROJECT";
}

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/**
 * How long one step should be: 3/4/5 minutes at low/medium/high energy, finer as the task feels
 * harder (spiciness 1 → ×1.15 … 5 → ×0.55), pulled towards what the user's ratings taught.
 */
export function targetStepMinutes(
  energy: Energy,
  difficulty: number,
  learned?: LearnedSizing | null,
): number {
  let minutes = BASE_STEP_MINUTES[energy] * (1.3 - 0.15 * clamp(difficulty, 1, 5));
  if (learned && learned.confidence > 0) {
    minutes = minutes * (1 - learned.confidence) + learned.step_minutes * learned.confidence;
  }
  return clamp(minutes, MIN_STEP_MINUTES, MAX_STEP_MINUTES);
}

/** The longest a single step may be: half again the target (2–5 minutes at usual settings), never over 10. */
export function maxStepMinutes(target: number): number {
  return clamp(Math.round(target * 1.5), 2, MAX_STEP_MINUTES);
}

/** How many steps: the user's explicit wish, else the work divided into target-sized steps (3–7). */
export function stepCount(
  totalMinutes: number,
  target: number,
  options: { preferred?: number | null; learned?: LearnedSizing | null; min?: number; max?: number } = {},
): number {
  const min = options.min ?? MIN_STEPS;
  const max = options.max ?? MAX_STEPS;
  if (options.preferred) return options.preferred;
  let n = totalMinutes / target;
  const learned = options.learned;
  if (learned && learned.confidence > 0)
    n = n * (1 - learned.confidence) + learned.step_count * learned.confidence;
  return clamp(Math.round(n), min, max);
}

/**
 * Shares `total` minutes out by weight, each step 1…`max` minutes (rounded by largest remainder so the
 * parts add up whenever the limits allow). The first step is a get-ready step: at most 2 minutes.
 */
export function shareMinutes(total: number, weights: number[], max: number): number[] {
  const [firstWeight, ...restWeights] = weights;
  if (firstWeight === undefined) return [];
  const sum = weights.reduce((a, b) => a + b, 0);
  const first = Math.round(clamp((total * firstWeight) / sum, MIN_STEP_MINUTES, Math.min(2, max)));
  if (restWeights.length === 0) return [first];
  // What the get-ready step does not use goes to the others, by weight.
  const restTotal = clamp(total - first, restWeights.length * MIN_STEP_MINUTES, restWeights.length * max);
  const restSum = restWeights.reduce((a, b) => a + b, 0);
  const raw = restWeights.map((w) => clamp((restTotal * w) / restSum, MIN_STEP_MINUTES, max));
  const minutes = raw.map(Math.floor);
  let left = Math.round(restTotal) - minutes.reduce((a, b) => a + b, 0);
  const order = raw
    .map((r, i) => ({ i, frac: r - Math.floor(r) }))
    .sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if ((minutes[i] ?? max) < max) {
      minutes[i] = (minutes[i] ?? 0) + 1;
      left--;
    }
  }
  return [first, ...minutes];
}
