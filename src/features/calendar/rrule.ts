/**
 * RRULE (§3.3.10) for the rules people's calendars are made of — FREQ=DAILY, WEEKLY, MONTHLY, YEARLY
 * with INTERVAL, COUNT, UNTIL, WKST, BYDAY (a filter for daily rules; the days of a week; monthly, or
 * yearly within BYMONTH, with or without an ordinal such as 2MO or -1FR), BYMONTHDAY (monthly, yearly
 * within BYMONTH, a filter for daily rules), BYMONTH (the months of a yearly rule, a filter otherwise)
 * and BYSETPOS (the n-th of each period's days: Outlook's "first Monday") — expanded with RDATE and
 * EXDATE over a bounded window. Anything else is reported as unsupported. Occurrences are computed on
 * the event's wall clock, so 09:00 stays 09:00 across a DST change. No I/O.
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

/** Entries one BY-list may hold: no real rule comes near, and each costs work in every period. */
export const MAX_LIST_ENTRIES = 50;
/**
 * Candidate days one rule may be walked through before it is given up on (a rule with COUNT and
 * BYDAY from the year 1000 …). A candidate is a day a period offers before filters: the budget
 * counts work, not periods, so a long BYDAY list costs what it makes.
 */
const MAX_CANDIDATES = 50_000;
/** Candidate days all the rules of one import may walk through together (about 50 ms of work). */
export const IMPORT_CANDIDATE_BUDGET = 100_000;
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
  byMonth?: number[];
  bySetPos?: number[];
  wkst: number;
}

export type ParsedRule = { ok: true; rule: RRule } | { ok: false; unsupported: string };

function positiveInteger(value: string, part: string, line: number): number {
  if (!/^\d{1,9}$/.test(value) || Number(value) < 1) {
    throw new IcsSyntaxError(
      line,
      `RRULE ${part} must be a positive whole number, not "${value.slice(0, 40)}".`,
    );
  }
  return Number(value);
}

/** A comma-separated BY-list, each entry read by `read`, repeats dropped; refused past 50 entries. */
function byList<T>(value: string, part: string, line: number, read: (token: string) => T | undefined): T[] {
  const tokens = value.split(",");
  if (tokens.length > MAX_LIST_ENTRIES) {
    throw new IcsSyntaxError(line, `RRULE ${part} lists more than ${MAX_LIST_ENTRIES} entries.`);
  }
  const seen = new Map<string, T>();
  for (const token of tokens) {
    const entry = read(token.trim());
    if (entry === undefined) {
      throw new IcsSyntaxError(line, `RRULE ${part} has a bad entry "${token.slice(0, 20)}".`);
    }
    seen.set(JSON.stringify(entry), entry);
  }
  return [...seen.values()];
}

/** A signed whole number of at most two (or `digits`) digits within ±max, not 0. */
function signedIn(token: string, max: number, digits = 2): number | undefined {
  if (!new RegExp(`^[+-]?\\d{1,${digits}}$`).test(token)) return undefined;
  const n = Number(token);
  return n === 0 || Math.abs(n) > max ? undefined : n;
}

const parseByDay = (value: string, line: number) =>
  byList(value, "BYDAY", line, (token): ByDay | undefined => {
    const match = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/i.exec(token);
    if (!match) return undefined;
    const ordinal = match[1] ? Number(match[1]) : 0;
    if (Math.abs(ordinal) > 53 || (match[1] && ordinal === 0)) return undefined;
    return { weekday: WEEKDAYS.indexOf((match[2] ?? "").toUpperCase()), ordinal };
  });

/**
 * The rule of an RRULE property. Throws IcsSyntaxError for a rule that is not one (no FREQ, a COUNT
 * that is not a number …); answers `unsupported` for a valid rule this expander does not follow.
 */
export function parseRRule(property: ContentLine, context: DateContext): ParsedRule {
  const parts = new Map<string, string>();
  for (const part of property.value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 1) {
      throw new IcsSyntaxError(property.line, `RRULE part "${part.slice(0, 40)}" is not NAME=VALUE.`);
    }
    parts.set(part.slice(0, eq).trim().toUpperCase(), part.slice(eq + 1).trim());
  }
  const line = property.line;
  const freq = parts.get("FREQ")?.toUpperCase();
  if (!freq) throw new IcsSyntaxError(line, "RRULE has no FREQ.");
  if (UNSUPPORTED_FREQUENCIES.has(freq)) return { ok: false, unsupported: `FREQ=${freq}` };
  if (!(FREQUENCIES as readonly string[]).includes(freq)) {
    throw new IcsSyntaxError(line, `RRULE FREQ "${freq.slice(0, 20)}" is not a frequency.`);
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
        if (day < 0) throw new IcsSyntaxError(line, `RRULE WKST has a bad day "${value.slice(0, 20)}".`);
        rule.wkst = day;
        break;
      }
      case "BYDAY":
        rule.byDay = parseByDay(value, line);
        break;
      case "BYMONTHDAY":
        rule.byMonthDay = byList(value, name, line, (t) => signedIn(t, 31));
        break;
      case "BYMONTH":
        rule.byMonth = byList(value, name, line, (t) => {
          const month = signedIn(t, 12);
          return month !== undefined && month > 0 ? month : undefined;
        });
        break;
      case "BYSETPOS":
        rule.bySetPos = byList(value, name, line, (t) => signedIn(t, 366, 3));
        break;
      default:
        return { ok: false, unsupported: name };
    }
  }
  const unsupported = unsupportedCombination(rule);
  return unsupported ? { ok: false, unsupported } : { ok: true, rule };
}

