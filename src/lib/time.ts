export const nowIso = (now = Date.now()) => new Date(now).toISOString();

/** True when `zone` is an IANA time zone this runtime knows ("Europe/Berlin", "UTC"). */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const wallClocks = new Map<string, Intl.DateTimeFormat>();

// Building a formatter costs far more than using one: analytics and streaks convert thousands of instants.
function wallClock(zone: string): Intl.DateTimeFormat {
  let formatter = wallClocks.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone: zone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      weekday: "short",
    });
    wallClocks.set(zone, formatter);
  }
  return formatter;
}

/** What the wall clock in `zone` shows at `at`. */
function wallTime(zone: string, at: number) {
  const parts = wallClock(zone).formatToParts(new Date(at));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return {
    year: get("year"),
    month: get("month"),
    day: get("day"),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    weekday: get("weekday"),
  };
}

/** Offset of `zone` from UTC, in minutes, at the instant `at` (DST-aware). */
export function timeZoneOffsetMinutes(zone: string, at: Date): number {
  const w = wallTime(zone, at.getTime());
  const asUtc = Date.UTC(Number(w.year), Number(w.month) - 1, Number(w.day), w.hour, w.minute, w.second);
  return Math.round((asUtc - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** The UTC instant at which the wall clock in `zone` reads the given local date and time. */
export function zonedTimeToUtc(
  zone: string,
  local: { year: number; month: number; day: number; hour: number; minute: number; second?: number },
): Date {
  const naive = Date.UTC(local.year, local.month - 1, local.day, local.hour, local.minute, local.second ?? 0);
  // Two passes settle the offset across a DST change between the naive guess and the real instant.
  let offset = timeZoneOffsetMinutes(zone, new Date(naive));
  let instant = naive - offset * 60_000;
  const second = timeZoneOffsetMinutes(zone, new Date(instant));
  if (second !== offset) {
    offset = second;
    instant = naive - offset * 60_000;
  }
  return new Date(instant);
}

/** A calendar date, "YYYY-MM-DD". */
export type LocalDate = string;

const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

/** Where an instant falls on the wall calendar of `zone`: its date, hour (0–23), ISO weekday (1 = Monday). */
export function localParts(zone: string, at: number): { date: LocalDate; hour: number; weekday: number } {
  const w = wallTime(zone, at);
  return { date: `${w.year}-${w.month}-${w.day}`, hour: w.hour, weekday: WEEKDAYS.indexOf(w.weekday) + 1 };
}

/** The local date in `zone` at `at`, and the minute of that day its wall clock shows (0–1439). */
export function localClock(zone: string, at: number): { date: LocalDate; minute: number } {
  const w = wallTime(zone, at);
  return { date: `${w.year}-${w.month}-${w.day}`, minute: w.hour * 60 + w.minute };
}

/** The date `days` after (or before, when negative) `date`. */
export function addDays(date: LocalDate, days: number): LocalDate {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: LocalDate, to: LocalDate): number {
  return Math.round((Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000);
}

/** The instant the local day `date` begins in `zone` (DST-aware). */
export function startOfLocalDay(zone: string, date: LocalDate): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return zonedTimeToUtc(zone, { year, month, day, hour: 0, minute: 0 }).getTime();
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/**
 * A reader of the local hour (0–23) in `zone` for many instants, as walks over days hour by hour need:
 * it asks Intl for the zone's offset about once per day walked, not once per instant. An offset is
 * trusted for a day when it is the same at both ends; where it differs, the instant it changes is
 * found to the second. No zone changes its offset twice within a day.
 */
export function localHourReader(zone: string): (at: number) => number {
  const offsetAt = (at: number) => timeZoneOffsetMinutes(zone, new Date(at));
  // The span [from, until) where the offset is `offset`; `next` is the offset at `until`.
  let from = Number.POSITIVE_INFINITY;
  let until = Number.NEGATIVE_INFINITY;
  let offset = 0;
  let next = 0;
  const span = (start: number, startOffset: number) => {
    from = start;
    offset = startOffset;
    // Offsets change on whole seconds, so the search runs over them: `same` and `changed` are seconds,
    // the span's end a whole second, exactly where the offset changes when it does.
    let same = Math.floor(start / 1000);
    let changed = Math.ceil((start + DAY) / 1000);
    next = offsetAt(changed * 1000);
    if (next !== offset) {
      while (changed - same > 1) {
        const mid = Math.floor((same + changed) / 2);
        const there = offsetAt(mid * 1000);
        if (there === offset) same = mid;
        else [changed, next] = [mid, there];
      }
    }
    until = changed * 1000;
  };
  return (at) => {
    // A walk forward goes on from where the last span ended, whose offset is known already.
    if (at >= until && at < until + DAY) span(until, next);
    if (at < from || at >= until) span(at, offsetAt(at));
    return new Date(at + offset * MINUTE).getUTCHours();
  };
}
