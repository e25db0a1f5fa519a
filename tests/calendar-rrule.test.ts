import { describe, expect, it } from "vitest";
import type { DateContext, IcsTime } from "../src/features/calendar/ics-dates";
import { IcsSyntaxError } from "../src/features/calendar/ics-parser";
import {
  MAX_DATE_VALUES,
  MAX_OCCURRENCES_PER_SERIES,
  planImport,
  TooManyItemsError,
} from "../src/features/calendar/import-plan";
import { expand, parseRRule, type RRule } from "../src/features/calendar/rrule";

/** Next year's calendar, built rather than written: these tests mean the same whatever today is. */
const YEAR = new Date().getUTCFullYear() + 1;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const context: DateContext = { defaultZone: "UTC", unknownZone: () => undefined };

const rule = (value: string): RRule => {
  const parsed = parseRRule({ name: "RRULE", params: {}, value, line: 9 }, context);
  if (!parsed.ok) throw new Error(`unsupported: ${parsed.unsupported}`);
  return parsed.rule;
};

const at = (ms: number, zone = "UTC"): IcsTime & { kind: "date-time" } => {
  const d = new Date(ms);
  return {
    kind: "date-time",
    wall: {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    },
    zone,
    floating: false,
  };
};

const day = (year: number, month: number, date: number): IcsTime => ({
  kind: "date",
  wall: { year, month, day: date, hour: 0, minute: 0, second: 0 },
});

/** The first weekday (0 = Monday) on or after a UTC day. */
function firstWeekday(ms: number, weekday: number): number {
  const iso = (new Date(ms).getUTCDay() + 6) % 7;
  return ms + ((weekday - iso + 7) % 7) * DAY;
}

function occurrences(
  start: IcsTime,
  value: string,
  options: { from?: number; to?: number; exdates?: IcsTime[]; rdates?: IcsTime[] } = {},
) {
  const startMs = Date.UTC(
    start.wall.year,
    start.wall.month - 1,
    start.wall.day,
    start.wall.hour,
    start.wall.minute,
  );
  return expand({
    start,
    rule: rule(value),
    rdates: options.rdates ?? [],
    exdates: options.exdates ?? [],
    zone: "UTC",
    from: options.from ?? startMs - DAY,
    to: options.to ?? startMs + 800 * DAY,
    durationMs: HOUR,
    maxOccurrences: 1000,
    budget: { candidates: 1_000_000 },
  });
}

const isoDays = (list: { instant: number }[]) =>
  list.map((o) => new Date(o.instant).toISOString().slice(0, 10));

describe("RRULE parsing", () => {
  it.each([
    ["COUNT=3", "no FREQ"],
    ["FREQ=FORTNIGHTLY", "not a frequency"],
    ["FREQ=DAILY;COUNT=0", "COUNT"],
    ["FREQ=DAILY;INTERVAL=x", "INTERVAL"],
    ["FREQ=WEEKLY;BYDAY=XX", "BYDAY"],
    ["FREQ=MONTHLY;BYDAY=0MO", "BYDAY"],
    ["FREQ=MONTHLY;BYMONTHDAY=32", "BYMONTHDAY"],
    ["FREQ=WEEKLY;WKST=XX", "WKST"],
    ["FREQ=DAILY;UNTIL=soon", "UNTIL"],
    ["FREQ=DAILY;COUNT", "NAME=VALUE"],
  ])("refuses %j, at the property's line", (value, says) => {
    const parse = () => parseRRule({ name: "RRULE", params: {}, value, line: 9 }, context);
    expect(parse).toThrow(IcsSyntaxError);
    expect(parse).toThrow(says);
  });

  it.each([
    ["FREQ=HOURLY", "FREQ=HOURLY"],
    ["FREQ=DAILY;BYHOUR=9,17", "BYHOUR"],
    ["FREQ=YEARLY;BYWEEKNO=20", "BYWEEKNO"],
    ["FREQ=YEARLY;BYDAY=20MO", "BYDAY with FREQ=YEARLY and no BYMONTH"],
    ["FREQ=DAILY;BYDAY=1MO", "ordinal"],
    ["FREQ=WEEKLY;BYDAY=2MO", "ordinal"],
    ["FREQ=WEEKLY;BYMONTHDAY=2", "BYMONTHDAY with FREQ=WEEKLY"],
  ])("answers %j as unsupported (%s)", (value, part) => {
    const parsed = parseRRule({ name: "RRULE", params: {}, value, line: 9 }, context);
    expect(parsed).toEqual({ ok: false, unsupported: expect.stringContaining(part) });
  });
});

