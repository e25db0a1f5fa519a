/** The facts insights read off the rollups (days, hour blocks, categories), and how they say them. */
import { addDays, type LocalDate } from "../../lib/time";
import { type Counters, sumCounters } from "../analytics/rollup-queries";
import type { InsightInput, StreakFact } from "./insight-kinds";
import type { RollupInput } from "./patterns";
import { hourBlockOf, WEEKDAYS, weekdayOf } from "./slices";

export const percent = (rate: number) => `${Math.round(rate * 100)}%`;
export const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

/** "Tuesday 14 May": a local date as people say it. */
export function spokenDate(day: LocalDate): string {
  const [, month = 1, date = 1] = day.split("-").map(Number);
  const weekday = weekdayOf(day);
  return `${weekday.charAt(0).toUpperCase()}${weekday.slice(1)} ${date} ${MONTHS[month - 1]}`;
}

/** The Monday starting the week `day` is in. */
export const mondayOf = (day: LocalDate) => addDays(day, -WEEKDAYS.indexOf(weekdayOf(day)));

export interface Facts {
  days: number;
  /** The range's first day. */
  from: LocalDate;
  today: LocalDate;
  /** The local hour now: today's hours before it have passed. */
  hour: number;
  streak: StreakFact | undefined;
  byDay: Map<LocalDate, Counters>;
  /** The hour slices, day by day: to cut a past day at the hour it is now. */
  hourRows: readonly RollupInput[];
  total: Counters;
  byHourBlock: Map<string, Counters>;
  byCategory: Map<string, Counters>;
}

export function factsOf(input: InsightInput): Facts {
  const group = (dim: RollupInput["dim"], keyOf: (r: RollupInput) => string | undefined) => {
    const map = new Map<string, RollupInput[]>();
    for (const row of input.rows) {
      if (row.dim !== dim) continue;
      const key = keyOf(row);
      if (key === undefined) continue;
      const list = map.get(key) ?? [];
      list.push(row);
      map.set(key, list);
    }
    return new Map([...map].map(([k, rows]) => [k, sumCounters(rows)]));
  };
  const byDay = group("all", (r) => r.day);
  return {
    days: input.days,
    from: addDays(input.today, 1 - input.days),
    today: input.today,
    hour: input.hour,
    streak: input.streak,
    byDay,
    hourRows: input.dayHours ?? input.rows.filter((r) => r.dim === "hour"),
    total: sumCounters([...byDay.values()]),
    byHourBlock: group("hour", (r) => hourBlockOf(r.key)),
    byCategory: group("category", (r) => (r.key === "" ? undefined : r.key)),
  };
}

export function sumDays(facts: Facts, from: LocalDate, to: LocalDate): Counters {
  const rows: Counters[] = [];
  for (let day = from; day <= to; day = addDays(day, 1)) {
    const row = facts.byDay.get(day);
    if (row) rows.push(row);
  }
  return sumCounters(rows);
}

/** The counters of `day` in the hours before `hour` (its hour slices): that day, cut at this time of day. */
export function sumHoursBefore(facts: Facts, day: LocalDate, hour: number): Counters {
  return sumCounters(facts.hourRows.filter((r) => r.day === day && Number(r.key) < hour));
}
