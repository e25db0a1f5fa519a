/**
 * Synthetic histories for patterns and insights: a person's days as rollup rows (the input of every
 * analytics read), drawn from a seeded PRNG so each history is the same on every run. Rates can depend
 * on the hour, weekday, energy and category of what happened — or on nothing (pure noise).
 */

import { type Counters, ZERO_COUNTERS } from "../../src/features/analytics/rollup-queries";
import type { RollupInput } from "../../src/features/insights/patterns";
import { seededRandom } from "../../src/lib/seeded-random";
import { addDays, type LocalDate } from "../../src/lib/time";

export const CATEGORIES = ["Work", "Personal", "Health", "Academic", "Creative"] as const;
export const ENERGIES = ["low", "medium", "high"] as const;

/** Where and when one thing happened: what rates may depend on. */
export interface Moment {
  hour: number;
  /** ISO weekday, 1 = Monday. */
  weekday: number;
  energy: (typeof ENERGIES)[number] | null;
  category: (typeof CATEGORIES)[number] | null;
}

export interface HistorySpec {
  seed: string;
  /** The last day (the user's local today). */
  to: LocalDate;
  days: number;
  /** Mean focus sessions per day. */
  sessionsPerDay?: number;
  /** Mean timed tasks (estimate and actual time) per day. */
  timedPerDay?: number;
  /** Mean energy check-ins per day. */
  checkinsPerDay?: number;
  /** The chance a day has steps done, and the mean steps on such a day. */
  activeDayRate?: number | ((m: { weekday: number }) => number);
  stepsPerActiveDay?: number;
  /** The chance a focus session is finished, a timed task comes in within its estimate, a check-in says low. */
  focusCompletion?: (m: Moment) => number;
  onTime?: (m: Moment) => number;
  lowEnergy?: (m: Moment) => number;
  /** How long timed tasks take against their estimate (actual = estimate × this). */
  overrun?: (m: Moment) => number;
  /** Hours things happen at (weights by hour 0–23); daytime by default. */
  hourWeights?: readonly number[];
  /** Day-to-day swings of every rate (± this, uniformly): a good day and a hard day. */
  daySwing?: number;
}

const DAYTIME = Array.from({ length: 24 }, (_, h) => (h >= 8 && h <= 22 ? (h >= 9 && h <= 17 ? 3 : 1) : 0));

type Row = RollupInput;

function poisson(random: () => number, mean: number): number {
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k++;
    p *= random();
  }
  return k;
}

function pick<T>(random: () => number, items: readonly T[], weights?: readonly number[]): T {
  const w = weights ?? items.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  let r = random() * total;
  for (let i = 0; i < items.length; i++) {
    r -= w[i] ?? 0;
    if (r < 0) return items[i] as T;
  }
  return items[items.length - 1] as T;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** The weekday (1 = Monday) of a calendar date. */
export function isoWeekday(day: LocalDate): number {
  return ((new Date(`${day}T00:00:00Z`).getUTCDay() + 6) % 7) + 1;
}

/** A history as rollup rows: per day, its total, and its hour, category and energy slices. */
export function generateHistory(spec: HistorySpec): Row[] {
  const random = seededRandom(spec.seed);
  const hours = Array.from({ length: 24 }, (_, h) => h);
  const weights = spec.hourWeights ?? DAYTIME;
  const rows: Row[] = [];
  for (let i = spec.days - 1; i >= 0; i--) {
    const day = addDays(spec.to, -i);
    const weekday = isoWeekday(day);
    const swing = spec.daySwing ? (random() * 2 - 1) * spec.daySwing : 0;
    const slices = new Map<string, Row>();
    const slice = (dim: Row["dim"], key: string): Counters => {
      const id = `${dim}|${key}`;
      let row = slices.get(id);
      if (!row) {
        row = { day, dim, key, ...ZERO_COUNTERS };
        slices.set(id, row);
      }
      return row;
    };
    const moment = (): Moment => ({
      hour: pick(random, hours, weights),
      weekday,
      energy: random() < 0.7 ? pick(random, ENERGIES, [1, 2, 1.5]) : null,
      category: random() < 0.85 ? pick(random, CATEGORIES, [4, 3, 1, 1, 1]) : null,
    });
    const countIn = (m: Moment, apply: (c: Counters) => void) => {
      apply(slice("all", ""));
      apply(slice("hour", String(m.hour).padStart(2, "0")));
      if (m.energy) apply(slice("energy", m.energy));
      if (m.category) apply(slice("category", m.category));
    };

    for (let s = poisson(random, spec.sessionsPerDay ?? 1.5); s > 0; s--) {
      const m = moment();
      const done = random() < clamp01((spec.focusCompletion?.(m) ?? 0.6) + swing);
      const minutes = 10 + Math.floor(random() * 40);
      countIn(m, (c) => {
        c.focusSessions += 1;
        c.focusCompleted += done ? 1 : 0;
        c.focusSeconds += minutes * 60;
        c.interruptions += random() < 0.3 ? 1 : 0;
      });
    }
    for (let t = poisson(random, spec.timedPerDay ?? 0.5); t > 0; t--) {
      const m = moment();
      const onTime = random() < clamp01((spec.onTime?.(m) ?? 0.55) + swing);
      const estimate = 5 + Math.floor(random() * 55);
      const actual = Math.max(1, Math.round(estimate * (spec.overrun?.(m) ?? 1.1) * (0.7 + random() * 0.6)));
      countIn(m, (c) => {
        c.tasksCompleted += 1;
        c.timedTasks += 1;
        c.onTimeTasks += onTime ? 1 : 0;
        c.estimatedMinutes += estimate;
        c.actualMinutes += actual;
      });
    }
    for (let e = poisson(random, spec.checkinsPerDay ?? 1); e > 0; e--) {
      const m = { ...moment(), energy: null, category: null };
      const low = random() < clamp01((spec.lowEnergy?.(m) ?? 0.3) + swing);
      const level = low ? "energyLow" : random() < 0.55 ? "energyMedium" : "energyHigh";
      countIn(m, (c) => {
        c[level] += 1;
      });
    }
    const activeRate =
      typeof spec.activeDayRate === "function"
        ? spec.activeDayRate({ weekday })
        : (spec.activeDayRate ?? 0.75);
    if (random() < clamp01(activeRate)) {
      for (let s = 1 + poisson(random, (spec.stepsPerActiveDay ?? 6) - 1); s > 0; s--) {
        const m = moment();
        countIn(m, (c) => {
          c.stepsCompleted += 1;
          c.xp += 10;
        });
      }
      slice("all", "").tasksCreated += poisson(random, 1.5);
    }
    rows.push(...slices.values());
  }
  return rows;
}
