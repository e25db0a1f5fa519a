/**
 * Patterns: where one of a person's rates (focus sessions finished, timed tasks within their
 * estimate, low-energy check-ins, days with a step done) is clearly different in one slice of their
 * days (an hour block, a weekday, an energy level, a category) than in the rest of that dimension.
 *
 * The rule: a pattern is reported only when its confidence is above 0.7 and it rests on at least 15
 * data points. Confidence is the Bonferroni-adjusted posterior probability that the slice's rate and
 * the rest's differ by more than 10 percentage points in the direction claimed (see `STATISTIC`).
 */

import type { LocalDate } from "../../lib/time";
import { addDays, daysBetween } from "../../lib/time";
import type { RollupRow } from "../analytics/rollup-queries";
import {
  compareKeys,
  elsewherePhrase,
  hourBlockOf,
  labelOf,
  PATTERN_DIMENSIONS,
  type PatternDimension,
  weekdayOf,
  wherePhrase,
} from "./slices";
import {
  betaMean,
  bonferroniConfidence,
  posterior,
  probabilityExceedsBy,
  wilsonInterval,
} from "./statistics";

export const MIN_CONFIDENCE = 0.7;
export const MIN_SAMPLES = 15;
/** The smallest difference of rates worth telling someone about: 10 percentage points. */
export const MARGIN = 0.1;

export const STATISTIC = "bonferroni_beta_binomial_margin";
export const STATISTIC_DEFINITION =
  "Each rate gets a Beta(1 + successes, 1 + failures) posterior (uniform prior). For a slice against the " +
  "rest of its dimension, p = P(rate_slice − rate_rest > 0.10) (or < −0.10 for a lower rate), computed " +
  "by numeric integration of the two Beta posteriors. Confidence = max(0, 1 − 2m·(1 − p)), a Bonferroni " +
  "correction over the 2m one-sided claims that could have been made, m being every slice compared with " +
  "the rest of its dimension (any data in the slice and in the rest, however little: `examined`). A " +
  "pattern is reported when confidence > 0.7 and the slice and the rest each hold at least 15 data points.";

export const PATTERN_METRICS = ["focus_completion", "on_time", "low_energy", "active_days"] as const;
export type PatternMetric = (typeof PATTERN_METRICS)[number];

/** Which dimensions a metric is looked at in (low energy by energy level would say nothing). */
const METRIC_DIMENSIONS: Record<PatternMetric, readonly PatternDimension[]> = {
  focus_completion: ["hour", "weekday", "energy", "category"],
  on_time: ["hour", "weekday", "energy", "category"],
  low_energy: ["hour", "weekday"],
  active_days: ["weekday"],
};

export type RollupInput = Omit<RollupRow, "userId" | "updatedAt">;

export interface Tally {
  successes: number;
  trials: number;
}

/** A counted slice of one metric in one dimension. */
export interface SliceTally extends Tally {
  metric: PatternMetric;
  dimension: PatternDimension;
  key: string;
}

export interface Pattern {
  dimension: PatternDimension;
  key: string;
  label: string;
  metric: PatternMetric;
  rate: number;
  rate_elsewhere: number;
  sample_size: number;
  sample_size_elsewhere: number;
  /** 95% Wilson score interval of the slice's rate. */
  interval: { low: number; high: number };
  confidence: number;
  direction: "higher" | "lower";
  sentence: string;
}

export interface PatternReport {
  examined: number;
  patterns: Pattern[];
  /** Every slice counted, examined or not: what insights describe without claiming a pattern. */
  tallies: SliceTally[];
}

type CounterRow = RollupInput;

type RateMetric = Exclude<PatternMetric, "active_days">;
const RATE_METRICS: readonly RateMetric[] = ["focus_completion", "on_time", "low_energy"];

const RATE_OF: Record<RateMetric, (row: CounterRow) => Tally> = {
  focus_completion: (r) => ({ successes: r.focusCompleted, trials: r.focusSessions }),
  on_time: (r) => ({ successes: r.onTimeTasks, trials: r.timedTasks }),
  low_energy: (r) => ({ successes: r.energyLow, trials: r.energyLow + r.energyMedium + r.energyHigh }),
};

