/**
 * Daily streaks, derived — never counted up — from the set of local days on which something counted
 * (a completed step for the daily streak, a completed focus session for the focus streak). Replaying
 * the days in order gives the streak, the freezes earned and spent, and the longest streak; a day that
 * arrives late (an offline app syncing) simply joins the set, and the replay repairs the rest. Pure.
 */
import { addDays, daysBetween, type LocalDate } from "./time";

/** How far back active days are read to replay streaks. */
export const STREAK_LOOKBACK_DAYS = 400;

export interface FreezeRules {
  /** One freeze is earned each time the streak reaches a multiple of this many days (0: never). */
  everyDays: number;
  /** Freezes held at once, at most. */
  max: number;
}

/** The daily streak's rules: one freeze per 7 days of streak, at most 2 held (more would make streaks meaningless). */
export const DAILY_FREEZES: FreezeRules = { everyDays: 7, max: 2 };
export const NO_FREEZES: FreezeRules = { everyDays: 0, max: 0 };

export interface StreakState {
  current_days: number;
  longest_days: number;
  freezes_held: number;
  /** Missed days a freeze covered, so the streak went on (most recent last). */
  frozen_days: LocalDate[];
  last_active_day: LocalDate | null;
  /** True when today has no completion yet but the streak is still alive (today is not over). */
  at_risk: boolean;
}

/** Replays `days` (any order, duplicates allowed) up to `today`. */
export function streakState(
  days: Iterable<LocalDate>,
  today: LocalDate,
  rules: FreezeRules = DAILY_FREEZES,
): StreakState {
  const sorted = [...new Set(days)].filter((d) => d <= today).sort();
  let current = 0;
  let longest = 0;
  let freezes = 0;
  const frozen: LocalDate[] = [];
  let previous: LocalDate | null = null;

  /** Covers the days missed after `from` (exclusive) up to `until` (exclusive) with freezes, if there are enough. */
  const bridge = (from: LocalDate, until: LocalDate): boolean => {
    const missed = daysBetween(from, until) - 1;
    if (missed <= 0) return true;
    if (missed > freezes) return false;
    freezes -= missed;
    for (let i = 1; i <= missed; i++) frozen.push(addDays(from, i));
    return true;
  };

  for (const day of sorted) {
    if (previous === null || !bridge(previous, day)) {
      current = 1;
    } else {
      current += 1;
    }
    if (rules.everyDays > 0 && current % rules.everyDays === 0) freezes = Math.min(rules.max, freezes + 1);
    longest = Math.max(longest, current);
    previous = day;
  }

  let atRisk = false;
  if (previous !== null && previous !== today) {
    // Days missed before today: covered by freezes, or the streak is over. Today itself is not missed yet.
    if (bridge(previous, today)) atRisk = true;
    else current = 0;
  }
  return {
    current_days: current,
    longest_days: longest,
    freezes_held: freezes,
    frozen_days: frozen.slice(-30),
    last_active_day: previous,
    at_risk: atRisk && current > 0,
  };
}

/** The longest run among `days`, freezes included (whatever today is). */
export function longestStreak(days: Iterable<LocalDate>, rules: FreezeRules = DAILY_FREEZES): number {
  return streakState(days, "9999-12-31", rules).longest_days;
}