describe("RRULE lists", () => {
  it("drop repeated entries", () => {
    expect(rule("FREQ=MONTHLY;BYDAY=1MO,1MO,+1MO,-1FR").byDay).toEqual([
      { weekday: 0, ordinal: 1 },
      { weekday: 4, ordinal: -1 },
    ]);
    expect(rule("FREQ=MONTHLY;BYMONTHDAY=1,1,01,-1").byMonthDay).toEqual([1, -1]);
  });

  it("are refused past 50 entries, at the property's line, even when they repeat", () => {
    const many = Array.from({ length: 51 }, () => "1MO").join(",");
    for (const value of [`FREQ=MONTHLY;BYDAY=${many}`, `FREQ=MONTHLY;BYMONTHDAY=${"1,".repeat(50)}1`]) {
      const parse = () => parseRRule({ name: "RRULE", params: {}, value, line: 9 }, context);
      expect(parse).toThrow(IcsSyntaxError);
      expect(parse).toThrow("more than 50");
    }
    expect(
      rule(`FREQ=MONTHLY;BYDAY=${Array.from({ length: 50 }, () => "1MO").join(",")}`).byDay,
    ).toHaveLength(1);
  });
});

describe("RRULE expansion", () => {
  const monday = firstWeekday(Date.UTC(YEAR, 0, 1, 9), 0);

  it("walks DAILY with INTERVAL and COUNT, DTSTART first", () => {
    const { occurrences: list } = occurrences(at(monday), "FREQ=DAILY;INTERVAL=2;COUNT=4");
    expect(list.map((o) => (o.instant - monday) / DAY)).toEqual([0, 2, 4, 6]);
  });

  it("walks WEEKLY on the BYDAY days, and WKST decides which weeks INTERVAL skips (RFC 5545 example)", () => {
    const tuesday = monday + DAY;
    const offsets = (wkst: string) =>
      occurrences(at(tuesday), `FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=${wkst}`).occurrences.map(
        (o) => (o.instant - tuesday) / DAY,
      );
    expect(offsets("MO")).toEqual([0, 5, 14, 19]);
    expect(offsets("SU")).toEqual([0, 12, 14, 26]);
  });

  it("walks MONTHLY on the last day (BYMONTHDAY=-1) and the second Tuesday (BYDAY=2TU)", () => {
    const last = occurrences(day(YEAR, 1, 31), "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=3").occurrences;
    const february = new Date(Date.UTC(YEAR, 2, 0)).getUTCDate();
    expect(isoDays(last)).toEqual([`${YEAR}-01-31`, `${YEAR}-02-${february}`, `${YEAR}-03-31`]);
    const secondTuesdays = occurrences(day(YEAR, 1, 1), "FREQ=MONTHLY;BYDAY=2TU;COUNT=4").occurrences;
    for (const o of secondTuesdays.slice(1)) {
      const d = new Date(o.instant);
      expect(d.getUTCDay()).toBe(2);
      expect(Math.ceil(d.getUTCDate() / 7)).toBe(2);
    }
    expect(new Set(secondTuesdays.slice(1).map((o) => new Date(o.instant).getUTCMonth())).size).toBe(3);
  });

  it("skips months without the start's day (the 31st), and years without February 29", () => {
    const thirty = occurrences(day(YEAR, 1, 31), "FREQ=MONTHLY;COUNT=4").occurrences;
    expect(isoDays(thirty).map((d) => d.slice(5))).toEqual(["01-31", "03-31", "05-31", "07-31"]);
    let leap = YEAR;
    while (new Date(Date.UTC(leap, 1, 29)).getUTCMonth() !== 1) leap += 1;
    const yearly = occurrences(day(leap, 2, 29), "FREQ=YEARLY;COUNT=2", {
      to: Date.UTC(leap + 9, 0, 1),
    }).occurrences;
    expect(isoDays(yearly)).toEqual([`${leap}-02-29`, `${leap + 4}-02-29`]);
  });

  it("follows Outlook's first Monday (BYDAY=MO;BYSETPOS=1) and the last weekday (BYSETPOS=-1)", () => {
    const firstMondays = occurrences(day(YEAR, 1, 1), "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1;COUNT=6").occurrences;
    for (const o of firstMondays.slice(1)) {
      const d = new Date(o.instant);
      expect(d.getUTCDay()).toBe(1);
      expect(d.getUTCDate()).toBeLessThanOrEqual(7);
    }
    expect(firstMondays).toHaveLength(6);
    const lastWeekdays = occurrences(
      day(YEAR, 1, 1),
      "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=13",
    ).occurrences.slice(1);
    expect(lastWeekdays).toHaveLength(12);
    for (const o of lastWeekdays) {
      const d = new Date(o.instant);
      expect([1, 2, 3, 4, 5]).toContain(d.getUTCDay());
      // No weekday of the same month comes after it.
      const next = new Date(o.instant + DAY);
      const afterNext = new Date(o.instant + 3 * DAY);
      expect(next.getUTCMonth() !== d.getUTCMonth() || afterNext.getUTCMonth() !== d.getUTCMonth()).toBe(
        true,
      );
    }
  });

  it("walks YEARLY in the BYMONTH months (the 14th of March; the fourth Thursday of November)", () => {
    const pi = occurrences(day(YEAR, 1, 10), "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=14;COUNT=3", {
      to: Date.UTC(YEAR + 3, 0, 1),
    }).occurrences;
    expect(isoDays(pi)).toEqual([`${YEAR}-01-10`, `${YEAR}-03-14`, `${YEAR + 1}-03-14`]);
    const thanksgiving = occurrences(day(YEAR, 1, 1), "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH;COUNT=3", {
      to: Date.UTC(YEAR + 3, 0, 1),
    }).occurrences.slice(1);
    for (const o of thanksgiving) {
      const d = new Date(o.instant);
      expect([d.getUTCMonth(), d.getUTCDay(), Math.ceil(d.getUTCDate() / 7)]).toEqual([10, 4, 4]);
    }
    expect(thanksgiving).toHaveLength(2);
    // BYMONTH filters the other frequencies: daily through February only, weekdays only.
    const february = occurrences(
      day(YEAR, 1, 30),
      "FREQ=DAILY;BYMONTH=2;BYDAY=MO,TU,WE,TH,FR;COUNT=6",
    ).occurrences.slice(1);
    for (const o of february) {
      expect(new Date(o.instant).getUTCMonth()).toBe(1);
      expect([1, 2, 3, 4, 5]).toContain(new Date(o.instant).getUTCDay());
    }
    expect(february).toHaveLength(5);
  });

  it("excludes an all-day occurrence by a DATE-TIME EXDATE on its date", () => {
    const list = occurrences(day(YEAR, 1, 1), "FREQ=DAILY;COUNT=4", {
      exdates: [at(Date.UTC(YEAR, 0, 2, 9))],
    }).occurrences;
    expect(isoDays(list)).toEqual([`${YEAR}-01-01`, `${YEAR}-01-03`, `${YEAR}-01-04`]);
  });

  it("charges candidate days, not periods: a long BYDAY list from the year 1000 stops at the budget", () => {
    const budget = { candidates: 10_000 };
    const byDay = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"].map((d) => `-1${d}`).join(",");
    const result = expand({
      start: at(Date.UTC(1000, 0, 1, 9)),
      rule: rule(`FREQ=MONTHLY;COUNT=85000;BYDAY=${byDay}`),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: Date.UTC(YEAR, 0, 1),
      to: Date.UTC(YEAR, 2, 1),
      durationMs: HOUR,
      maxOccurrences: 100,
      budget,
    });
    expect(result.incomplete).toBe(true);
    expect(budget.candidates).toBeLessThanOrEqual(0);
    expect(budget.candidates).toBeGreaterThan(-100);
  });

  it("stops at UNTIL (inclusive), removes EXDATEs and adds RDATEs", () => {
    const until = `FREQ=DAILY;UNTIL=${new Date(monday + 3 * DAY)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "")}`;
    const list = occurrences(at(monday), until, {
      exdates: [at(monday + DAY)],
      rdates: [at(monday + 10 * DAY)],
    }).occurrences;
    expect(list.map((o) => (o.instant - monday) / DAY)).toEqual([0, 2, 3, 10]);
  });

  it("keeps the wall-clock time across a DST change", () => {
    // Weekly at 09:00 in Berlin through March: the clocks move on its last Sunday, the meeting does not.
    const start: IcsTime = { ...at(Date.UTC(YEAR, 2, 2, 9)), zone: "Europe/Berlin" };
    const { occurrences: list } = expand({
      start,
      rule: rule("FREQ=WEEKLY;COUNT=6"),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: Date.UTC(YEAR, 2, 1),
      to: Date.UTC(YEAR, 5, 1),
      durationMs: HOUR,
      maxOccurrences: 100,
      budget: { candidates: 1000 },
    });
    const utcHours = list.map((o) => new Date(o.instant).getUTCHours());
    expect(utcHours[0]).toBe(8);
    expect(utcHours.at(-1)).toBe(7);
  });

  it("answers only the window, counting COUNT from DTSTART, and caps how many", () => {
    const start = monday;
    const window = occurrences(at(start), "FREQ=DAILY;COUNT=10", {
      from: start + 5 * DAY + 2 * HOUR,
      to: start + 30 * DAY,
    });
    expect(window.occurrences.map((o) => (o.instant - start) / DAY)).toEqual([6, 7, 8, 9]);
    const capped = expand({
      start: at(start),
      rule: rule("FREQ=DAILY"),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: start,
      to: start + 60 * DAY,
      durationMs: HOUR,
      maxOccurrences: 7,
      budget: { candidates: 1000 },
    });
    expect(capped.occurrences).toHaveLength(7);
    expect(capped.truncated).toBe(true);
  });

  it("jumps ahead through an endless rule that began long ago, and gives up when the budget is spent", () => {
    const long = Date.UTC(YEAR - 60, 0, 1, 9);
    const now = Date.UTC(YEAR, 0, 1);
    const fast = expand({
      start: at(long),
      rule: rule("FREQ=DAILY"),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: now,
      to: now + 10 * DAY,
      durationMs: HOUR,
      maxOccurrences: 100,
      budget: { candidates: 50 },
    });
    expect(fast.occurrences).toHaveLength(10);
    // COUNT without BY-parts is counted by arithmetic: the walk starts near the window too.
    const countedDaily = expand({
      start: at(long),
      rule: rule("FREQ=DAILY;COUNT=999999999"),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: now,
      to: now + 10 * DAY,
      durationMs: HOUR,
      maxOccurrences: 100,
      budget: { candidates: 50 },
    });
    expect(countedDaily.occurrences).toHaveLength(10);
    // With BYDAY each month differs: COUNT is walked from DTSTART, day by day, until the budget is spent.
    const counted = expand({
      start: at(long),
      rule: rule("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;COUNT=999999999"),
      rdates: [],
      exdates: [],
      zone: "UTC",
      from: now,
      to: now + 10 * DAY,
      durationMs: HOUR,
      maxOccurrences: 100,
      budget: { candidates: 50 },
    });
    expect(counted).toMatchObject({ occurrences: [], incomplete: true });
  });
});

