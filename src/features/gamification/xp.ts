/**
 * How much XP a piece of work earns. Pure. The step formula is the product's (PRODUCT.md, BE-04):
 * 10 base + a priority bonus + 1 per 5 estimated minutes (at most 10).
 */
import type { TaskPriority } from "../../db/schema/tasks";

export const STEP_BASE_XP = 10;
/** Critical work earns what high-priority work does: the bonus rewards doing it, not labelling it. */
export const PRIORITY_BONUS: Record<TaskPriority, number> = { critical: 5, high: 5, medium: 3, low: 1 };
export const MINUTES_PER_TIME_BONUS = 5;
export const MAX_TIME_BONUS = 10;

export const TASK_BASE_XP = 20;
/** A whole task's priority bonus is twice a step's; its time bonus is 1 per 10 estimated minutes, at most 20. */
export const TASK_PRIORITY_FACTOR = 2;
export const TASK_MINUTES_PER_TIME_BONUS = 10;
export const TASK_MAX_TIME_BONUS = 20;

/** Focus earns 1 XP per 2 minutes worked (at most 60) and 5 for finishing. */
export const FOCUS_MINUTES_PER_XP = 2;
/** A session stopped before this many minutes is a misclick, not focus: it earns nothing. */
export const MIN_REWARDED_FOCUS_MINUTES = 5;
export const FOCUS_MAX_MINUTE_XP = 60;
export const FOCUS_COMPLETION_XP = 5;

export interface XpBreakdown {
  base: number;
  priority_bonus: number;
  time_bonus: number;
  /** What the work earns before any bonus event. */
  total: number;
}

const priorityOf = (value: unknown): TaskPriority =>
  value === "low" || value === "medium" || value === "high" || value === "critical" ? value : "medium";
const minutesOf = (value: unknown): number =>
  typeof value === "number" && Number.isFinite(value) && value > 0 ? value : 0;

export function stepXp(priority: unknown, estimatedMinutes: unknown): XpBreakdown {
  const priorityBonus = PRIORITY_BONUS[priorityOf(priority)];
  const timeBonus = Math.min(
    Math.floor(minutesOf(estimatedMinutes) / MINUTES_PER_TIME_BONUS),
    MAX_TIME_BONUS,
  );
  return {
    base: STEP_BASE_XP,
    priority_bonus: priorityBonus,
    time_bonus: timeBonus,
    total: STEP_BASE_XP + priorityBonus + timeBonus,
  };
}

export function taskXp(priority: unknown, estimatedMinutes: unknown): XpBreakdown {
  const priorityBonus = PRIORITY_BONUS[priorityOf(priority)] * TASK_PRIORITY_FACTOR;
  const timeBonus = Math.min(
    Math.floor(minutesOf(estimatedMinutes) / TASK_MINUTES_PER_TIME_BONUS),
    TASK_MAX_TIME_BONUS,
  );
  return {
    base: TASK_BASE_XP,
    priority_bonus: priorityBonus,
    time_bonus: timeBonus,
    total: TASK_BASE_XP + priorityBonus + timeBonus,
  };
}

export function focusXp(actualMinutes: unknown): XpBreakdown {
  if (minutesOf(actualMinutes) < MIN_REWARDED_FOCUS_MINUTES) {
    return { base: 0, priority_bonus: 0, time_bonus: 0, total: 0 };
  }
  const timeBonus = Math.min(
    Math.floor(minutesOf(actualMinutes) / FOCUS_MINUTES_PER_XP),
    FOCUS_MAX_MINUTE_XP,
  );
  return {
    base: FOCUS_COMPLETION_XP,
    priority_bonus: 0,
    time_bonus: timeBonus,
    total: FOCUS_COMPLETION_XP + timeBonus,
  };
}

/**
 * Bonus XP events may overlap; their extras add up (double XP plus a 1.5× weekend is 2.5×) but never
 * past this multiplier, so stacking promotions cannot blow up the economy.
 */
export const MAX_XP_MULTIPLIER = 3;

export function combinedMultiplier(multipliers: readonly number[]): number {
  const extra = multipliers.reduce((sum, m) => sum + Math.max(0, m - 1), 0);
  return Math.min(MAX_XP_MULTIPLIER, 1 + extra);
}

/** The extra XP a grant earns inside bonus windows (a ledger row of its own, source event_bonus). */
export function bonusXp(amount: number, multiplier: number): number {
  return Math.max(0, Math.round(amount * (multiplier - 1)));
}

/**
 * XP a day can add to the leaderboards (the UTC day it arrives). A script that farms steps gets no
 * further on the boards than a very full day of real work (about 30 steps, 5 tasks and 4 focus
 * sessions come to some 700 XP); its own level is not capped, since nobody else sees it.
 */
export const BOARD_XP_PER_DAY = 1000;
