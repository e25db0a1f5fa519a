import * as chrono from "chrono-node";
import { isValidTimeZone, timeZoneOffsetMinutes, zonedTimeToUtc } from "../../lib/time";

export type CapturePriority = "low" | "medium" | "high" | "critical";

export interface ParsedCapture {
  /** The text without the parsed tokens and date phrase; the original trimmed text if nothing would be left. */
  title: string;
  /** ISO-8601 UTC instant (`Date.toISOString()`). */
  due_at: string | null;
  /** The date phrase as the user wrote it (whitespace collapsed, leading "by"/"on"/"at"… dropped). */
  due_text: string | null;
  priority: CapturePriority | null;
  /** Lower-cased, de-duplicated, in order of appearance, without '#'. */
  tags: string[];
  estimated_minutes: number | null;
}

export interface ParseCaptureOptions {
  /** IANA zone the user thinks in ("Europe/Berlin"); an unknown zone is treated as UTC. */
  timeZone: string;
  now: Date;
}

const PRIORITY_TOKENS: ReadonlyMap<string, CapturePriority> = new Map([
  ["!low", "low"],
  ["!l", "low"],
  ["!medium", "medium"],
  ["!med", "medium"],
  ["!m", "medium"],
  ["!high", "high"],
  ["!h", "high"],
  ["!!", "high"],
  ["!critical", "critical"],
  ["!urgent", "critical"],
  ["!c", "critical"],
  ["!!!", "critical"],
]);

const MAX_TAG_LENGTH = 32;
// \p{M} keeps tags in scripts written with combining marks (Devanagari, decomposed accents) whole.
const TAG_TOKEN = /^#([\p{L}\p{M}\p{N}_-]+)$/u;
// A tag needs a letter so "#1" / "#2024" stay in the title as issue numbers and the like.
const HAS_LETTER = /\p{L}/u;

const MINUTES_PER_HOUR = 60;
const MIN_ESTIMATE_MINUTES = 1;
const MAX_ESTIMATE_MINUTES = 24 * MINUTES_PER_HOUR;
const ESTIMATE_HOURS_AND_MINUTES = /^~(\d+)h(\d+)(?:m|min|mins)?$/i;
const ESTIMATE_SINGLE_UNIT = /^~(\d+(?:\.\d+)?)(h|hr|hrs|m|min|mins)?$/i;

// "due tomorrow" means by the end of tomorrow, not at whatever time it happens to be now.
const END_OF_DAY_HOUR = 23;
const END_OF_DAY_MINUTE = 59;
const DAYS_PER_WEEK = 7;
// due_at is stored as text and sorted lexicographically; toISOString() only has a fixed width for these years.
const MIN_DUE_YEAR = 1;
const MAX_DUE_YEAR = 9999;

