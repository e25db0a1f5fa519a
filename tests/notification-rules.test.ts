import { describe, expect, it } from "vitest";
import { placeNotification } from "../src/features/notifications/placement";
import { DIGEST_TIME, defaultPreferences } from "../src/features/notifications/preferences";
import { nextDigestAt, quietUntil } from "../src/features/notifications/quiet-hours";
import { dueReminders } from "../src/features/notifications/reminders";
import { addDays, localClock, timeZoneOffsetMinutes, zonedTimeToUtc } from "../src/lib/time";

const HOUR = 3_600_000;
const MINUTE = 60_000;

/** The instant the wall clock in `zone` reads `hh:mm` on `date`. */
function at(zone: string, date: string, hh: number, mm = 0): number {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number];
  return zonedTimeToUtc(zone, { year, month, day, hour: hh, minute: mm }).getTime();
}

/**
 * The next local date (from now) on which `zone` changes its UTC offset, found by walking the calendar:
 * tests of DST never name a date, so they hold whatever the date is.
 */
function nextOffsetChange(zone: string, from?: string): { date: string; springForward: boolean } {
  let date = from ?? localClock(zone, Date.now()).date;
  for (let i = 0; i < 400; i++, date = addDays(date, 1)) {
    const before = timeZoneOffsetMinutes(zone, new Date(at(zone, date, 0)));
    const after = timeZoneOffsetMinutes(zone, new Date(at(zone, date, 12)));
    if (before !== after) return { date, springForward: after > before };
  }
  throw new Error(`${zone} keeps one offset all year`);
}

const night = { start: "22:00", end: "07:00" };

describe("quiet hours", () => {
  const zone = "Europe/Berlin";
  const today = localClock(zone, Date.now()).date;
  const tomorrow = addDays(today, 1);

  it("cover a night that crosses midnight, in the user's zone", () => {
    expect(quietUntil(at(zone, today, 23, 30), zone, night)).toBe(at(zone, tomorrow, 7));
    expect(quietUntil(at(zone, tomorrow, 6, 59), zone, night)).toBe(at(zone, tomorrow, 7));
    expect(quietUntil(at(zone, today, 22), zone, night)).toBe(at(zone, tomorrow, 7));
    expect(quietUntil(at(zone, today, 21, 59), zone, night)).toBeNull();
    expect(quietUntil(at(zone, tomorrow, 7), zone, night)).toBeNull();
    expect(quietUntil(at(zone, today, 12), zone, night)).toBeNull();
  });

  it("cover a window within one day", () => {
    const lunch = { start: "13:00", end: "14:00" };
    expect(quietUntil(at(zone, today, 13, 30), zone, lunch)).toBe(at(zone, today, 14));
    expect(quietUntil(at(zone, today, 14, 30), zone, lunch)).toBeNull();
    expect(quietUntil(at(zone, today, 12, 59), zone, lunch)).toBeNull();
  });

  it("are read on each user's own wall clock", () => {
    const instant = at("UTC", today, 23);
    // 23:00 UTC: night in London (23:00 or 00:00), afternoon in Los Angeles.
    expect(quietUntil(instant, "Europe/London", night)).not.toBeNull();
    expect(quietUntil(instant, "America/Los_Angeles", night)).toBeNull();
    expect(quietUntil(instant, "Asia/Tokyo", night)).toBeNull();
  });

  it.each(["Europe/Berlin", "America/New_York"])(
    "stay 22:00–07:00 on the wall clock across %s's next DST change (the night is an hour shorter or longer)",
    (dstZone) => {
      const change = nextOffsetChange(dstZone);
      const eve = addDays(change.date, -1);
      const bedtime = at(dstZone, eve, 23);
      const wake = quietUntil(bedtime, dstZone, night);
      expect(wake).toBe(at(dstZone, change.date, 7));
      expect(localClock(dstZone, wake ?? 0)).toEqual({ date: change.date, minute: 7 * 60 });
      // 23:00 → 07:00 is 8 hours on the wall; in real time one hour less in spring, one more in autumn.
      expect(((wake ?? 0) - bedtime) / HOUR).toBe(change.springForward ? 7 : 9);
    },
  );

  it("end just after a spring-forward gap when their end falls inside it, never before", () => {
    const zone = "America/New_York";
    let change = nextOffsetChange(zone);
    // The next change may be autumn's: the spring one follows within the year.
    if (!change.springForward) change = nextOffsetChange(zone, addDays(change.date, 1));
    // 02:30 does not exist that night: 01:00–02:30 ends at 03:30 EDT, right after the gap.
    const gap = { start: "01:00", end: "02:30" };
    const inside = at(zone, change.date, 1, 45);
    const end = quietUntil(inside, zone, gap);
    expect(localClock(zone, end ?? 0)).toEqual({ date: change.date, minute: 3 * 60 + 30 });
    expect(end).toBeGreaterThan(inside);
  });
});