/** What of a valid rule this expander does not follow, if anything. */
function unsupportedCombination(rule: RRule): string | undefined {
  const ordinals = rule.byDay?.some((d) => d.ordinal !== 0);
  if (ordinals && (rule.freq === "DAILY" || rule.freq === "WEEKLY")) {
    return `BYDAY with an ordinal and FREQ=${rule.freq}`;
  }
  if (rule.byMonthDay && rule.freq === "WEEKLY") return "BYMONTHDAY with FREQ=WEEKLY";
  // Yearly BYDAY and BYMONTHDAY count within the whole year unless BYMONTH names the months.
  if ((rule.byDay || rule.byMonthDay) && rule.freq === "YEARLY" && !rule.byMonth) {
    return `${rule.byDay ? "BYDAY" : "BYMONTHDAY"} with FREQ=YEARLY and no BYMONTH`;
  }
  return undefined;
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
const firstOfMonth = (year: number, month: number) => Date.UTC(year, month - 1, 1) / DAY_MS;

/** A period's days in order, and how many candidates making them cost. */
interface PeriodDays {
  days: number[];
  cost: number;
  /** The period's first day: once it is past the window, so is every later period. */
  first: number;
}

/**
 * The days of one month that BYMONTHDAY and BYDAY pick (both given: the days both pick), found by
 * arithmetic: each BYDAY entry costs at most five candidates, whatever the month.
 */
function monthDays(year: number, month: number, rule: RRule, startDay: number): PeriodDays {
  const length = daysInMonth(year, month);
  const first = firstOfMonth(year, month);
  let days: number[] | undefined;
  let cost = 1;
  if (rule.byMonthDay) {
    days = rule.byMonthDay.map((d) => (d > 0 ? d : length + d + 1)).filter((d) => d >= 1 && d <= length);
    cost += rule.byMonthDay.length;
  }
  if (rule.byDay) {
    const firstWeekday = weekdayOf(first);
    const picked = new Set<number>();
    for (const { weekday, ordinal } of rule.byDay) {
      const firstMatch = 1 + ((weekday - firstWeekday + 7) % 7);
      const matches = Math.floor((length - firstMatch) / 7) + 1;
      if (ordinal === 0) for (let i = 0; i < matches; i += 1) picked.add(firstMatch + 7 * i);
      else {
        const index = ordinal > 0 ? ordinal - 1 : matches + ordinal;
        if (index >= 0 && index < matches) picked.add(firstMatch + 7 * index);
      }
      cost += ordinal === 0 ? matches : 1;
    }
    days = days ? days.filter((d) => picked.has(d)) : [...picked];
  }
  // Without either, the start's day of the month; a month without it (the 31st) has no occurrence.
  days ??= startDay <= length ? [startDay] : [];
  return { days: [...new Set(days)].sort((a, b) => a - b).map((d) => first + d - 1), cost, first };
}

/** Whether a day passes the rule's filters (BYMONTH; for a daily rule also BYDAY and BYMONTHDAY). */
function passes(rule: RRule, day: number): boolean {
  if (!rule.byMonth && rule.freq !== "DAILY") return true;
  const date = new Date(day * DAY_MS);
  if (rule.byMonth && !rule.byMonth.includes(date.getUTCMonth() + 1)) return false;
  if (rule.freq !== "DAILY") return true;
  if (rule.byDay && !rule.byDay.some((d) => d.weekday === weekdayOf(day))) return false;
  if (rule.byMonthDay) {
    const length = daysInMonth(date.getUTCFullYear(), date.getUTCMonth() + 1);
    const dom = date.getUTCDate();
    if (!rule.byMonthDay.some((d) => (d > 0 ? d : length + d + 1) === dom)) return false;
  }
  return true;
}

/** BYSETPOS: the n-th (from the end when negative) of a period's days. */
function atPositions(days: number[], positions: number[] | undefined): number[] {
  if (!positions) return days;
  const picked = positions.flatMap((n) => {
    const day = n > 0 ? days[n - 1] : days[days.length + n];
    return day === undefined ? [] : [day];
  });
  return [...new Set(picked)].sort((a, b) => a - b);
}

/** The days of period `p` of the rule, in order. */
function periodDays(rule: RRule, start: WallTime, p: number): PeriodDays {
  const startDay = dayNumber(start);
  let period: PeriodDays;
  switch (rule.freq) {
    case "DAILY": {
      const day = startDay + p * rule.interval;
      period = { days: passes(rule, day) ? [day] : [], cost: 1, first: day };
      break;
    }
    case "WEEKLY": {
      const weekStart = startDay - ((weekdayOf(startDay) - rule.wkst + 7) % 7) + p * rule.interval * 7;
      const weekdays = rule.byDay?.map((d) => d.weekday) ?? [weekdayOf(startDay)];
      const days = [...new Set(weekdays.map((w) => weekStart + ((w - rule.wkst + 7) % 7)))]
        .filter((day) => passes(rule, day))
        .sort((a, b) => a - b);
      period = { days, cost: weekdays.length, first: weekStart };
      break;
    }
    case "MONTHLY": {
      const months = start.month - 1 + p * rule.interval;
      const year = start.year + Math.floor(months / 12);
      const month = (months % 12) + 1;
      period =
        rule.byMonth?.includes(month) === false
          ? { days: [], cost: 1, first: firstOfMonth(year, month) }
          : monthDays(year, month, rule, start.day);
      break;
    }
    case "YEARLY": {
      const year = start.year + p * rule.interval;
      const months = rule.byMonth ? [...rule.byMonth].sort((a, b) => a - b) : [start.month];
      const each = months.map((month) => monthDays(year, month, rule, start.day));
      period = {
        days: each.flatMap((m) => m.days),
        cost: each.reduce((sum, m) => sum + m.cost, 0),
        first: firstOfMonth(year, 1),
      };
      break;
    }
  }
  return { ...period, days: atPositions(period.days, rule.bySetPos) };
}

/** Whole periods between the start and a day, less one: a period that surely ends before the day. */
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

/**
 * Occurrences counted by arithmetic in periods 0 … p-1 (DTSTART among them), when every period but
 * the first holds the same number of days; undefined when it does not (BY-parts that pick different
 * days from one period to the next, a start on a day some months lack), and the walk must count.
 */
function countedBefore(rule: RRule, start: WallTime, p: number): number | undefined {
  if (p < 1) return undefined;
  if (rule.byMonth || rule.bySetPos || rule.byMonthDay) return undefined;
  const startDay = dayNumber(start);
  switch (rule.freq) {
    case "DAILY":
      return rule.byDay ? undefined : p;
    case "WEEKLY": {
      const first = periodDays(rule, start, 0).days.filter((d) => d > startDay).length;
      const perWeek = periodDays(rule, start, 1).days.length;
      return 1 + first + (p - 1) * perWeek;
    }
    case "MONTHLY":
      return rule.byDay || start.day > 28 ? undefined : p;
    case "YEARLY":
      return start.month === 2 && start.day === 29 ? undefined : p;
  }
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
  /** Candidate days left to walk for the whole import, shared by its series, so one file cannot run for ever. */
  budget: { candidates: number };
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
 * end (too many candidate days to walk).
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
    // Periods wholly before the window need no walking: jump to just before it, counting what was
    // jumped over by arithmetic when COUNT needs it and the rule allows; otherwise walk from DTSTART.
    let p = periodsBefore(rule, start.wall, farBefore);
    let counted = 1;
    if (rule.count !== undefined) {
      const jumped = countedBefore(rule, start.wall, p);
      if (jumped === undefined) p = 0;
      else counted = jumped;
    }
    let spent = 0;
    walk: for (; ; p += 1) {
      if (rule.count !== undefined && counted >= rule.count) break;
      if (spent >= MAX_CANDIDATES || input.budget.candidates <= 0) {
        incomplete = true;
        break;
      }
      const period = periodDays(rule, start.wall, p);
      spent += period.cost;
      input.budget.candidates -= period.cost;
      // Periods only move on: one that starts past the window or UNTIL ends the walk, even if empty.
      if (period.first > lastDay || (untilDay !== undefined && period.first > untilDay + 1)) break;
      for (const day of period.days) {
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
  // Dates far outside the window are left out before placing them on a clock (the costly part): a
  // wall time is within 14 hours of its instant, and two days of margin cover any zone.
  const nearWindow = (time: IcsTime) => {
    const { year, month, day, hour, minute } = time.wall;
    const naive = Date.UTC(year, month - 1, day, hour, minute);
    return naive >= input.from - Math.max(input.durationMs, 0) - 2 * DAY_MS && naive <= input.to + 2 * DAY_MS;
  };
  for (const time of input.rdates) {
    if (nearWindow(time)) generated.push({ time, instant: instantOf(time, zone) });
  }

  // A whole-day series is matched by date, whatever the EXDATE's kind.
  const exdates = input.exdates.filter(nearWindow);
  const excluded = new Set(
    exdates.map((t) => (start.kind === "date" ? dateOf(t.wall) : occurrenceKey(t, zone))),
  );
  // An EXDATE written as a whole day removes that day's occurrence of a timed series too.
  const excludedDays = new Set(exdates.filter((t) => t.kind === "date").map((t) => dateOf(t.wall)));
  const seen = new Set<string>();
  const inWindow = generated
    .filter((o) => o.instant + Math.max(input.durationMs, 0) > input.from && o.instant <= input.to)
    .filter((o) => {
      const key = o.time.kind === "date" ? dateOf(o.time.wall) : String(o.instant);
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
