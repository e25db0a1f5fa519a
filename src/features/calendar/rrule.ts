/**
 * RRULE (§3.3.10) for the rules people's calendars are made of — FREQ=DAILY, WEEKLY, MONTHLY, YEARLY
 * with INTERVAL, COUNT, UNTIL, BYDAY (weekly; monthly with or without an ordinal such as 2MO or -1FR),
 * BYMONTHDAY (monthly) and WKST — expanded with RDATE and EXDATE over a bounded window. Anything else
 * is reported as unsupported, for the caller to import the item once instead. Occurrences are computed
 * on the event's wall clock, so 09:00 stays 09:00 across a DST change. No I/O.
 */
import {
  type DateContext,
  dateOf,
  type IcsTime,
  instantOf,
  parseTimeValue,
  type WallTime,
} from "./ics-dates";
import { type ContentLine, IcsSyntaxError } from "./ics-parser";

export const FREQUENCIES = ["DAILY", "WEEKLY", "MONTHLY", "YEARLY"] as const;
type Frequency = (typeof FREQUENCIES)[number];
const UNSUPPORTED_FREQUENCIES = new Set(["SECONDLY", "MINUTELY", "HOURLY"]);
/** ISO order: MO is 0 … SU is 6. */
const WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];

/** Periods one rule may be walked through before it is given up on (a daily rule since 1800 …). */
const MAX_PERIODS = 100_000;
/** Periods all the rules of one import may walk through together. */
export const IMPORT_PERIOD_BUDGET = 1_000_000;
const DAY_MS = 86_400_000;

export interface ByDay {
  weekday: number;
  /** 0 for every such weekday of the period; 2 for the second, -1 for the last (monthly). */
  ordinal: number;
}

export interface RRule {
  freq: Frequency;
  interval: number;
  count?: number;
  until?: IcsTime;
  byDay?: ByDay[];
  byMonthDay?: number[];
  wkst: number;
}

export type ParsedRule = { ok: true; rule: RRule } | { ok: false; unsupported: string };

function positiveInteger(value: string, part: string, line: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new IcsSyntaxError(line, `RRULE ${part} must be a positive whole number, not "${value}".`);
  }
  return Number(value);
}

function parseByDay(value: string, line: number): ByDay[] {
  return value.split(",").map((token) => {
    const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/i.exec(token.trim());
    if (!match) throw new IcsSyntaxError(line, `RRULE BYDAY has a bad day "${token}".`);
    const ordinal = match[1] ? Number(match[1]) : 0;
    if (Math.abs(ordinal) > 53 || (match[1] && ordinal === 0)) {
      throw new IcsSyntaxError(line, `RRULE BYDAY has a bad day "${token}".`);
    }
    return { weekday: WEEKDAYS.indexOf((match[2] ?? "").toUpperCase()), ordinal };
  });
}

function parseByMonthDay(value: string, line: number): number[] {
  return value.split(",").map((token) => {
    const day = Number(token.trim());
    if (!/^[+-]?\d{1,2}$/.test(token.trim()) || day === 0 || Math.abs(day) > 31) {
      throw new IcsSyntaxError(line, `RRULE BYMONTHDAY has a bad day "${token}".`);
    }
    return day;
  });
}

/**
 * The rule of an RRULE property. Throws IcsSyntaxError for a rule that is not one (no FREQ, a COUNT
 * that is not a number …); answers `unsupported` for a valid rule this expander does not follow.
 */
export function parseRRule(property: ContentLine, context: DateContext): ParsedRule {
  const parts = new Map<string, string>();
  for (const part of property.value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 1) throw new IcsSyntaxError(property.line, `RRULE part "${part}" is not NAME=VALUE.`);
    parts.set(part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim());
  }
  const line = property.line;
  const freq = parts.get("FREQ")?.toUpperCase();
  if (!freq) throw new IcsSyntaxError(line, "RRULE has no FREQ.");
  if (UNSUPPORTED_FREQUENCIES.has(freq)) return { ok: false, unsupported: `FREQ=${freq}` };
  if (!(FREQUENCIES as readonly string[]).includes(freq)) {
    throw new IcsSyntaxError(line, `RRULE FREQ "${freq}" is not a frequency.`);
  }
  const rule: RRule = { freq: freq as Frequency, interval: 1, wkst: 0 };
  for (const [name, value] of parts) {
    switch (name) {
      case "FREQ":
        break;
      case "INTERVAL":
        rule.interval = positiveInteger(value, name, line);
        break;
      case "COUNT":
        rule.count = positiveInteger(value, name, line);
        break;
      case "UNTIL":
        rule.until = parseTimeValue(value, { ...property, name: "RRULE UNTIL", params: {} }, context);
        break;
      case "WKST": {
        const day = WEEKDAYS.indexOf(value.toUpperCase());
        if (day < 0) throw new IcsSyntaxError(line, `RRULE WKST has a bad day "${value}".`);
        rule.wkst = day;
        break;
      }
      case "BYDAY":
        rule.byDay = parseByDay(value, line);
        break;
      case "BYMONTHDAY":
        rule.byMonthDay = parseByMonthDay(value, line);
        break;
      default:
        return { ok: false, unsupported: name };
    }
  }
  if (rule.byDay && rule.freq !== "WEEKLY" && rule.freq !== "MONTHLY") {
    return { ok: false, unsupported: `BYDAY with FREQ=${rule.freq}` };
  }
  if (rule.byDay && rule.freq === "WEEKLY" && rule.byDay.some((d) => d.ordinal !== 0)) {
    return { ok: false, unsupported: "BYDAY with an ordinal and FREQ=WEEKLY" };
  }
  if (rule.byMonthDay && rule.freq !== "MONTHLY") {
    return { ok: false, unsupported: `BYMONTHDAY with FREQ=${rule.freq}` };
  }
  return { ok: true, rule };
}