describe("the digest time", () => {
  const zone = "Asia/Kolkata";
  const today = localClock(zone, Date.now()).date;

  it("is the end of quiet hours, or 08:00 without them, the next time it comes", () => {
    expect(nextDigestAt(at(zone, today, 6), zone, night, DIGEST_TIME)).toBe(at(zone, today, 7));
    expect(nextDigestAt(at(zone, today, 7), zone, night, DIGEST_TIME)).toBe(at(zone, addDays(today, 1), 7));
    expect(nextDigestAt(at(zone, today, 9), zone, null, DIGEST_TIME)).toBe(at(zone, addDays(today, 1), 8));
    expect(nextDigestAt(at(zone, today, 5), zone, null, DIGEST_TIME)).toBe(at(zone, today, 8));
  });
});

describe("due reminders", () => {
  const now = Date.now();
  const task = (dueInMinutes: number, claimed: number[] = [], offsets = [60, 15]) => ({
    user_id: "u1",
    task_id: "t1",
    title: "Taxes",
    due_at: new Date(now + dueInMinutes * MINUTE).toISOString(),
    offsets,
    claimed,
  });

  it("send the offset that is due, once", () => {
    expect(dueReminders([task(25)], now)).toEqual([
      { claim: [60], send: expect.objectContaining({ offset_minutes: 60 }) },
    ]);
    expect(dueReminders([task(25, [60])], now)).toEqual([]);
    expect(dueReminders([task(14, [60])], now)).toEqual([
      { claim: [15], send: expect.objectContaining({ offset_minutes: 15 }) },
    ]);
    expect(dueReminders([task(14, [60, 15])], now)).toEqual([]);
  });

  it("fold in an offset that would come due within minutes, instead of nudging twice", () => {
    expect(dueReminders([task(16)], now)).toEqual([
      { claim: [60, 15], send: expect.objectContaining({ offset_minutes: 60 }) },
    ]);
    expect(dueReminders([task(21)], now)).toEqual([
      { claim: [60], send: expect.objectContaining({ offset_minutes: 60 }) },
    ]);
  });

  it("send only the closest when several came due together, claiming the rest with it", () => {
    expect(dueReminders([task(10)], now)).toEqual([
      { claim: [60, 15], send: expect.objectContaining({ offset_minutes: 15 }) },
    ]);
  });

  it("send nothing for a task already due, or not yet close", () => {
    expect(dueReminders([task(-1)], now)).toEqual([]);
    expect(dueReminders([task(61)], now)).toEqual([]);
    expect(dueReminders([task(5, [], [])], now)).toEqual([]);
  });
});

describe("placing a notification", () => {
  const zone = "UTC";
  const today = localClock(zone, Date.now()).date;

  it("defers it to the end of quiet hours, on the local day it will arrive", () => {
    const prefs = { ...defaultPreferences(), quiet_hours: night };
    const placed = placeNotification("due_soon", prefs, zone, at(zone, today, 23));
    expect(placed).toMatchObject({
      status: "deferred",
      deliverAt: at(zone, addDays(today, 1), 7),
      localDay: addDays(today, 1),
      pushState: "pending",
      countsTowardCap: true,
    });
  });

  it("past the cap: to the next digest, or silently to the inbox with digests off", () => {
    const noon = at(zone, today, 12);
    expect(placeNotification("focus", defaultPreferences(), zone, noon)?.overCap).toEqual({
      status: "folded",
      deliverAt: at(zone, addDays(today, 1), 8),
    });
    expect(
      placeNotification("focus", { ...defaultPreferences(), digest: "off" }, zone, noon)?.overCap,
    ).toEqual({
      status: "delivered",
      deliverAt: noon,
    });
  });

  it("follows the kind's channels; a digest is never capped", () => {
    const prefs = defaultPreferences();
    const noon = at(zone, today, 12);
    expect(placeNotification("suggestion", prefs, zone, noon)).toMatchObject({
      inApp: true,
      pushState: "none",
    });
    expect(placeNotification("digest", prefs, zone, noon)?.countsTowardCap).toBe(false);
    prefs.kinds.pet = { in_app: false, push: false };
    expect(placeNotification("pet", prefs, zone, noon)).toBeNull();
  });
});
