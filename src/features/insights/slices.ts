/**
 * How rollup rows become the slices patterns compare: local hours grouped into 3-hour blocks, local
 * days into weekdays, and the energy and category slices as the rollups keep them. Keys are stable
 * (they name a slice in the API); labels are what people read.
 */
import type { LocalDate } from "../../lib/time";

export const PATTERN_DIMENSIONS = ["hour", "weekday", "energy", "category"] as const;
export type PatternDimension = (typeof PATTERN_DIMENSIONS)[number];

/** Hours are grouped: one hour holds too few sessions to say anything, three often do. */
export const HOUR_BLOCK = 3;

const pad = (n: number) => String(n).padStart(2, "0");

/** The 3-hour block an hour ("00"–"23") falls in, keyed "09-12"; undefined for a malformed hour. */
export function hourBlockOf(hourKey: string): string | undefined {
  const hour = Number(hourKey);
  if (!Number.isInteger(hour) || hour < 0 || hour > 23 || hourKey.trim() === "") return undefined;
  const start = hour - (hour % HOUR_BLOCK);
  return `${pad(start)}-${pad(start + HOUR_BLOCK)}`;
}

/** Every hour block, in the order of the day. */
export const HOUR_BLOCKS: readonly string[] = Array.from(
  { length: 24 / HOUR_BLOCK },
  (_, i) => `${pad(i * HOUR_BLOCK)}-${pad((i + 1) * HOUR_BLOCK)}`,
);

export const WEEKDAYS = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The weekday of a calendar date (the date is already local: no zone involved). */
export function weekdayOf(day: LocalDate): Weekday {
  const sundayFirst = new Date(`${day}T00:00:00Z`).getUTCDay();
  return WEEKDAYS[(sundayFirst + 6) % 7] as Weekday;
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** What people read for a slice: "9:00–12:00", "Tuesday", "low energy", "Work". */
export function labelOf(dimension: PatternDimension, key: string): string {
  switch (dimension) {
    case "hour": {
      const [from = "", to = ""] = key.split("-");
      return `${Number(from)}:00–${Number(to)}:00`;
    }
    case "weekday":
      return capitalise(key);
    case "energy":
      return `${key} energy`;
    case "category":
      return key;
  }
}

/** Where a slice is, inside a sentence: "between 9:00 and 12:00", "on Tuesdays", "at low energy". */
export function wherePhrase(dimension: PatternDimension, key: string): string {
  switch (dimension) {
    case "hour": {
      const [from = "", to = ""] = key.split("-");
      return `between ${Number(from)}:00 and ${Number(to)}:00`;
    }
    case "weekday":
      return `on ${capitalise(key)}s`;
    case "energy":
      return `at ${key} energy`;
    case "category":
      return `on ${key} tasks`;
  }
}

/** The rest of the dimension, inside a sentence. */
export function elsewherePhrase(dimension: PatternDimension): string {
  switch (dimension) {
    case "hour":
      return "at other times";
    case "weekday":
      return "on other days";
    case "energy":
      return "at other energy levels";
    case "category":
      return "in other categories";
  }
}

/** A stable order of a dimension's keys: the day's hours, Monday first, low to high, then by name. */
export function compareKeys(dimension: PatternDimension, a: string, b: string): number {
  if (dimension === "weekday") return WEEKDAYS.indexOf(a as Weekday) - WEEKDAYS.indexOf(b as Weekday);
  if (dimension === "energy") {
    const order = ["low", "medium", "high"];
    return order.indexOf(a) - order.indexOf(b);
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