// ---- calendar arithmetic on plain dates (UTC midnight stands for a date) ----

const dayNumber = (wall: WallTime) => Date.UTC(wall.year, wall.month - 1, wall.day) / DAY_MS;

function wallOnDay(day: number, time: WallTime): WallTime {
  const d = new Date(day * DAY_MS);
  return { ...time, year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/** ISO weekday of a day number, MO = 0. */
const weekdayOf = (day: number) => (new Date(day * DAY_MS).getUTCDay() + 6) % 7;
const daysInMonth = (year: number, month: number) => new Date(Date.UTC(year, month, 0)).getUTCDate();

/** The days of one month that BYMONTHDAY and BYDAY pick (both given: the days both pick). */
function monthDays(year: number, month: number, rule: RRule, startDay: number): number[] {
  const length = daysInMonth(year, month);
  const first = Date.UTC(year, month - 1, 1) / DAY_MS;
  let days: number[] | undefined;
  if (rule.byMonthDay) {
    days = rule.byMonthDay.map((d) => (d > 0 ? d : length + d + 1)).filter((d) => d >= 1 && d <= length);
  }
  if (rule.byDay) {
    const picked = new Set<number>();
    for (const { weekday, ordinal } of rule.byDay) {
      const matching: number[] = [];
      for (let d = 1; d <= length; d += 1) if (weekdayOf(first + d - 1) === weekday) matching.push(d);
      if (ordinal === 0) for (const d of matching) picked.add(d);
      else {
        const d = ordinal > 0 ? matching[ordinal - 1] : matching[matching.length + ordinal];
        if (d !== undefined) picked.add(d);
      }
    }
    days = days ? days.filter((d) => picked.has(d)) : [...picked];
  }
  // Without either, the start's day of the month; a month without it (the 31st) has no occurrence.
  days ??= startDay <= length ? [startDay] : [];
  return [...new Set(days)].sort((a, b) => a - b).map((d) => first + d - 1);
}

/** The day numbers of period `p` of the rule, in order. */
function periodDays(rule: RRule, start: WallTime, p: number): number[] {
  const startDay = dayNumber(start);
  switch (rule.freq) {
    case "DAILY":
      return [startDay + p * rule.interval];
    case "WEEKLY": {
      const weekStart = startDay - ((weekdayOf(startDay) - rule.wkst + 7) % 7) + p * rule.interval * 7;
      const weekdays = rule.byDay?.map((d) => d.weekday) ?? [weekdayOf(startDay)];
      return [...new Set(weekdays.map((w) => weekStart + ((w - rule.wkst + 7) % 7)))].sort((a, b) => a - b);
    }
    case "MONTHLY": {
      const months = start.month - 1 + p * rule.interval;
      return monthDays(start.year + Math.floor(months / 12), (months % 12) + 1, rule, start.day);
    }
    case "YEARLY": {
      const year = start.year + p * rule.interval;
      return start.day <= daysInMonth(year, start.month)
        ? [Date.UTC(year, start.month - 1, start.day) / DAY_MS]
        : [];
    }
  }
}

/** Whole periods between the start and a day: where a rule without COUNT can begin its walk. */
function periodsBefore(rule: RRule, start: WallTime, day: number): number {
  const days = day - dayNumber(start);
  const target = new Date(day * DAY_MS);
  const months = (target.getUTCFullYear() - start.year) * 12 + target.getUTCMonth() + 1 - start.month;
  const elapsed = {
    DAILY: days,
    WEEKLY: Math.floor(days / 7),
    MONTHLY: months,
    YEARLY: Math.floor(months / 12),
  };
  return Math.max(0, Math.floor(elapsed[rule.freq] / rule.interval) - 1);
}

export interface Occurrence {
  time: IcsTime;
  instant: number;
}

export interface ExpandInput {
  start: IcsTime;
  rule: RRule | undefined;
  rdates: IcsTime[];
  exdates: IcsTime[];
  /** The zone whole days are placed in (the importing person's). */
  zone: string;
  /** Occurrences that end after `from` and start by `to` are answered. */
  from: number;
  to: number;
  durationMs: number;
  maxOccurrences: number;
  /** Periods left to walk for the whole import, shared by its series, so one file cannot run for ever. */
  budget: { periods: number };
}

const sameKind = (start: IcsTime, wall: WallTime): IcsTime => ({ ...start, wall });

/** The key an occurrence is matched on (EXDATE, RECURRENCE-ID): its date for whole days, else its instant. */
export function occurrenceKey(time: IcsTime, zone: string): string {
  return time.kind === "date" ? dateOf(time.wall) : String(instantOf(time, zone));
}

/**
 * The occurrences of a recurring item within the window, DTSTART always the first (§3.8.5.3), COUNT
 * counted from it, UNTIL inclusive, RDATE added and EXDATE removed. `truncated` when there were more
 * than `maxOccurrences` in the window; `incomplete` when the rule was given up on before the window's
 * end (too many periods to walk).
 */
export function expand(input: ExpandInput): {
  occurrences: Occurrence[];
  truncated: boolean;
  incomplete: boolean;
} {
  const { start, rule, zone } = input;
  const startInstant = instantOf(start, zone);
  const untilKey = rule?.until
    ? rule.until.kind === "date" || start.kind === "date"
      ? dateOf(rule.until.wall)
      : instantOf(rule.until, zone)
    : undefined;
  const afterUntil = (time: IcsTime, instant: number) =>
    untilKey !== undefined &&
    (typeof untilKey === "string" ? dateOf(time.wall) > untilKey : instant > untilKey);

  const generated: Occurrence[] = [{ time: start, instant: startInstant }];
  let incomplete = false;
  if (rule) {
    const startDay = dayNumber(start.wall);
    const windowDay = Math.floor(input.from / DAY_MS);
    const lastDay = Math.floor(input.to / DAY_MS) + 1;
    // Days this far before the window are counted (COUNT) without the cost of placing them on a clock.
    const farBefore = windowDay - 2 - Math.ceil(Math.max(input.durationMs, 0) / DAY_MS);
    const untilDay = rule.until ? dayNumber(rule.until.wall) : undefined;
    let p = rule.count === undefined ? periodsBefore(rule, start.wall, windowDay) : 0;
    let counted = 1;
    walk: for (let periods = 0; ; periods += 1, p += 1) {
      if (periods >= MAX_PERIODS || input.budget.periods <= 0) {
        incomplete = true;
        break;
      }
      input.budget.periods -= 1;
      for (const day of periodDays(rule, start.wall, p)) {
        // Every candidate has the start's time of day: on the start's day or before, it is not after it.
        if (day <= startDay) continue;
        if (day > lastDay || (untilDay !== undefined && day > untilDay + 1)) break walk;
        if (rule.count !== undefined && counted >= rule.count) break walk;
        if (day < farBefore && (untilDay === undefined || day < untilDay - 1)) {
          counted += 1;
          continue;
        }
        const time = sameKind(start, wallOnDay(day, start.wall));
        const instant = instantOf(time, zone);
        if (afterUntil(time, instant) || instant > input.to) break walk;
        counted += 1;
        generated.push({ time, instant });
      }
    }
  }
  for (const time of input.rdates) generated.push({ time, instant: instantOf(time, zone) });

  const excluded = new Set(input.exdates.map((t) => occurrenceKey(t, zone)));
  // An EXDATE written as a whole day removes that day's occurrence of a timed series too.
  const excludedDays = new Set(input.exdates.filter((t) => t.kind === "date").map((t) => dateOf(t.wall)));
  const seen = new Set<string>();
  const inWindow = generated
    .filter((o) => o.instant + Math.max(input.durationMs, 0) > input.from && o.instant <= input.to)
    .filter((o) => {
      const key = occurrenceKey(o.time, zone);
      if (excluded.has(key) || excludedDays.has(dateOf(o.time.wall)) || seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => a.instant - b.instant);
  return {
    occurrences: inWindow.slice(0, input.maxOccurrences),
    truncated: inWindow.length > input.maxOccurrences,
    incomplete,
  };
}