/** The slice of `dimension` a row counts in, or undefined when it is not in that dimension. */
function sliceKeyOf(
  row: CounterRow,
  dimension: PatternDimension,
  weekdays: Map<string, string>,
): string | undefined {
  switch (dimension) {
    case "hour":
      return row.dim === "hour" ? hourBlockOf(row.key) : undefined;
    case "weekday": {
      if (row.dim !== "all") return undefined;
      let weekday = weekdays.get(row.day);
      if (weekday === undefined) {
        weekday = weekdayOf(row.day);
        weekdays.set(row.day, weekday);
      }
      return weekday;
    }
    case "energy":
      return row.dim === "energy" && ENERGY_KEYS.has(row.key) ? row.key : undefined;
    case "category":
      return row.dim === "category" && row.key !== "" ? row.key : undefined;
  }
}

const ENERGY_KEYS = new Set(["low", "medium", "high"]);

function add(map: Map<string, Tally>, key: string, t: Tally): void {
  const current = map.get(key) ?? { successes: 0, trials: 0 };
  map.set(key, { successes: current.successes + t.successes, trials: current.trials + t.trials });
}

/**
 * Days with at least one step done, per weekday, out of that weekday's days since the first day with
 * any activity in the range (days before someone started are not days they rested), up to yesterday:
 * today is not over, so it is neither a rest day nor yet a whole day.
 */
function activeDays(rows: readonly CounterRow[], to: LocalDate): Map<string, Tally> {
  const tallies = new Map<string, Tally>();
  const dayRows = rows.filter((r) => r.dim === "all");
  if (dayRows.length === 0) return tallies;
  let first = to;
  for (const r of dayRows) if (r.day < first) first = r.day;
  const active = new Set(dayRows.filter((r) => r.stepsCompleted > 0).map((r) => r.day));
  const span = daysBetween(first, to);
  for (let i = 0; i < span; i++) {
    const day = addDays(first, i);
    add(tallies, weekdayOf(day), { successes: active.has(day) ? 1 : 0, trials: 1 });
  }
  return tallies;
}

/** Counts every metric in every dimension it is looked at in, in one pass over the rows. */
export function tallySlices(rows: readonly CounterRow[], to: LocalDate): SliceTally[] {
  const counted = new Map<string, Map<string, Tally>>();
  const mapOf = (metric: PatternMetric, dimension: PatternDimension) => {
    const id = `${metric}|${dimension}`;
    let map = counted.get(id);
    if (!map) {
      map = new Map();
      counted.set(id, map);
    }
    return map;
  };
  const weekdays = new Map<string, string>();
  for (const row of rows) {
    for (const dimension of PATTERN_DIMENSIONS) {
      const key = sliceKeyOf(row, dimension, weekdays);
      if (key === undefined) continue;
      for (const metric of RATE_METRICS) {
        if (METRIC_DIMENSIONS[metric].includes(dimension))
          add(mapOf(metric, dimension), key, RATE_OF[metric](row));
      }
    }
  }
  counted.set("active_days|weekday", activeDays(rows, to));

  const out: SliceTally[] = [];
  for (const metric of PATTERN_METRICS) {
    for (const dimension of METRIC_DIMENSIONS[metric]) {
      const byKey = counted.get(`${metric}|${dimension}`) ?? new Map<string, Tally>();
      const keys = [...byKey.keys()].sort((a, b) => compareKeys(dimension, a, b));
      for (const key of keys) {
        const t = byKey.get(key) as Tally;
        if (t.trials > 0) out.push({ metric, dimension, key, ...t });
      }
    }
  }
  return out;
}

const percent = (rate: number) => `${Math.round(rate * 100)}%`;

