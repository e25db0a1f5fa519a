import { addDays, type LocalDate, localClock, zonedTimeToUtc } from "../../lib/time";
import type { QuietHours } from "./preferences";

/** Minutes since local midnight of "HH:MM". */
export function minuteOfDay(hhmm: string): number {
  const [h, m] = hhmm.split(":").map(Number) as [number, number];
  return h * 60 + m;
}

/** The instant the wall clock of `zone` reads `hhmm` on `date` (DST-aware: a time skipped by a change lands just after it). */
function instantAt(zone: string, date: LocalDate, hhmm: string): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  const minute = minuteOfDay(hhmm);
  const at = zonedTimeToUtc(zone, {
    year,
    month,
    day,
    hour: Math.floor(minute / 60),
    minute: minute % 60,
  }).getTime();
  // A wall time skipped by a spring-forward change may resolve to before the gap: take the moment after it.
  const shown = localClock(zone, at);
  return shown.date === date && shown.minute < minute ? at + (minute - shown.minute) * 60_000 : at;
}

/**
 * When the quiet hours `now` falls in end, or null when `now` is outside them. Hours are read on the
 * user's wall clock, so "22:00–07:00" stays 22:00–07:00 across a DST change (the night is an hour
 * shorter or longer in real time). A window may cross midnight (start after end).
 */
export function quietUntil(now: number, zone: string, quiet: QuietHours | null): number | null {
  if (!quiet) return null;
  const { date, minute } = localClock(zone, now);
  const start = minuteOfDay(quiet.start);
  const end = minuteOfDay(quiet.end);
  if (start === end) return null;
  let endsOn: LocalDate | null = null;
  if (start < end) {
    if (minute >= start && minute < end) endsOn = date;
  } else if (minute >= start) {
    endsOn = addDays(date, 1);
  } else if (minute < end) {
    endsOn = date;
  }
  if (endsOn === null) return null;
  const until = instantAt(zone, endsOn, quiet.end);
  // A wall time that does not exist that day (DST gap) must still end the wait, never move it back.
  return until > now ? until : null;
}

/**
 * The next digest after `now`: the end of the user's quiet hours when they keep some (the morning,
 * for most), else DIGEST_TIME, on their wall clock.
 */
export function nextDigestAt(
  now: number,
  zone: string,
  quiet: QuietHours | null,
  digestTime: string,
): number {
  const at = quiet ? quiet.end : digestTime;
  const { date } = localClock(zone, now);
  const today = instantAt(zone, date, at);
  if (today > now) return today;
  const tomorrow = instantAt(zone, addDays(date, 1), at);
  return tomorrow > now ? tomorrow : now + 86_400_000;
}
