import { vi } from "vitest";
import { addDays, type LocalDate, localParts, zonedTimeToUtc } from "../../src/lib/time";

/**
 * The one way tests move time. `Date` is faked in the test isolate, which the Worker and its Durable
 * Objects share; what cannot be faked is the runtime's own clock: the alarm scheduler and the queue's
 * delivery run on the real one. So a frozen clock is always at or after the real now (an alarm an
 * object arms from a clock in the past would be due at once, for real), and never far ahead of it (a
 * date written into a test would pass today and fail when the calendar reaches it).
 */

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/** How far ahead of the real now a frozen clock may start: enough for "next Wednesday, 09:00". */
export const MAX_LEAD_MS = 8 * DAY_MS;
// Starting "now" may land a few milliseconds behind the real clock by the time it is checked.
const SLACK_MS = 1000;

/** The real time, whether or not the clock is frozen. */
export function realNow(): number {
  return vi.isFakeTimers() ? vi.getRealSystemTime() : Date.now();
}

function refuseUnlessNearNow(at: number, what: string): void {
  const real = realNow();
  if (Number.isNaN(at)) throw new Error(`${what}: not a time`);
  if (at < real - SLACK_MS) {
    throw new Error(
      `${what} ${new Date(at).toISOString()} is before the real now (${new Date(real).toISOString()}): ` +
        "Durable Object alarms and queues run on the real clock and cannot be moved back. " +
        "Start from now (freezeClock(), nextUtc(), nextLocal()) or make history with backdated().",
    );
  }
  if (at > real + MAX_LEAD_MS) {
    throw new Error(
      `${what} ${new Date(at).toISOString()} is more than 8 days after the real now: a calendar date ` +
        "written into a test breaks as the calendar moves. Build times relative to now.",
    );
  }
}

export interface FrozenClock {
  now(): number;
  /** Moves the clock by `ms` (back as far as the real now, forward as far as the tests need). */
  tick(ms: number): void;
}

/**
 * Freezes `Date` at `at` (default: now) for the test and every Durable Object it reaches; `tick` moves
 * it. Timers stay real, so socket waits still time out. Undo with `vi.useRealTimers()` (afterEach).
 */
export function freezeClock(at: number = realNow()): FrozenClock {
  refuseUnlessNearNow(at, "freezeClock");
  vi.useFakeTimers({ toFake: ["Date"] });
  let now = at;
  vi.setSystemTime(now);
  return {
    now: () => now,
    tick(ms: number) {
      if (now + ms < realNow() - SLACK_MS) {
        throw new Error("tick: the clock cannot go back past the real now (alarms run on the real clock)");
      }
      now += ms;
      vi.setSystemTime(now);
    },
  };
}

/** Back to the real clock: after every test (setup.ts), or mid-test before work that must run on real time. */
export function thawClock(): void {
  vi.useRealTimers();
}

/**
 * Runs `fn` with the clock `ms` back, so what it writes to D1 is that old, then returns to where the
 * clock was. Only for making history through plain requests: a Durable Object reached in the past arms
 * its alarm for a moment the real clock has already passed.
 */
export async function backdated<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  if (ms <= 0 || ms > 400 * DAY_MS) throw new Error("backdated: between a millisecond and 400 days back");
  const wasFrozen = vi.isFakeTimers();
  const from = Date.now();
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(from - ms);
  try {
    return await fn();
  } finally {
    if (wasFrozen) vi.setSystemTime(from);
    else vi.useRealTimers();
  }
}

/** "HH:MM" as hours and minutes. */
function hoursAndMinutes(time: string): { hour: number; minute: number } {
  const match = /^(\d{2}):(\d{2})$/.exec(time);
  if (!match) throw new Error(`a time of day is "HH:MM", not "${time}"`);
  return { hour: Number(match[1]), minute: Number(match[2]) };
}

/**
 * The first moment after now (at least `margin` ms ahead) at which the wall clock in `zone` reads
 * `time`, on the given ISO weekday (1 = Monday) when one is named: "the next Wednesday, 09:00 in
 * New York". Tests that need a time of day start there instead of at a calendar date.
 */
export function nextLocal(
  zone: string,
  time: string,
  options: { weekday?: number; margin?: number } = {},
): number {
  const { hour, minute } = hoursAndMinutes(time);
  const earliest = realNow() + (options.margin ?? 60_000);
  let date: LocalDate = localParts(zone, earliest).date;
  for (let i = 0; i < 9; i += 1, date = addDays(date, 1)) {
    const [year, month, day] = date.split("-").map(Number) as [number, number, number];
    const at = zonedTimeToUtc(zone, { year, month, day, hour, minute }).getTime();
    const weekdayMatches = options.weekday === undefined || localParts(zone, at).weekday === options.weekday;
    if (at >= earliest && weekdayMatches) return at;
  }
  throw new Error(`no ${time} in ${zone} within a week`);
}

/** The first moment after now at which UTC reads `time` ("08:00"). */
export const nextUtc = (time: string, options: { weekday?: number } = {}) => nextLocal("UTC", time, options);

/** The local calendar date of `at` in `zone` ("YYYY-MM-DD"), to compare with what the API answers. */
export const localDateOf = (at: number, zone = "UTC"): LocalDate => localParts(zone, at).date;
