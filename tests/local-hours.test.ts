import { afterEach, describe, expect, it, vi } from "vitest";
import { awakeAndAsleep, nextAttentionAt } from "../src/features/pets/care";
import { localHourReader, localParts } from "../src/lib/time";
import { petState } from "./helpers/pet-state";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Pure calendar arithmetic, no clock involved: a fixed year with every kind of DST change in it.
const YEAR_START = Date.parse("2026-01-01T00:00:00Z");

// Whole-hour, half-hour and quarter-hour offsets; northern, southern, 30-minute DST and none at all.
const ZONES = [
  "UTC",
  "America/New_York",
  "Europe/Berlin",
  "America/Santiago",
  "Australia/Lord_Howe",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Pacific/Chatham",
];

afterEach(() => vi.restoreAllMocks());

describe("localHourReader", () => {
  it.each(ZONES)("reads the same hour as the wall clock all year in %s, hour by hour", (zone) => {
    const hourAt = localHourReader(zone);
    const wrong: string[] = [];
    for (let at = YEAR_START; at < YEAR_START + 366 * DAY; at += HOUR) {
      const expected = localParts(zone, at).hour;
      const got = hourAt(at);
      if (got !== expected) wrong.push(`${new Date(at).toISOString()}: ${got} ≠ ${expected}`);
    }
    expect(wrong).toEqual([]);
  });

  const CHANGING = ZONES.filter((zone) => !["UTC", "Asia/Kolkata", "Asia/Kathmandu"].includes(zone));

  it.each(CHANGING)("is right minute by minute around every offset change in %s", (zone) => {
    const hourAt = localHourReader(zone);
    const wrong: string[] = [];
    let changes = 0;
    // Every change of offset in the year, to the hour, then every minute of the two hours around it.
    for (let at = YEAR_START; at < YEAR_START + 366 * DAY; at += HOUR) {
      const before = localParts(zone, at).hour;
      const after = localParts(zone, at + HOUR).hour;
      if ((before + 1) % 24 === after) continue;
      changes += 1;
      for (let t = at - HOUR; t <= at + 2 * HOUR; t += MINUTE) {
        const odd = t + 17_321; // not on a minute: instants are milliseconds
        for (const instant of [t, odd]) {
          if (hourAt(instant) !== localParts(zone, instant).hour) wrong.push(new Date(instant).toISOString());
        }
      }
    }
    expect(changes).toBe(2);
    expect(wrong).toEqual([]);
  });

  it("finds a change that falls within the last second of a day's span", () => {
    // Berlin moves to summer time at 01:00:00 UTC: a reader first asked half a second after the same
    // moment a day before has a span ending half a second past the change.
    const change = Date.parse("2026-03-29T01:00:00Z");
    const hourAt = localHourReader("Europe/Berlin");
    expect(hourAt(change - DAY + 500)).toBe(2);
    expect(hourAt(change - 1)).toBe(1); // 01:59:59 winter time; a millisecond later, 03:00
    expect(hourAt(change)).toBe(3);
    expect(hourAt(change + 499)).toBe(3);
    const fresh = localHourReader("Europe/Berlin");
    fresh(change - DAY + 500);
    expect(fresh(change)).toBe(3);
  });

  it("answers instants read out of order too", () => {
    const hourAt = localHourReader("Europe/Berlin");
    const instants = [
      Date.parse("2026-10-25T00:30:00Z"),
      Date.parse("2026-03-29T00:59:59Z"),
      Date.parse("2026-10-25T01:00:00Z"),
      Date.parse("2026-03-29T01:00:00Z"),
      Date.parse("2026-07-01T12:00:00Z"),
      Date.parse("2026-10-24T23:59:59Z"),
    ];
    expect(instants.map(hourAt)).toEqual(instants.map((at) => localParts("Europe/Berlin", at).hour));
  });

  it("asks the runtime for the zone's offset about once per day walked, not once per hour", () => {
    const formats = vi.spyOn(Intl.DateTimeFormat.prototype, "formatToParts");
    const hourAt = localHourReader("America/New_York");
    // Two weeks across the November change, hour by hour: 336 instants.
    const from = Date.parse("2026-10-25T00:00:00Z");
    for (let at = from; at < from + 14 * DAY; at += HOUR) hourAt(at);
    // A day each (14 + the last day's far end) and a search to the second for the one change.
    expect(formats.mock.calls.length).toBeGreaterThan(14);
    expect(formats.mock.calls.length).toBeLessThan(14 + 1 + 2 * 20);
  });
});

describe("a pet's walks over local hours", () => {
  const pet = petState({
    timezone: "America/New_York",
    fullness: 100,
    happiness: 100,
    stats_at: Date.parse("2026-10-31T12:00:00Z"),
  });

  it("counts night hours on the local clock across the change to winter time", () => {
    // 2026-11-01 in New York: 02:00 EDT becomes 01:00 EST. Night is 22:00–07:00 local.
    const from = Date.parse("2026-10-31T12:00:00Z"); // 08:00 EDT
    const to = Date.parse("2026-11-01T18:00:00Z"); // 13:00 EST
    let asleep = 0;
    for (let at = from; at < to; at += HOUR) {
      const hour = localParts("America/New_York", at).hour;
      if (hour >= 22 || hour < 7) asleep += 1;
    }
    // 22:00 EDT to 07:00 EST is ten real hours: the repeated 01:00 counts twice.
    expect(asleep).toBe(10);
    expect(awakeAndAsleep(from, to, "America/New_York")).toEqual({ awake: 30 - asleep, asleep });
  });

  it("asks for the zone's offset once a day, not once an hour, on a walk to the attention line", () => {
    const formats = vi.spyOn(Intl.DateTimeFormat.prototype, "formatToParts");
    // Full at level 1, far from any change of offset: fullness reaches the line over 15 hours later.
    const fed = { ...pet, stats_at: Date.parse("2026-11-10T12:00:00Z") };
    const due = nextAttentionAt(fed);
    expect(due).toBeGreaterThan(fed.stats_at + 12 * HOUR);
    expect(due).toBeLessThan(fed.stats_at + 2 * DAY);
    expect(formats.mock.calls.length).toBeLessThanOrEqual(4);
  });

  it("walks two weeks of hours for the fading sums with a few dozen offset reads", () => {
    const formats = vi.spyOn(Intl.DateTimeFormat.prototype, "formatToParts");
    const from = Date.parse("2026-10-25T00:00:00Z");
    const hours = awakeAndAsleep(from, from + 14 * DAY, "America/New_York");
    expect(hours.awake + hours.asleep).toBe(14 * 24);
    // Nine night hours a day, and the extra hour of the winter-time night.
    expect(hours.asleep).toBe(14 * 9 + 1);
    expect(formats.mock.calls.length).toBeLessThan(40);
  });
});
