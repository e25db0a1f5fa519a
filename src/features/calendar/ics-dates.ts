/**
 * DATE, DATE-TIME and DURATION values as a calendar file writes them (§3.3.4, §3.3.5, §3.3.6), and
 * their instants: UTC (`Z`), on a named zone's wall clock (TZID, read with Intl), or floating (read
 * on the importing person's clock). No I/O.
 */
import { isValidTimeZone, timeZoneOffsetMinutes } from "../../lib/time";
import { type ContentLine, IcsSyntaxError, paramOf } from "./ics-parser";

export interface WallTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** A value as written: a whole day, or a wall time with the zone it is read in (`UTC` for `Z`). */
export type IcsTime =
  | { kind: "date"; wall: WallTime }
  | { kind: "date-time"; wall: WallTime; zone: string; floating: boolean };

const DATE = /^(\d{4})(\d{2})(\d{2})$/;
const DATE_TIME = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/i;

/**
 * Windows zone names that Outlook and Exchange write as TZID, for the zones most people live in.
 * Anything else that is not an IANA name is read on the importing person's clock, with a warning.
 */
const WINDOWS_ZONES: Record<string, string> = {
  UTC: "UTC",
  "GMT Standard Time": "Europe/London",
  "Greenwich Standard Time": "Atlantic/Reykjavik",
  "W. Europe Standard Time": "Europe/Berlin",
  "Central Europe Standard Time": "Europe/Budapest",
  "Central European Standard Time": "Europe/Warsaw",
  "Romance Standard Time": "Europe/Paris",
  "E. Europe Standard Time": "Europe/Chisinau",
  "FLE Standard Time": "Europe/Kiev",
  "GTB Standard Time": "Europe/Bucharest",
  "Russian Standard Time": "Europe/Moscow",
  "Eastern Standard Time": "America/New_York",
  "Central Standard Time": "America/Chicago",
  "Mountain Standard Time": "America/Denver",
  "US Mountain Standard Time": "America/Phoenix",
  "Pacific Standard Time": "America/Los_Angeles",
  "Alaskan Standard Time": "America/Anchorage",
  "Hawaiian Standard Time": "Pacific/Honolulu",
  "Atlantic Standard Time": "America/Halifax",
  "E. South America Standard Time": "America/Sao_Paulo",
  "India Standard Time": "Asia/Kolkata",
  "China Standard Time": "Asia/Shanghai",
  "Tokyo Standard Time": "Asia/Tokyo",
  "Korea Standard Time": "Asia/Seoul",
  "Singapore Standard Time": "Asia/Singapore",
  "AUS Eastern Standard Time": "Australia/Sydney",
  "New Zealand Standard Time": "Pacific/Auckland",
};

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

function checkedWall(wall: WallTime, line: number, raw: string, name: string): WallTime {
  const valid =
    // Date.UTC reads years below 100 as 19xx; nobody's calendar starts before 1000.
    wall.year >= 1000 &&
    wall.month >= 1 &&
    wall.month <= 12 &&
    wall.day >= 1 &&
    wall.day <= daysInMonth(wall.year, wall.month) &&
    wall.hour <= 23 &&
    wall.minute <= 59 &&
    // 60 is a leap second (§3.3.12).
    wall.second <= 60;
  if (!valid) throw new IcsSyntaxError(line, `${name} has an impossible date or time "${raw}".`);
  return { ...wall, second: Math.min(wall.second, 59) };
}

/**
 * The zone a TZID names: an IANA name as it is (also at the end of a path-like TZID such as
 * `/mozilla.org/20050126_1/Europe/Berlin`), a common Windows name mapped; undefined otherwise.
 */
export function ianaZone(tzid: string): string | undefined {
  // Asking Intl whether a zone exists builds a formatter (tens of µs): a list of a thousand dates
  // with one TZID asks once.
  const known = zoneNames.get(tzid);
  if (known !== undefined) return known ?? undefined;
  const zone = lookUpZone(tzid);
  if (zoneNames.size >= MAX_ZONE_NAMES) zoneNames.clear();
  zoneNames.set(tzid, zone ?? null);
  return zone;
}

const zoneNames = new Map<string, string | null>();
const MAX_ZONE_NAMES = 1000;

function lookUpZone(tzid: string): string | undefined {
  const name = tzid.trim();
  const windows = WINDOWS_ZONES[name];
  if (windows) return windows;
  if (name.includes("/") && isValidTimeZone(name)) return name;
  const tail = name.split("/").slice(-2).join("/");
  if (tail.includes("/") && isValidTimeZone(tail)) return tail;
  return undefined;
}

export interface DateContext {
  /** The importing person's zone: for floating times and zones this runtime does not know. */
  defaultZone: string;
  /** Called once per unknown TZID read. */
  unknownZone(tzid: string, line: number): void;
}

