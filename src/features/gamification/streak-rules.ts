import { DAILY_FREEZES, type FreezeRules } from "../../lib/streaks";
import { perksAt } from "../pets/growth";

/** The daily streak's freeze rules for a user: a pet with Streak Shield lets them hold one more freeze. */
export function streakRulesFor(petLevel: number | null | undefined): FreezeRules {
  if (!petLevel) return DAILY_FREEZES;
  return { ...DAILY_FREEZES, max: Math.max(DAILY_FREEZES.max, perksAt(petLevel).maxStreakFreezes) };
}
