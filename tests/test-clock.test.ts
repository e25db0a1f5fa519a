import { describe, expect, it } from "vitest";
import { backdated, freezeClock, localDateOf, nextLocal, nextUtc, realNow } from "./helpers/clock";

/**
 * The suite must pass on any date. These guards make a test that would break as the calendar moves
 * fail today instead: a calendar date written into a test that reaches the runtime, a clock moved
 * around the one helper, or a clock frozen before the real now (which Durable Object alarms and queues
 * keep running on).
 */

const sources: Record<string, string> = import.meta.glob<string>(["./*.test.ts", "./helpers/*.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});

// A real calendar date (year 19xx or 20xx, month 01–12, day 01–31); month 13 or year 9999 is no date anyone meets.
const CALENDAR_DATE = /\b(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])/;
const REACHES_RUNTIME = /cloudflare:workers|cloudflare:test|helpers\/api"/;
const MOVES_CLOCK = /useFakeTimers|setSystemTime|useRealTimers|spyOn\(Date\b/;
const THE_CLOCK_HELPERS = new Set(["./helpers/clock.ts", "./helpers/setup.ts", "./test-clock.test.ts"]);

describe("tests that pass on any date", () => {
  it("finds the suite's files to check", () => {
    expect(Object.keys(sources).length).toBeGreaterThan(20);
    expect(sources["./pets.test.ts"]).toContain("freezeClock");
  });

  it("write no calendar date in a test that reaches the Worker, its objects or its queues", () => {
    const offenders = Object.entries(sources)
      .filter(([path, text]) => !THE_CLOCK_HELPERS.has(path) && REACHES_RUNTIME.test(text))
      .flatMap(([path, text]) =>
        text
          .split("\n")
          .map((line, i) => ({ line, at: `${path}:${i + 1}` }))
          .filter(({ line }) => CALENDAR_DATE.test(line))
          .map(({ line, at }) => `${at}: ${line.trim()}`),
      );
    // Pure rule tests (no runtime) pass their `now` in and may use any date they like.
    expect(offenders).toEqual([]);
  });

  it("move the clock only through tests/helpers/clock.ts", () => {
    const offenders = Object.entries(sources)
      .filter(([path, text]) => !THE_CLOCK_HELPERS.has(path) && MOVES_CLOCK.test(text))
      .map(([path]) => path);
    expect(offenders).toEqual([]);
  });
});

describe("the clock helper", () => {
  it("refuses a clock in the past: alarms would fall due at once on the real clock", () => {
    expect(() => freezeClock(realNow() - 86_400_000)).toThrow(/before the real now/);
    expect(() => freezeClock(realNow() - 60_000)).toThrow(/before the real now/);
  });

  it("refuses a clock far ahead: a date written today fails the day the calendar reaches it", () => {
    expect(() => freezeClock(realNow() + 30 * 86_400_000)).toThrow(/8 days/);
  });

  it("freezes now, moves forward, and never back past the real now", () => {
    const clock = freezeClock();
    const start = clock.now();
    clock.tick(3_600_000);
    expect(Date.now()).toBe(start + 3_600_000);
    expect(() => clock.tick(-2 * 3_600_000)).toThrow(/real now/);
  });

  it("finds the next time of day, in a zone and on a weekday, ahead of now", () => {
    const morning = nextUtc("08:00");
    expect(new Date(morning).toISOString().slice(11, 16)).toBe("08:00");
    expect(morning).toBeGreaterThan(realNow());
    expect(morning - realNow()).toBeLessThanOrEqual(86_400_000 + 60_000);
    const wednesday = nextLocal("America/New_York", "09:00", { weekday: 3 });
    expect(new Date(wednesday).getUTCDay()).toBe(3);
    expect(
      new Intl.DateTimeFormat("en-US", {
        timeZone: "America/New_York",
        hour: "numeric",
        hourCycle: "h23",
      }).format(wednesday),
    ).toBe("09");
    expect(wednesday - realNow()).toBeLessThanOrEqual(7 * 86_400_000 + 60_000);
    expect(localDateOf(wednesday, "America/New_York")).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("backdates a piece of work, then returns to now", async () => {
    const before = Date.now();
    const seen = await backdated(3 * 86_400_000, async () => Date.now());
    expect(before - seen).toBeGreaterThanOrEqual(3 * 86_400_000 - 1000);
    expect(Math.abs(Date.now() - before)).toBeLessThan(5000);
  });
});