const CONNECTOR_WORDS = "by|on|at|due|before";
const TRAILING_CONNECTOR = new RegExp(`(?:^|\\s)(?:${CONNECTOR_WORDS})$`, "iu");
const LEADING_CONNECTORS = new RegExp(`^(?:(?:${CONNECTOR_WORDS})\\s+)+`, "iu");
const TRAILING_SEPARATORS = /(?:[\s,;:]|(?:^|\s)[-–—])+$/u;
const LEADING_SEPARATORS = /^(?:[\s,;:]|[-–—](?=\s|$))+/u;
const SENTENCE_END = /^[.!?…]/u;
const BARE_NUMBER = /^\d+$/;
// "for 2 hours" / "for a second" describe how long something takes, not when it is due.
const DURATION_PHRASE = /^for\s/i;
// A match that starts inside a word ("1" in "#1", "0m" in "~0m") is not a date the user wrote.
const WORD_CHAR_OR_TOKEN_SIGIL = /[\p{L}\p{N}#~!]/u;
// The user pinned these weekday phrases to a specific week themselves, so they are never moved forward.
const EXPLICIT_WEEK_MODIFIER = /\b(?:this|last|past|previous)\b/i;

interface TokenScan {
  /** Words that are not recognised tokens, in order. */
  words: string[];
  priority: CapturePriority | null;
  tags: string[];
  estimatedMinutes: number | null;
}

/**
 * Parses a quick-capture line such as "email Sam about rent tomorrow 5pm !high #home ~10m".
 * Pure and total: never throws, whatever the text.
 */
export function parseCapture(text: string, options: ParseCaptureOptions): ParsedCapture {
  const original = text.trim();
  const scan = scanTokens(original);
  const remaining = scan.words.join(" ");

  const date = findDate(remaining, options);
  const titleText = date ? removeDatePhrase(remaining, date.index, date.length) : remaining;

  return {
    title: titleText.length > 0 ? titleText : original,
    due_at: date ? date.dueAt : null,
    due_text: date ? date.dueText : null,
    priority: scan.priority,
    tags: scan.tags,
    estimated_minutes: scan.estimatedMinutes,
  };
}

function scanTokens(text: string): TokenScan {
  const scan: TokenScan = { words: [], priority: null, tags: [], estimatedMinutes: null };
  for (const word of text.split(/\s+/u)) {
    if (word.length === 0) continue;

    const priority = PRIORITY_TOKENS.get(word.toLowerCase());
    if (priority) {
      // The first priority wins; repeats are still tokens, so they leave the title too.
      scan.priority ??= priority;
      continue;
    }

    const tag = parseTag(word);
    if (tag !== null) {
      if (!scan.tags.includes(tag)) scan.tags.push(tag);
      continue;
    }

    const minutes = parseEstimate(word);
    if (minutes !== null) {
      scan.estimatedMinutes ??= minutes;
      continue;
    }

    scan.words.push(word);
  }
  return scan;
}

function parseTag(word: string): string | null {
  const body = TAG_TOKEN.exec(word)?.[1];
  if (body === undefined || !HAS_LETTER.test(body)) return null;
  // Counted in code points so letters outside the BMP count once, not as two UTF-16 units.
  if ([...body].length > MAX_TAG_LENGTH) return null;
  return body.toLowerCase();
}

function parseEstimate(word: string): number | null {
  let minutes: number | null = null;

  const hoursAndMinutes = ESTIMATE_HOURS_AND_MINUTES.exec(word);
  if (hoursAndMinutes) {
    minutes = Number(hoursAndMinutes[1]) * MINUTES_PER_HOUR + Number(hoursAndMinutes[2]);
  } else {
    const single = ESTIMATE_SINGLE_UNIT.exec(word);
    if (single) {
      const value = Number(single[1]);
      const unit = (single[2] ?? "m").toLowerCase();
      minutes = unit.startsWith("h") ? value * MINUTES_PER_HOUR : value;
    }
  }

  if (minutes === null) return null;
  const rounded = Math.round(minutes);
  // Out-of-range estimates are more likely typos than plans, so they stay visible in the title.
  if (!Number.isFinite(rounded) || rounded < MIN_ESTIMATE_MINUTES || rounded > MAX_ESTIMATE_MINUTES) {
    return null;
  }
  return rounded;
}

interface FoundDate {
  index: number;
  length: number;
  dueAt: string;
  dueText: string;
}

function findDate(text: string, options: ParseCaptureOptions): FoundDate | null {
  if (text.length === 0) return null;
  // chrono is heuristic third-party code; a capture must still succeed when a date guess blows up.
  try {
    const zone = isValidTimeZone(options.timeZone) ? options.timeZone : "UTC";
    if (!Number.isFinite(options.now.getTime())) return null;

    const reference = { instant: options.now, timezone: timeZoneOffsetMinutes(zone, options.now) };
    const result = chrono.parse(text, reference, { forwardDate: true }).find((r) => isUsableMatch(text, r));
    if (!result) return null;

    const due = resolveInstant(result, zone, options.now);
    if (!due) return null;

    const dueText = result.text.replace(LEADING_CONNECTORS, "").trim();
    return {
      index: result.index,
      length: result.text.length,
      dueAt: due.toISOString(),
      dueText: dueText.length > 0 ? dueText : result.text,
    };
  } catch {
    return null;
  }
}

function isUsableMatch(text: string, result: chrono.ParsedResult): boolean {
  const matched = result.text.trim();
  if (BARE_NUMBER.test(matched) || DURATION_PHRASE.test(matched)) return false;
  const before = text[result.index - 1];
  return before === undefined || !WORD_CHAR_OR_TOKEN_SIGIL.test(before);
}

function resolveInstant(result: chrono.ParsedResult, zone: string, now: Date): Date | null {
  const start = result.start;

  // A certain offset means an explicit zone ("5pm PST") or an exact duration from now ("in 2 hours"):
  // chrono's own instant is right there, while re-reading its wall clock in the user's zone would
  // shift it by an hour whenever the span crosses a DST change.
  if (start.isCertain("timezoneOffset")) {
    return withinStorableRange(start.date());
  }

  const year = start.get("year");
  const month = start.get("month");
  const day = start.get("day");
  if (year === null || month === null || day === null) return null;
  if (year < MIN_DUE_YEAR || year > MAX_DUE_YEAR) return null;

  const hasTime = start.isCertain("hour");
  const local = {
    year,
    month,
    day,
    hour: hasTime ? (start.get("hour") ?? 0) : END_OF_DAY_HOUR,
    minute: hasTime ? (start.get("minute") ?? 0) : END_OF_DAY_MINUTE,
  };
  // chrono worked with a fixed offset taken at `now`; converting the wall clock ourselves applies the
  // offset that is actually in force on the due day.
  let due = zonedTimeToUtc(zone, local);

  // chrono leaves "friday at 9am" on today's date even when said on Friday at 10am; a capture is about
  // the future, so a bare weekday that has already passed means the same day next week.
  const bareWeekday = start.isCertain("weekday") && !start.isCertain("day");
  if (bareWeekday && due.getTime() < now.getTime() && !EXPLICIT_WEEK_MODIFIER.test(result.text)) {
    due = zonedTimeToUtc(zone, { ...local, day: local.day + DAYS_PER_WEEK });
  }
  return withinStorableRange(due);
}

function withinStorableRange(date: Date): Date | null {
  if (!Number.isFinite(date.getTime())) return null;
  const year = date.getUTCFullYear();
  return year >= MIN_DUE_YEAR && year <= MAX_DUE_YEAR ? date : null;
}

function removeDatePhrase(text: string, index: number, length: number): string {
  let before = text.slice(0, index);
  // Strip "pay rent, by " down to "pay rent": separators and connectors can alternate.
  for (;;) {
    const stripped = before.replace(TRAILING_SEPARATORS, "").replace(TRAILING_CONNECTOR, "");
    if (stripped === before) break;
    before = stripped;
  }
  let after = text.slice(index + length).replace(LEADING_SEPARATORS, "");
  // "meet (tomorrow)" should not leave "meet ( )" behind.
  if (before.endsWith("(") && after.startsWith(")")) {
    before = before.slice(0, -1);
    after = after.slice(1);
  }
  // "ship it tomorrow!" reads as "ship it!", not "ship it !".
  const glue = SENTENCE_END.test(after) ? "" : " ";
  return `${before}${glue}${after}`.replace(/\s+/gu, " ").trim();
}
