import * as chrono from "chrono-node";
import { isValidTimeZone, localParts, timeZoneOffsetMinutes, zonedTimeToUtc } from "../../../lib/time";
import { quote } from "./fields";

/** A due date without a time is due at the end of that day, where the user lives (as calendar imports do). */
const END_OF_DAY = { hour: 23, minute: 59 };
/** Years a due date may fall in: outside them a date is a typo, not a plan. */
const MIN_YEAR = 1970;
const MAX_YEAR = 2200;

/** ISO-8601 dates, and what spreadsheets write for them: "2025-3-14", "2025-03-14 9:30" (padded before use). */
const ISO =
  /^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?\s*(Z|[+-]\d{2}:?\d{2})?)?$/i;

const pad = (digits: string) => digits.padStart(2, "0");

const sane = (date: Date) =>
  Number.isFinite(date.getTime()) && date.getUTCFullYear() >= MIN_YEAR && date.getUTCFullYear() <= MAX_YEAR;

/** The instant ISO-8601 text names, read in `zone` when it carries no offset; a bare date is due at its day's end. */
export function parseIsoDue(text: string, zone: string): string | null {
  const m = ISO.exec(text.trim());
  if (!m) return null;
  const [, y, month2, day2, hour2, mi, s, offset] = m;
  const mo = pad(month2 as string);
  const d = pad(day2 as string);
  const h = hour2 === undefined ? undefined : pad(hour2);
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  let date: Date;
  if (h === undefined) date = zonedTimeToUtc(zone, { year, month, day, ...END_OF_DAY });
  else if (offset) {
    const normal = offset.toUpperCase() === "Z" ? "Z" : offset.replace(/^([+-]\d{2}):?(\d{2})$/, "$1:$2");
    date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s ?? "00"}${normal}`);
  } else {
    date = zonedTimeToUtc(zone, {
      year,
      month,
      day,
      hour: Number(h),
      minute: Number(mi),
      second: Number(s ?? 0),
    });
  }
  // Day 31 of a 30-day month rolls over: refuse it rather than import the wrong day.
  if (!offset && localParts(zone, date.getTime()).date !== `${y}-${mo}-${d}`) return null;
  return sane(date) ? date.toISOString() : null;
}

/** The date part of an instant as the wall calendar of `zone` shows it, due at that day's end in `dueZone`. */
export function endOfLocalDayDue(instant: string, zone: string, dueZone: string): string | null {
  const at = Date.parse(instant);
  if (!Number.isFinite(at)) return null;
  const [year, month, day] = localParts(zone, at).date.split("-").map(Number) as [number, number, number];
  const date = zonedTimeToUtc(dueZone, { year, month, day, ...END_OF_DAY });
  return sane(date) ? date.toISOString() : null;
}

const CHRONO_BY_LANGUAGE: Record<string, chrono.Chrono> = {
  en: chrono.en.casual,
  de: chrono.de.casual,
  fr: chrono.fr.casual,
  es: chrono.es.casual,
  pt: chrono.pt.casual,
  nl: chrono.nl.casual,
  it: chrono.it.casual,
  ja: chrono.ja.casual,
  ru: chrono.ru.casual,
  sv: chrono.sv.casual,
  zh: chrono.zh.casual,
};

/** Whether dates said in words in this language (an ISO 639-1 code) can be read. */
export const readsLanguage = (language: string) => Object.hasOwn(CHRONO_BY_LANGUAGE, language.toLowerCase());

/**
 * A due date said in words ("tomorrow 5pm", "Mar 14", "every monday" → its next Monday), read in `zone`
 * relative to `now`; null when the words name no date. A date without a time is due at its day's end.
 */
export function parseWordsDue(text: string, zone: string, now: number, language = "en"): string | null {
  const parser = CHRONO_BY_LANGUAGE[language.toLowerCase()] ?? chrono.en.casual;
  const instant = new Date(now);
  const at = isValidTimeZone(zone) ? zone : "UTC";
  try {
    const [result] = parser.parse(
      text,
      { instant, timezone: timeZoneOffsetMinutes(at, instant) },
      { forwardDate: true },
    );
    if (!result) return null;
    const start = result.start;
    if (start.isCertain("timezoneOffset")) {
      const date = start.date();
      return sane(date) ? date.toISOString() : null;
    }
    const year = start.get("year");
    const month = start.get("month");
    const day = start.get("day");
    if (year === null || month === null || day === null) return null;
    const timed = start.isCertain("hour");
    const date = zonedTimeToUtc(at, {
      year,
      month,
      day,
      hour: timed ? (start.get("hour") ?? 0) : END_OF_DAY.hour,
      minute: timed ? (start.get("minute") ?? 0) : END_OF_DAY.minute,
    });
    return sane(date) ? date.toISOString() : null;
  } catch {
    // chrono is heuristic third-party code: a date it chokes on is a date not read, not a failed import.
    return null;
  }
}

/** What starts like an ISO date is read as one: "2025-13-01" is a mistake, not words to guess at. */
const ISO_LIKE = /^\s*\d{4}-\d{1,2}-\d{1,2}/;

/** The longest cell read as a date: past it, a cell is prose, and chrono's patterns would take their time over it. */
export const MAX_DATE_TEXT = 200;

/** ISO first, then words: the due date a cell names, or null. */
export function parseDue(text: string, zone: string, now: number, language = "en"): string | null {
  if (text.length > MAX_DATE_TEXT) return null;
  if (ISO_LIKE.test(text)) return parseIsoDue(text, zone);
  return parseWordsDue(text, zone, now, language);
}

/** Distinct dates one file's parser remembers (a file says "tomorrow" or "2025-06-01" thousands of times). */
const DUE_CACHE_ENTRIES = 10_000;
/**
 * Different dates in words one file may have read (about a quarter of a millisecond each in chrono):
 * the bound that keeps a preview of the largest file within its CPU, whatever it holds. ISO dates
 * are cheap and not counted.
 */
export const MAX_WORDED_DATES = 20_000;

export interface DueParser {
  /** `parseDue` at the file's now; null also when the file used up its dates in words (see `skipped`). */
  parse(text: string, zone: string, language?: string): string | null;
  /** True when the last `parse` read nothing because MAX_WORDED_DATES different dates in words were read. */
  readonly skipped: boolean;
}

/**
 * `parseDue` for one file, read at one `now`, remembering what each (text, zone, language) gave: words
 * go through chrono, and exports repeat the same few dates.
 */
export function dueParser(now: number, maxWorded = MAX_WORDED_DATES): DueParser {
  const seen = new Map<string, string | null>();
  let worded = 0;
  let skipped = false;
  return {
    get skipped() {
      return skipped;
    },
    parse(text, zone, language = "en") {
      skipped = false;
      const key = `${zone}\u0000${language}\u0000${text}`;
      const known = seen.get(key);
      if (known !== undefined) return known;
      const words = text.length <= MAX_DATE_TEXT && !ISO_LIKE.test(text);
      if (words && worded >= maxWorded) {
        skipped = true;
        return null;
      }
      if (words) worded += 1;
      const due = parseDue(text, zone, now, language);
      // Bounded: a file of all-different dates keeps the latest ones, not all of them.
      if (seen.size >= DUE_CACHE_ENTRIES) seen.clear();
      seen.set(key, due);
      return due;
    },
  };
}

/** An instant as exports write it ("2026-03-15T09:30:00+0000", "…Z", or epoch milliseconds), as ISO UTC. */
export function parseInstant(text: string, zone: string): string | null {
  const trimmed = text.trim();
  if (/^\d{12,14}$/.test(trimmed)) {
    const date = new Date(Number(trimmed));
    return sane(date) ? date.toISOString() : null;
  }
  return parseIsoDue(trimmed, zone);
}

/** Why a date cell became no due date, as a problem says it. */
export function unreadDate(text: string, skipped: boolean): string {
  const cell = quote(text);
  return skipped
    ? `The file holds more than ${MAX_WORDED_DATES} different dates in words: ${cell} was not read (write dates as YYYY-MM-DD): imported without a due date.`
    : `The date ${cell} could not be read: imported without a due date.`;
}