/** One DATE or DATE-TIME value of a property (`VALUE=DATE` or the form of the value decides). */
export function parseTimeValue(raw: string, property: ContentLine, context: DateContext): IcsTime {
  const value = raw.trim();
  const wantsDate = paramOf(property, "VALUE")?.toUpperCase() === "DATE";
  const date = DATE.exec(value);
  if (date) {
    const [, y, m, d] = date.map(Number) as [number, number, number, number];
    const wall = checkedWall(
      { year: y, month: m, day: d, hour: 0, minute: 0, second: 0 },
      property.line,
      value,
      property.name,
    );
    return { kind: "date", wall };
  }
  const dateTime = wantsDate ? null : DATE_TIME.exec(value);
  if (!dateTime) {
    throw new IcsSyntaxError(
      property.line,
      `${property.name} has a bad ${wantsDate ? "date" : "date-time"} value "${value.slice(0, 40)}".`,
    );
  }
  const [y, m, d, h, mi, s] = dateTime.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const wall = checkedWall(
    { year: y, month: m, day: d, hour: h, minute: mi, second: s },
    property.line,
    value,
    property.name,
  );
  if (dateTime[7]) return { kind: "date-time", wall, zone: "UTC", floating: false };
  const tzid = paramOf(property, "TZID");
  if (tzid === undefined) return { kind: "date-time", wall, zone: context.defaultZone, floating: true };
  const zone = ianaZone(tzid);
  if (zone) return { kind: "date-time", wall, zone, floating: false };
  context.unknownZone(tzid, property.line);
  return { kind: "date-time", wall, zone: context.defaultZone, floating: true };
}

/** Every value of a list property (EXDATE, RDATE: `a,b,c`). */
export function parseTimeList(property: ContentLine, context: DateContext): IcsTime[] {
  return property.value
    .split(",")
    .filter((v) => v.trim() !== "")
    .map((v) => parseTimeValue(v, property, context));
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * The instant `zone`'s wall clock reads `wall`, by RFC 5545 §3.3.5: a time that a DST change skips
 * (02:30 on a spring-forward day) is read with the offset before the gap, and a time the clock shows
 * twice (an autumn fold) is its first occurrence. lib/time's zonedTimeToUtc, which other features use,
 * settles a gap by the offset after it, an hour early west of UTC.
 */
export function wallInstant(zone: string, wall: Omit<WallTime, "second"> & { second?: number }): number {
  const naive = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second ?? 0);
  // A day either side is past any change near this time: the offsets in force before and after it.
  const before = timeZoneOffsetMinutes(zone, new Date(naive - DAY_MS));
  const after = timeZoneOffsetMinutes(zone, new Date(naive + DAY_MS));
  const early = naive - before * MINUTE_MS;
  if (before === after) return early;
  const late = naive - after * MINUTE_MS;
  const earlyHolds = timeZoneOffsetMinutes(zone, new Date(early)) === before;
  const lateHolds = timeZoneOffsetMinutes(zone, new Date(late)) === after;
  // Both read: a fold, the earlier is first. Neither: a gap, the offset before it.
  if (earlyHolds && lateHolds) return Math.min(early, late);
  if (lateHolds && !earlyHolds) return late;
  return early;
}

/** The instant a date-time stands for; for a whole day, its start in `zone`. */
export function instantOf(time: IcsTime, zone: string): number {
  return wallInstant(time.kind === "date" ? zone : time.zone, time.wall);
}

/** "YYYY-MM-DD" of a wall time. */
export function dateOf(wall: WallTime): string {
  const pad = (n: number, width = 2) => String(n).padStart(width, "0");
  return `${pad(wall.year, 4)}-${pad(wall.month)}-${pad(wall.day)}`;
}

/** Up to 9 digits a number: a longer one is no duration anybody means, and 400 digits are Infinity. */
const DURATION =
  /^([+-])?P(?:(\d{1,9})W)?(?:(\d{1,9})D)?(?:T(?:(\d{1,9})H)?(?:(\d{1,9})M)?(?:(\d{1,9})S)?)?$/i;
/** Ten years: an item lasting longer is a mistake, and its end could leave the years a date may hold. */
export const MAX_DURATION_MS = 3660 * DAY_MS;

/** A DURATION value (`PT1H30M`, `P1D`, `-PT15M`) in milliseconds; at most ten years either way. */
export function parseDuration(property: ContentLine): number {
  const value = property.value.trim();
  const match = DURATION.exec(value);
  if (!match || value.endsWith("P") || value.endsWith("T")) {
    throw new IcsSyntaxError(property.line, `${property.name} has a bad duration "${value.slice(0, 40)}".`);
  }
  const [, sign, w, d, h, m, s] = match;
  const seconds =
    Number(w ?? 0) * 604_800 +
    Number(d ?? 0) * 86_400 +
    Number(h ?? 0) * 3600 +
    Number(m ?? 0) * 60 +
    Number(s ?? 0);
  if (!Number.isFinite(seconds) || seconds * 1000 > MAX_DURATION_MS) {
    throw new IcsSyntaxError(
      property.line,
      `${property.name} "${value.slice(0, 40)}" is longer than ten years.`,
    );
  }
  return (sign === "-" ? -1 : 1) * seconds * 1000;
}