function subjectOf(metric: PatternMetric, dimension: PatternDimension, key: string): string {
  const where = wherePhrase(dimension, key);
  if (metric === "focus_completion") {
    return dimension === "hour" ? `the focus sessions you start ${where}` : `your focus sessions ${where}`;
  }
  if (metric === "on_time") {
    return dimension === "category" ? `your timed ${key} tasks` : `the timed tasks you finish ${where}`;
  }
  return where;
}

/** The plain sentence of a pattern: the two rates and how many data points the slice holds. */
export function sentenceOf(
  p: Pick<Pattern, "metric" | "dimension" | "key" | "rate" | "rate_elsewhere" | "sample_size">,
): string {
  const elsewhere = elsewherePhrase(p.dimension);
  const subject = subjectOf(p.metric, p.dimension, p.key);
  const rate = percent(p.rate);
  const other = percent(p.rate_elsewhere);
  switch (p.metric) {
    case "focus_completion":
      return `You finish ${rate} of ${subject}, against ${other} ${elsewhere} (${p.sample_size} sessions).`;
    case "on_time":
      return `${rate} of ${subject} come in within their estimate, against ${other} ${elsewhere} (${p.sample_size} tasks).`;
    case "low_energy":
      return `${rate} of your energy check-ins ${subject} say low, against ${other} ${elsewhere} (${p.sample_size} check-ins).`;
    case "active_days": {
      const day = wherePhrase(p.dimension, p.key).replace(/^on /, "");
      return `You get at least one step done on ${rate} of ${day}, against ${other} of other days (${p.sample_size} ${day}).`;
    }
  }
}

/** Confidence rounded down to 3 decimals, so a reported 0.7 is never a rounded 0.6996. */
const floor3 = (x: number) => Math.floor(x * 1000) / 1000;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Finds the patterns in a range of rollup rows ending on `to` (the user's local today). */
export function findPatterns(rows: readonly CounterRow[], to: LocalDate): PatternReport {
  const tallies = tallySlices(rows, to);
  const totals = new Map<string, Tally>();
  for (const t of tallies) add(totals, `${t.metric}|${t.dimension}`, t);

  const compared = tallies.flatMap((t) => {
    const total = totals.get(`${t.metric}|${t.dimension}`) as Tally;
    const rest = { successes: total.successes - t.successes, trials: total.trials - t.trials };
    return rest.trials > 0 ? [{ slice: t, rest }] : [];
  });
  // Every comparison counts against the claims, even those too small to report: they were looked at.
  const claims = 2 * compared.length;

  const patterns: Pattern[] = [];
  for (const { slice, rest } of compared) {
    if (slice.trials < MIN_SAMPLES || rest.trials < MIN_SAMPLES) continue;
    const mine = posterior(slice.successes, slice.trials);
    const theirs = posterior(rest.successes, rest.trials);
    // The claim worth testing points the way the posteriors lean; the other way is far less likely.
    const direction = betaMean(mine) >= betaMean(theirs) ? "higher" : "lower";
    const probability =
      direction === "higher"
        ? probabilityExceedsBy(mine, theirs, MARGIN)
        : probabilityExceedsBy(theirs, mine, MARGIN);
    const confidence = floor3(bonferroniConfidence(probability, claims));
    if (!(confidence > MIN_CONFIDENCE)) continue;
    const interval = wilsonInterval(slice.successes, slice.trials);
    const pattern: Omit<Pattern, "sentence"> = {
      dimension: slice.dimension,
      key: slice.key,
      label: labelOf(slice.dimension, slice.key),
      metric: slice.metric,
      rate: round3(slice.successes / slice.trials),
      rate_elsewhere: round3(rest.successes / rest.trials),
      sample_size: slice.trials,
      sample_size_elsewhere: rest.trials,
      interval: { low: round3(interval.low), high: round3(interval.high) },
      confidence,
      direction,
    };
    patterns.push({ ...pattern, sentence: sentenceOf(pattern) });
  }
  patterns.sort((a, b) => b.confidence - a.confidence || b.sample_size - a.sample_size);
  return { examined: compared.length, patterns, tallies };
}
