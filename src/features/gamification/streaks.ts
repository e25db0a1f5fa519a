/**
 * Daily streaks, derived — never counted up — from the set of local days on which the user completed
 * at least one step. Replaying the days in order gives the streak, the freezes earned and spent, and
 * the longest streak; a completion synced late simply adds its day, and the replay repairs the rest.
 * Pure: no clock, no I/O.
 */
import { addDays, type LocalDate } from "../../lib/time";

/** One freeze is earned each time the streak reaches a multiple of this many days. */
export const FREEZE_EVERY_DAYS = 7;
/** Freezes held at once, at most: more would make streaks meaningless. */
export const MAX_FREEZES = 2;

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

const dayNumber = (day: LocalDate) => Math.round(Date.parse(`${day}T00:00:00Z`) / 86_400_000);

/** Replays `days` (any order, duplicates allowed) up to `today`. */
export function streakState(days: Iterable<LocalDate>, today: LocalDate): StreakState {
  const sorted = [...new Set(days)].filter((d) => d <= today).sort();
  let current = 0;
  let longest = 0;
  let freezes = 0;
  const frozen: LocalDate[] = [];
  let previous: LocalDate | null = null;

  /** Covers the days missed after `from` (exclusive) up to `until` (exclusive) with freezes, if there are enough. */
  const bridge = (from: LocalDate, until: LocalDate): boolean => {
    const missed = dayNumber(until) - dayNumber(from) - 1;
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
    if (current % FREEZE_EVERY_DAYS === 0) freezes = Math.min(MAX_FREEZES, freezes + 1);
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

/** The longest run of days, freezes included: it only ever grows, so badges can rest on it. */
export function longestStreak(days: Iterable<LocalDate>): number {
  return streakState(days, "9999-12-31").longest_days;
}