describe("an import plan", () => {
  const now = Date.UTC(YEAR, 3, 10, 12);
  const utc = (ms: number) =>
    new Date(ms)
      .toISOString()
      .replace(/\.\d{3}Z$/, "Z")
      .replace(/[-:]/g, "");
  const file = (...lines: string[]) =>
    ["BEGIN:VCALENDAR", "VERSION:2.0", ...lines, "END:VCALENDAR"].join("\r\n");

  it("reads to-dos by DUE, else by DTSTART + DURATION, and skips done ones", () => {
    const plan = planImport(
      file(
        "BEGIN:VTODO",
        "UID:a",
        "SUMMARY:  Water   the plants ",
        `DUE:${utc(now + DAY)}`,
        "PRIORITY:3",
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:b",
        "SUMMARY:With duration",
        `DTSTART:${utc(now + DAY)}`,
        "DURATION:PT2H",
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:c",
        "SUMMARY:Done",
        `COMPLETED:${utc(now)}`,
        "END:VTODO",
        "BEGIN:VTODO",
        "UID:d",
        "END:VTODO",
      ),
      { now, zone: "UTC" },
    );
    expect(plan.items.map((i) => [i.uid, i.title, i.dueAt, i.priority])).toEqual([
      ["a", "Water the plants", new Date(now + DAY).toISOString(), "high"],
      ["b", "With duration", new Date(now + DAY + 2 * HOUR).toISOString(), undefined],
      ["d", "(no title)", null, undefined],
    ]);
    expect(plan.skipped).toBe(1);
  });

  it("reads whole-day events as due at 23:59 on the person's clock, with the location in the description", () => {
    const plan = planImport(
      file(
        "BEGIN:VEVENT",
        "UID:trip",
        "SUMMARY:Trip",
        `DTSTART;VALUE=DATE:${utc(now + 2 * DAY).slice(0, 8)}`,
        "DESCRIPTION:Pack\\nlight",
        "LOCATION:Lisbon\\, Portugal",
        "END:VEVENT",
      ),
      { now, zone: "America/New_York" },
    );
    const due = new Date(now + 2 * DAY);
    // 23:59 in New York in April (EDT, UTC-4) is 03:59 UTC the next day.
    expect(plan.items[0]?.dueAt).toBe(
      new Date(Date.UTC(YEAR, due.getUTCMonth(), due.getUTCDate() + 1, 3, 59)).toISOString(),
    );
    expect(plan.items[0]?.description).toBe("Pack\nlight\n\nLocation: Lisbon, Portugal");
    expect(plan.items[0]?.estimatedMinutes).toBeNull();
  });

  it("lets an override move one occurrence and a cancelled override drop another", () => {
    const start = now + HOUR;
    const plan = planImport(
      file(
        "BEGIN:VEVENT",
        "UID:weekly",
        "SUMMARY:Review",
        `DTSTART:${utc(start)}`,
        `DTEND:${utc(start + HOUR)}`,
        "RRULE:FREQ=WEEKLY;COUNT=4",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly",
        `RECURRENCE-ID:${utc(start + 7 * DAY)}`,
        "SUMMARY:Review (moved)",
        `DTSTART:${utc(start + 8 * DAY)}`,
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:weekly",
        `RECURRENCE-ID:${utc(start + 14 * DAY)}`,
        "STATUS:CANCELLED",
        `DTSTART:${utc(start + 14 * DAY)}`,
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(plan.items.map((i) => [i.title, i.recurrenceKey, i.dueAt])).toEqual([
      ["Review (moved)", utc(start + 7 * DAY), new Date(start + 8 * DAY).toISOString()],
      ["Review", utc(start), new Date(start).toISOString()],
      ["Review", utc(start + 21 * DAY), new Date(start + 21 * DAY).toISOString()],
    ]);
    expect(plan.items[1]?.estimatedMinutes).toBe(60);
    expect(plan.skipped).toBe(1);
  });

  it("keeps the version of a UID with the highest SEQUENCE, and makes up a stable UID where there is none", () => {
    const event = (sequence: number, title: string) => [
      "BEGIN:VEVENT",
      "UID:same",
      `SEQUENCE:${sequence}`,
      `SUMMARY:${title}`,
      `DTSTART:${utc(now + DAY)}`,
      "END:VEVENT",
    ];
    const plan = planImport(
      file(
        ...event(2, "Newest"),
        ...event(1, "Older"),
        "BEGIN:VEVENT",
        "SUMMARY:Anonymous",
        `DTSTART:${utc(now + DAY)}`,
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(plan.items.map((i) => i.title)).toEqual(["Newest", "Anonymous"]);
    expect(plan.items[1]?.uid).toMatch(/^generated-[0-9a-f]{8}$/);
    expect(plan.warnings.map((w) => w.message).join(" ")).toContain("appears more than once");
    expect(plan.warnings.map((w) => w.message).join(" ")).toContain("no UID");
    const again = planImport(
      file("BEGIN:VEVENT", "SUMMARY:Anonymous", `DTSTART:${utc(now + DAY)}`, "END:VEVENT"),
      {
        now,
        zone: "UTC",
      },
    );
    expect(again.items[0]?.uid).toBe(plan.items[1]?.uid);
  });

  it("imports a recurring to-do once, and skips what this platform's own feed marks", () => {
    const plan = planImport(
      file(
        "BEGIN:VTODO",
        "UID:r",
        "SUMMARY:Every day",
        `DUE:${utc(now + DAY)}`,
        "RRULE:FREQ=DAILY",
        "END:VTODO",
        "BEGIN:VEVENT",
        "UID:focus-1@proxy-agent.dev",
        `DTSTART:${utc(now + HOUR)}`,
        "X-PROXY-AGENT-KIND:focus-session",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:task-1@proxy-agent.dev",
        `DTSTART:${utc(now + HOUR)}`,
        "X-PROXY-AGENT-STATUS:completed",
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(plan.items.map((i) => i.uid)).toEqual(["r"]);
    expect(plan.skipped).toBe(2);
    expect(plan.warnings).toContainEqual({
      line: 7,
      message: 'Recurring to-dos are imported once: "Every day".',
    });
  });

  it("lets a RECURRENCE-ID of the other kind replace its occurrence (all-day series, timed series)", () => {
    const firstDay = utc(now + 2 * DAY).slice(0, 8);
    const secondDay = utc(now + 3 * DAY).slice(0, 8);
    const allDay = planImport(
      file(
        "BEGIN:VEVENT",
        "UID:days",
        "SUMMARY:Daily",
        `DTSTART;VALUE=DATE:${firstDay}`,
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:days",
        `RECURRENCE-ID:${secondDay}T000000Z`,
        "SUMMARY:Daily (moved)",
        `DTSTART;VALUE=DATE:${utc(now + 6 * DAY).slice(0, 8)}`,
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(allDay.items.map((i) => [i.title, i.recurrenceKey])).toEqual([
      ["Daily (moved)", secondDay],
      ["Daily", firstDay],
      ["Daily", utc(now + 4 * DAY).slice(0, 8)],
    ]);
    const start = now + DAY;
    const timed = planImport(
      file(
        "BEGIN:VEVENT",
        "UID:times",
        "SUMMARY:Standup",
        `DTSTART:${utc(start)}`,
        "RRULE:FREQ=DAILY;COUNT=3",
        "END:VEVENT",
        "BEGIN:VEVENT",
        "UID:times",
        `RECURRENCE-ID;VALUE=DATE:${utc(start + DAY).slice(0, 8)}`,
        "SUMMARY:Standup (later)",
        `DTSTART:${utc(start + DAY + 2 * HOUR)}`,
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(timed.items.map((i) => [i.title, i.recurrenceKey])).toEqual([
      ["Standup (later)", utc(start + DAY)],
      ["Standup", utc(start)],
      ["Standup", utc(start + 2 * DAY)],
    ]);
  });

  it("says an unsupported rule's first occurrence is over, rather than claiming to import it", () => {
    const plan = planImport(
      file(
        "BEGIN:VEVENT",
        "UID:old",
        "SUMMARY:Old",
        `DTSTART:${utc(now - 30 * DAY)}`,
        "RRULE:FREQ=DAILY;BYHOUR=9",
        "END:VEVENT",
      ),
      { now, zone: "UTC" },
    );
    expect(plan.items).toEqual([]);
    expect(plan.warnings).toContainEqual({
      line: 7,
      message: 'RRULE BYHOUR is not supported and the first occurrence of "Old" is over: it is not imported.',
    });
  });

  it("refuses a to-do whose DTSTART + DURATION is due past the year 9999, and reads a huge SEQUENCE as 0", () => {
    const far = () =>
      planImport(file("BEGIN:VTODO", "UID:far", "DTSTART:99991201T000000Z", "DURATION:P520W", "END:VTODO"), {
        now,
        zone: "UTC",
      });
    expect(far).toThrow(IcsSyntaxError);
    expect(far).toThrow("after the year 9999");
    const plan = planImport(
      file("BEGIN:VTODO", "UID:s", `DUE:${utc(now + DAY)}`, `SEQUENCE:${"9".repeat(30)}`, "END:VTODO"),
      { now, zone: "UTC" },
    );
    expect(plan.items[0]?.sequence).toBe(0);
  });

  it("cuts titles by code points and quotes long UIDs short", () => {
    const uid = "u".repeat(5000);
    const event = (title: string) => [
      "BEGIN:VEVENT",
      `UID:${uid}`,
      `SUMMARY:${title}`,
      `DTSTART:${utc(now + DAY)}`,
      "END:VEVENT",
    ];
    const plan = planImport(file(...event(`${"a".repeat(299)}🙂🙂`), ...event("Again")), {
      now,
      zone: "UTC",
    });
    expect(plan.items.map((i) => i.title)).toEqual(["Again"]);
    const single = planImport(file(...event(`${"a".repeat(299)}🙂🙂`)), { now, zone: "UTC" });
    expect(single.items[0]?.title).toBe(`${"a".repeat(299)}🙂`);
    const duplicate = plan.warnings.find((w) => w.message.includes("more than once"));
    expect(duplicate?.message.length).toBeLessThan(200);
  });

  it("refuses more RDATE and EXDATE values than an import reads, at the line where they run over", () => {
    const values = (n: number) => Array.from({ length: n }, (_, i) => utc(now - i * DAY)).join(",");
    const text = (n: number) =>
      file(
        "BEGIN:VEVENT",
        "UID:x",
        `DTSTART:${utc(now + HOUR)}`,
        "RRULE:FREQ=DAILY",
        `EXDATE:${values(5000)}`,
        `EXDATE:${values(n)}`,
        "END:VEVENT",
      );
    expect(planImport(text(MAX_DATE_VALUES - 5000), { now, zone: "UTC" }).items.length).toBeGreaterThan(0);
    const refused = () => planImport(text(MAX_DATE_VALUES - 4999), { now, zone: "UTC" });
    expect(refused).toThrow(IcsSyntaxError);
    expect(refused).toThrow(`more than ${MAX_DATE_VALUES} RDATE and EXDATE values`);
  });

  it("caps occurrences per series and items per import", () => {
    const daily = file(
      "BEGIN:VEVENT",
      "UID:often",
      "SUMMARY:Often",
      `DTSTART:${utc(now + HOUR)}`,
      "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;INTERVAL=1",
      `RDATE:${Array.from({ length: 50 }, (_, i) => utc(now + i * HOUR + 30 * 60_000)).join(",")}`,
      "END:VEVENT",
    );
    const plan = planImport(daily, { now, zone: "UTC" });
    expect(plan.items).toHaveLength(MAX_OCCURRENCES_PER_SERIES);
    expect(plan.warnings.map((w) => w.message).join(" ")).toContain(
      `more than ${MAX_OCCURRENCES_PER_SERIES} times`,
    );
    expect(() => planImport(daily, { now, zone: "UTC", maxItems: 10 })).toThrow(TooManyItemsError);
  });

  it("warns once per unknown time zone and says how many more warnings it left out", () => {
    const events = Array.from({ length: 60 }, (_, i) => [
      "BEGIN:VEVENT",
      `UID:w${i}`,
      `DTSTART;TZID=Zone ${i}:${utc(now + DAY).slice(0, 15)}`,
      "END:VEVENT",
    ]).flat();
    const plan = planImport(file(...events), { now, zone: "UTC" });
    expect(plan.warnings).toHaveLength(51);
    expect(plan.warnings.at(-1)?.message).toBe("10 more warnings left out.");
  });
});
