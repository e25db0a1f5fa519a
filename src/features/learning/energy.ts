/**
 * Energy by local hour, from check-ins (low = 1, medium = 2, high = 3): per hour a Dirichlet posterior
 * over the three levels whose prior is the user's overall mix (strength PRIOR_STRENGTH check-ins),
 * with each hour also borrowing half the counts of its neighbours (energy changes smoothly through a
 * day). An hour without check-ins answers the user's overall mix; a well-sampled hour its own.
 */
import { z } from "@hono/zod-openapi";
import { ENERGY_SCALE, type EnergyLevel } from "../../db/schema/analytics";

export const PRIOR_STRENGTH = 4;
const NEIGHBOUR_WEIGHT = 0.5;
/** The prior mix when nothing is known: mostly medium. */
export const PRIOR_MIX: readonly [number, number, number] = [0.25, 0.5, 0.25];

export interface EnergySample {
  id: string;
  /** Whose check-in: the population's training counts people by it. */
  userId?: string;
  /** Local hour (0–23) of the check-in. */
  hour: number;
  level: EnergyLevel;
}

export const levelValue = (level: EnergyLevel) => ENERGY_SCALE.indexOf(level) + 1;

export const EnergyParamsSchema = z.object({
  /** Per hour 0–23: the probabilities of low, medium, high. */
  hours: z.array(z.array(z.number()).length(3)).length(24),
  /** Check-ins seen per hour. */
  counts: z.array(z.number()).length(24),
  /** The user's mean level over all check-ins (the baseline). */
  mean: z.number(),
});
export type EnergyParams = z.infer<typeof EnergyParamsSchema>;

export function trainEnergy(samples: readonly EnergySample[]): EnergyParams {
  const perHour = Array.from({ length: 24 }, () => [0, 0, 0]);
  const overall = [0, 0, 0];
  for (const s of samples) {
    const i = levelValue(s.level) - 1;
    const hour = perHour[((s.hour % 24) + 24) % 24];
    if (hour) hour[i] = hour[i]! + 1;
    overall[i] = overall[i]! + 1;
  }
  const total = samples.length;
  const prior = overall.map((c, i) => (c + PRIOR_STRENGTH * PRIOR_MIX[i]!) / (total + PRIOR_STRENGTH));
  const hours = perHour.map((_, h) => {
    const own = perHour[h]!;
    const before = perHour[(h + 23) % 24]!;
    const after = perHour[(h + 1) % 24]!;
    const pooled = own.map((c, i) => c + NEIGHBOUR_WEIGHT * (before[i]! + after[i]!));
    const n = pooled.reduce((a, b) => a + b, 0);
    return pooled.map((c, i) => (c + PRIOR_STRENGTH * prior[i]!) / (n + PRIOR_STRENGTH));
  });
  const mean = total > 0 ? samples.reduce((s, c) => s + levelValue(c.level), 0) / total : 2;
  return { hours, counts: perHour.map((c) => c.reduce((a, b) => a + b, 0)), mean };
}

export interface HourEnergy {
  hour: number;
  level: EnergyLevel;
  probability: number;
  /** The expected level on the 1–3 scale. */
  expected: number;
  samples: number;
}

export function energyAt(params: EnergyParams, hour: number): HourEnergy {
  const h = ((hour % 24) + 24) % 24;
  // Params are 24 hours of three probabilities each (trainEnergy, and EnergyParamsSchema for stored ones).
  const p = params.hours[h]!;
  let best = 0;
  for (let i = 1; i < 3; i++) if (p[i]! > p[best]!) best = i;
  return {
    hour: h,
    level: ENERGY_SCALE[best]!,
    probability: p[best]!,
    expected: p.reduce((s, v, i) => s + v * (i + 1), 0),
    samples: params.counts[h]!,
  };
}

/** The prior answer before any check-in: the prior mix at every hour. */
export const priorEnergy = (): EnergyParams => trainEnergy([]);

/** The hours with the highest expected energy (best first). */
export function bestHours(params: EnergyParams, count = 3): number[] {
  return Array.from({ length: 24 }, (_, h) => energyAt(params, h))
    .sort((a, b) => b.expected - a.expected || a.hour - b.hour)
    .slice(0, count)
    .map((e) => e.hour);
}
