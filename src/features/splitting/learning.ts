import type { StepRating } from "../../db/schema/splitting";
import type { TaskCategory } from "../../db/schema/tasks";
import type { LearnedSizing } from "./sizing";

/** One rated step, as the learner reads it. */
export interface RatedStep {
  rating: StepRating;
  estimated_minutes: number;
  actual_minutes: number | null;
  /** How many steps its task had. */
  step_count: number;
}

/** The running state per user and category: moving averages and how many of each rating. */
export interface PreferenceState {
  step_minutes: number;
  step_count: number;
  just_right: number;
  too_large: number;
  too_small: number;
}

export interface LearnedPreference extends LearnedSizing {
  category: TaskCategory;
  samples: number;
  just_right: number;
  too_large: number;
  too_small: number;
}

/** Each new rating moves the averages 30% of the way: recent ratings count most. */
export const ALPHA = 0.3;
const SHRINK = 0.6;
const GROW = 1.5;

const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

/** The step size this rating says would have been right. */
function idealMinutes(step: RatedStep): number {
  const took = step.actual_minutes ?? step.estimated_minutes;
  switch (step.rating) {
    case "just_right":
      return took;
    case "too_large":
      return Math.min(step.estimated_minutes, took) * SHRINK;
    case "too_small":
      return Math.max(step.estimated_minutes, took) * GROW;
  }
}

/** The step count this rating says would have been right: finer work means more steps. */
function idealCount(step: RatedStep): number {
  if (step.rating === "too_large") return step.step_count + 1;
  if (step.rating === "too_small") return step.step_count - 1;
  return step.step_count;
}

/**
 * One rating folded in. Rating a step again moves its count from the old rating to the new one
 * (the averages take the new rating as one more signal).
 */
export function updatePreference(
  previous: PreferenceState | undefined,
  step: RatedStep,
  replacedRating?: StepRating,
): PreferenceState {
  const m = clamp(idealMinutes(step), 1, 10);
  const c = clamp(idealCount(step), 2, 10);
  const next: PreferenceState = previous
    ? {
        ...previous,
        step_minutes: previous.step_minutes + ALPHA * (m - previous.step_minutes),
        step_count: previous.step_count + ALPHA * (c - previous.step_count),
      }
    : { step_minutes: m, step_count: c, just_right: 0, too_large: 0, too_small: 0 };
  if (replacedRating && next[replacedRating] > 0) next[replacedRating]--;
  next[step.rating]++;
  return next;
}

/**
 * What the state means for the next split. Confidence grows with samples (3 → 0.43, 10 → 0.71, at
 * most 0.9) so one odd rating never swings a split far.
 */
export function learnedFrom(category: TaskCategory, state: PreferenceState): LearnedPreference {
  const samples = state.just_right + state.too_large + state.too_small;
  return {
    category,
    step_minutes: Math.round(clamp(state.step_minutes, 1, 10) * 10) / 10,
    step_count: Math.round(clamp(state.step_count, 2, 10)),
    confidence: Math.round(Math.min(0.9, samples / (samples + 4)) * 100) / 100,
    samples,
    just_right: state.just_right,
    too_large: state.too_large,
    too_small: state.too_small,
  };
}
