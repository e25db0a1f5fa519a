/** The facts insights read off the rollups (days, hour blocks, categories), and how they say them. */
import { addDays, type LocalDate } from "../../lib/time";
import { type Counters, sumCounters } from "../analytics/rollup-queries";
import type { InsightInput } from "./insight-kinds";
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
  today: LocalDate;
  byDay: Map<LocalDate, Counters>;
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
    today: input.today,
    byDay,
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
