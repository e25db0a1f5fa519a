/**
 * What the original app's onboarding answers mean to the splitter (plan §4.2): only where they say what
 * the splitter's own inputs say. A time window → the energy a split is sized for; the support level →
 * how hard work feels (the difficulty, which makes steps finer).
 */

import { localClock } from "../../lib/time";
import type { Energy } from "../splitting/plan";

export interface OnboardingForSplit {
  adhd_support_level: number | null;
  daily_schedule: Record<string, unknown> | null;
}

const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** The bands of the app's `timePreference`, as [start, end) minutes of the local day (night wraps). */
const BANDS: Readonly<Record<string, readonly [number, number]>> = {
  early_morning: [5 * 60, 8 * 60],
  morning: [8 * 60, 12 * 60],
  afternoon: [12 * 60, 17 * 60],
  evening: [17 * 60, 21 * 60],
  night: [21 * 60, 5 * 60],
};

function minuteOf(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = HH_MM.exec(value);
  return m ? Number(m[1]) * 60 + Number(m[2]) : undefined;
}

function within(minute: number, [start, end]: readonly [number, number]): boolean {
  return start <= end ? minute >= start && minute < end : minute >= start || minute < end;
}

/** The hours a person said they work well in, from either spelling the schedule may carry. */
export function workWindow(schedule: Record<string, unknown> | null): readonly [number, number] | undefined {
  if (!schedule) return undefined;
  const start = minuteOf(schedule.preferredStartTime ?? schedule.preferred_start_time);
  const end = minuteOf(schedule.preferredEndTime ?? schedule.preferred_end_time);
  if (start !== undefined && end !== undefined && start !== end) return [start, end];
  const band = schedule.timePreference ?? schedule.time_preference;
  return typeof band === "string" ? BANDS[band.toLowerCase()] : undefined;
}

/**
 * Energy when the request says none: inside the person's good hours → medium (the splitter's usual
 * default), outside them → low (gentler, smaller steps). No window → no opinion.
 */
export function energyFromProfile(
  profile: OnboardingForSplit | undefined,
  timeZone: string,
  now: number,
): Energy | undefined {
  const window = workWindow(profile?.daily_schedule ?? null);
  if (!window) return undefined;
  return within(localClock(timeZone, now).minute, window) ? "medium" : "low";
}

/** How much support a person asked for (1–10) as how hard work feels to them (1–5; harder → finer steps). */
export function difficultyFromProfile(profile: OnboardingForSplit | undefined): number | undefined {
  const level = profile?.adhd_support_level;
  if (level === null || level === undefined) return undefined;
  if (level <= 2) return 2;
  if (level <= 6) return 3;
  if (level <= 8) return 4;
  return 5;
}
