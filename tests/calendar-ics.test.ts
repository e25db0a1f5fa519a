import { describe, expect, it } from "vitest";
import { notModified } from "../src/features/calendar/conditional";
import { feedDocument } from "../src/features/calendar/feed-document";
import { type FeedTask, sessionEvent, taskEvent } from "../src/features/calendar/feed-items";
import { ianaZone, instantOf, parseDuration, parseTimeValue } from "../src/features/calendar/ics-dates";
import {
  type ContentLine,
  IcsSyntaxError,
  parseContentLine,
  parseIcs,
  TooManyLinesError,
} from "../src/features/calendar/ics-parser";
import { cutText, escapeText, foldLine, formatUtc, unescapeText } from "../src/features/calendar/ics-text";

/** Times are built from next year's calendar, never written as dates: the tests mean the same any year. */
const YEAR = new Date().getUTCFullYear() + 1;
const encoder = new TextEncoder();

function syntaxErrorOf(fn: () => unknown): IcsSyntaxError {
  try {
    fn();
  } catch (error) {
    if (error instanceof IcsSyntaxError) return error;
    throw error;
  }
  throw new Error("no IcsSyntaxError was thrown");
}

describe("TEXT values", () => {
  it("escape backslashes, semicolons, commas and line breaks, and read back the same", () => {
    const text = "a\\b; c, d\r\ne\nf";
    expect(escapeText(text)).toBe("a\\\\b\\; c\\, d\\ne\\nf");
    expect(unescapeText(escapeText(text))).toBe("a\\b; c, d\ne\nf");
    expect(unescapeText("x\\Ny\\:z")).toBe("x\ny:z");
  });

  it("drop control characters other than line breaks and tabs, which no TEXT may hold", () => {
    expect(escapeText("a\u0000b\u0007c\u001bd\u007fe\tf\ng")).toBe("abcde\tf\\ng");
  });

  it("are cut by code points, never inside a surrogate pair", () => {
    const text = `${"a".repeat(9)}🙂🙂`;
    expect(cutText(text, 10)).toBe(`${"a".repeat(9)}🙂`);
    expect(cutText(text, 10, "…")).toBe(`${"a".repeat(9)}🙂…`);
    expect(cutText("short", 10)).toBe("short");
  });
});

describe("folding", () => {
  it("keeps lines of 75 octets or fewer as they are", () => {
    const line = `SUMMARY:${"x".repeat(67)}`;
    expect(foldLine(line)).toBe(line);
  });

  it("folds at 75 octets, continuations starting with a space, never inside a UTF-8 character", () => {
    const line = `SUMMARY:${"ü🙂a".repeat(40)}`;
    const folded = foldLine(line).split("\r\n");
    expect(folded.length).toBeGreaterThan(1);
    const strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
    folded.forEach((piece, i) => {
      const bytes = encoder.encode(piece);
      expect(bytes.length).toBeLessThanOrEqual(75);
      expect(() => strict.decode(bytes)).not.toThrow();
      if (i > 0) expect(piece.startsWith(" ")).toBe(true);
    });
    expect(folded.map((p, i) => (i === 0 ? p : p.slice(1))).join("")).toBe(line);
  });

  it("writes instants in UTC with whole seconds", () => {
    expect(formatUtc(Date.UTC(YEAR, 2, 4, 5, 6, 7, 890))).toBe(`${YEAR}0304T050607Z`);
  });
});

describe("content lines", () => {
  it("split into name, parameters (quoted values may hold : ; ,) and value", () => {
    const line = parseContentLine(`dtstart;TZID="Europe/Berlin";X-LIST=a,"b:c;d":${YEAR}0101T090000`, 7);
    expect(line).toEqual({
      name: "DTSTART",
      params: { TZID: ["Europe/Berlin"], "X-LIST": ["a", "b:c;d"] },
      value: `${YEAR}0101T090000`,
      line: 7,
    });
  });

  it.each([
    ["no colon here", "does not start"],
    ["SUMMARY;X=1", 'has no ":"'],
    ['SUMMARY;X="open:value', "never closed"],
    ["SUMMARY;NOVALUE:x", "has no value"],
    [":value", "does not start"],
  ])("refuse %j", (text, says) => {
    expect(syntaxErrorOf(() => parseContentLine(text, 3))).toMatchObject({
      line: 3,
      message: expect.stringContaining(says),
    });
  });
});

describe("the parser", () => {
  it("unfolds lines (space or tab), takes CRLF, LF or CR, and keeps each property's first line", () => {
    const text = [
      "\uFEFFBEGIN:VCALENDAR",
      "BEGIN:VEVENT",
      "SUMMARY:A long",
      "  title",
      "\tcontinued",
      "UID:1",
      "END:VEVENT",
      "END:VCALENDAR",
    ].join("\n");
    const calendar = parseIcs(text);
    const [event] = calendar.components;
    expect(event?.name).toBe("VEVENT");
    expect(event?.properties).toEqual([
      { name: "SUMMARY", params: {}, value: "A long titlecontinued", line: 3 },
      { name: "UID", params: {}, value: "1", line: 6 },
    ]);
    expect(parseIcs(text.replaceAll("\n", "\r")).components).toHaveLength(1);
  });

  it("reads several calendar objects one after the other as one", () => {
    const one = "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:a\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    expect(parseIcs(one + one).components.map((c) => c.name)).toEqual(["VTODO", "VTODO"]);
  });

  it("refuses a file of more content lines than it reads, without reading them all", () => {
    const text = `BEGIN:VCALENDAR\r\n${"X-A:1\r\n".repeat(100)}END:VCALENDAR\r\n`;
    expect(() => parseIcs(text, { maxLines: 50 })).toThrow(TooManyLinesError);
    // Blank lines and folded continuations are not content lines.
    expect(
      parseIcs(`BEGIN:VCALENDAR\r\n\r\nX-A:1\r\n 2\r\nEND:VCALENDAR`, { maxLines: 3 }).properties,
    ).toHaveLength(1);
  });

  it("keeps only the components asked for, and none of their sub-components", () => {
    const text = [
      "BEGIN:VCALENDAR",
      "X-WR-CALNAME:Mine",
      "BEGIN:VTIMEZONE",
      "TZID:Custom",
      "END:VTIMEZONE",
      "BEGIN:VEVENT",
      "UID:1",
      "BEGIN:VALARM",
      "ACTION:DISPLAY",
      "END:VALARM",
      "END:VEVENT",
      "END:VCALENDAR",
    ].join("\r\n");
    const calendar = parseIcs(text, { keep: new Set(["VEVENT"]) });
    expect(calendar.properties).toEqual([]);
    expect(calendar.components).toEqual([
      {
        name: "VEVENT",
        properties: [{ name: "UID", params: {}, value: "1", line: 7 }],
        components: [],
        line: 6,
      },
    ]);
    // What is not kept is still checked.
    expect(() => parseIcs(text.replace("END:VALARM", "END:VTODO"), { keep: new Set(["VEVENT"]) })).toThrow(
      IcsSyntaxError,
    );
  });

  it.each([
    ["", 1, "starts with BEGIN:VCALENDAR"],
    ["VERSION:2.0\r\nBEGIN:VCALENDAR", 1, "starts with BEGIN:VCALENDAR"],
    ["BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nVERSION:2.0", 3, "outside any VCALENDAR"],
    ["BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\nBEGIN:VEVENT", 3, "outside any VCALENDAR"],
    ["BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nEND:VTODO", 3, "does not close BEGIN:VEVENT of line 2"],
    ["BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n\r\nSUMMARY:x", 2, "never closed"],
    ["BEGIN:VCALENDAR\r\nBEGIN:", 2, "names no component"],
    [`BEGIN:VCALENDAR\r\n${"BEGIN:X\r\n".repeat(9)}`, 9, "nested too deep"],
  ])("refuses %j at line %i", (text, line, says) => {
    expect(syntaxErrorOf(() => parseIcs(text))).toMatchObject({
      line,
      message: expect.stringContaining(says),
    });
  });
});

describe("dates and times", () => {
  const zones: string[] = [];
  const context = { defaultZone: "America/New_York", unknownZone: (tzid: string) => zones.push(tzid) };
  const property = (name: string, params: Record<string, string[]> = {}): ContentLine => ({
    name,
    params,
    value: "",
    line: 12,
  });

  it("read a DATE as a whole day and a `Z` DATE-TIME as UTC", () => {
    expect(parseTimeValue(`${YEAR}0704`, property("DTSTART", { VALUE: ["DATE"] }), context)).toEqual({
      kind: "date",
      wall: { year: YEAR, month: 7, day: 4, hour: 0, minute: 0, second: 0 },
    });
    const utc = parseTimeValue(`${YEAR}0704T101500Z`, property("DTSTART"), context);
    expect(instantOf(utc, "Asia/Tokyo")).toBe(Date.UTC(YEAR, 6, 4, 10, 15));
  });

  it("read a TZID on that zone's clock (IANA, path-like or a Windows name)", () => {
    const winter = (tzid: string) =>
      instantOf(parseTimeValue(`${YEAR}0115T090000`, property("DTSTART", { TZID: [tzid] }), context), "UTC");
    expect(winter("Europe/Berlin")).toBe(Date.UTC(YEAR, 0, 15, 8));
    expect(winter("/mozilla.org/20050126_1/Europe/Berlin")).toBe(Date.UTC(YEAR, 0, 15, 8));
    expect(winter("W. Europe Standard Time")).toBe(Date.UTC(YEAR, 0, 15, 8));
    expect(ianaZone("Mars/Olympus_Mons")).toBeUndefined();
  });

  it("read floating times and unknown zones on the importer's clock, telling about the zone", () => {
    const floating = parseTimeValue(`${YEAR}0115T090000`, property("DTSTART"), context);
    expect(instantOf(floating, "UTC")).toBe(Date.UTC(YEAR, 0, 15, 14));
    const unknown = parseTimeValue(
      `${YEAR}0115T090000`,
      property("DTSTART", { TZID: ["Custom Zone"] }),
      context,
    );
    expect(instantOf(unknown, "UTC")).toBe(Date.UTC(YEAR, 0, 15, 14));
    expect(zones).toEqual(["Custom Zone"]);
  });

  it.each([
    `${YEAR}1301`,
    `${YEAR}0230`,
    `${YEAR}0101T250000Z`,
    `${YEAR}0101T120000+0100`,
    "00990101",
    "tomorrow",
  ])("refuse %j, naming the property and its line", (value) => {
    expect(syntaxErrorOf(() => parseTimeValue(value, property("DTEND"), context))).toMatchObject({
      line: 12,
      message: expect.stringContaining("DTEND"),
    });
  });

  it("refuse a date-time where VALUE=DATE is declared", () => {
    const wantsDate = property("DTSTART", { VALUE: ["DATE"] });
    expect(syntaxErrorOf(() => parseTimeValue(`${YEAR}0101T120000Z`, wantsDate, context)).message).toContain(
      "bad date value",
    );
  });

  it("read durations, and refuse empty ones", () => {
    const duration = (value: string) => parseDuration({ ...property("DURATION"), value });
    expect(duration("PT1H30M")).toBe(90 * 60_000);
    expect(duration("P1W")).toBe(7 * 86_400_000);
    expect(duration("P1DT2S")).toBe(86_402_000);
    expect(duration("-PT15M")).toBe(-15 * 60_000);
    for (const bad of ["P", "PT", "1H", "PT1X"]) expect(() => duration(bad)).toThrow(IcsSyntaxError);
  });

  it("refuse durations of huge numbers (NaN or Infinity otherwise) and past ten years", () => {
    const duration = (value: string) => parseDuration({ ...property("DURATION"), value });
    expect(duration("P520W")).toBe(520 * 7 * 86_400_000);
    for (const bad of ["P99999999W", `P${"9".repeat(400)}D`, "PT9999999999S", "P600W", "-P99999999D"]) {
      expect(syntaxErrorOf(() => duration(bad))).toMatchObject({ line: 12 });
    }
  });

  it("read a time a DST change skips with the offset before the gap, and a repeated one as its first", () => {
    // New York springs forward at 02:00 on the second Sunday of March and falls back at 02:00 on the
    // first Sunday of November.
    const sunday = (month: number, nth: number) => {
      const first = new Date(Date.UTC(YEAR, month - 1, 1)).getUTCDay();
      return 1 + ((7 - first) % 7) + 7 * (nth - 1);
    };
    const newYork = (month: number, day: number, hour: number, minute: number) =>
      instantOf(
        {
          kind: "date-time",
          wall: { year: YEAR, month, day, hour, minute, second: 0 },
          zone: "America/New_York",
          floating: false,
        },
        "UTC",
      );
    const spring = sunday(3, 2);
    // 02:30 does not exist: read at UTC-5, it is 07:30 UTC (03:30 EDT), not an hour earlier.
    expect(newYork(3, spring, 2, 30)).toBe(Date.UTC(YEAR, 2, spring, 7, 30));
    expect(newYork(3, spring, 1, 30)).toBe(Date.UTC(YEAR, 2, spring, 6, 30));
    expect(newYork(3, spring, 3, 30)).toBe(Date.UTC(YEAR, 2, spring, 7, 30));
    const autumn = sunday(11, 1);
    // 01:30 happens twice: the first is EDT (UTC-4).
    expect(newYork(11, autumn, 1, 30)).toBe(Date.UTC(YEAR, 10, autumn, 5, 30));
    expect(newYork(11, autumn, 3, 0)).toBe(Date.UTC(YEAR, 10, autumn, 8, 0));
    // Berlin, east of UTC: 02:30 on its last Sunday of March is 01:30 UTC (03:30 CEST).
    const march31 = new Date(Date.UTC(YEAR, 2, 31)).getUTCDay();
    const lastSunday = 31 - march31;
    const berlin = instantOf(
      {
        kind: "date-time",
        wall: { year: YEAR, month: 3, day: lastSunday, hour: 2, minute: 30, second: 0 },
        zone: "Europe/Berlin",
        floating: false,
      },
      "UTC",
    );
    expect(berlin).toBe(Date.UTC(YEAR, 2, lastSunday, 1, 30));
  });
});

describe("feed events", () => {
  const task: FeedTask = {
    id: "t1",
    title: "Plan, then; do",
    description: null,
    status: "pending",
    priority: "critical",
    dueAt: new Date(Date.UTC(YEAR, 5, 1, 14, 30)).toISOString(),
    estimatedMinutes: null,
    tags: ["work", "deep"],
    completedAt: null,
  };
  const value = (props: { name: string; value: string }[], name: string) =>
    props.find((p) => p.name === name)?.value;

  it("start at the due moment and last 30 minutes without an estimate (clamped to 15–240 with one)", () => {
    const { properties } = taskEvent(task, "UTC");
    expect(value(properties, "DTSTART")).toBe(`${YEAR}0601T143000Z`);
    expect(value(properties, "DTEND")).toBe(`${YEAR}0601T150000Z`);
    expect(value(properties, "PRIORITY")).toBe("1");
    expect(value(properties, "SUMMARY")).toBe("Plan\\, then\\; do");
    expect(value(properties, "CATEGORIES")).toBe("work,deep");
    expect(value(taskEvent({ ...task, estimatedMinutes: 2 }, "UTC").properties, "DTEND")).toBe(
      `${YEAR}0601T144500Z`,
    );
    expect(value(taskEvent({ ...task, estimatedMinutes: 900 }, "UTC").properties, "DTEND")).toBe(
      `${YEAR}0601T183000Z`,
    );
  });

  it("are all-day when due at 23:59 on the owner's clock", () => {
    const dueAt = new Date(Date.UTC(YEAR, 5, 2, 3, 59)).toISOString();
    const { properties } = taskEvent({ ...task, dueAt }, "America/New_York");
    expect(properties.find((p) => p.name === "DTSTART")).toEqual({
      name: "DTSTART",
      params: { VALUE: "DATE" },
      value: `${YEAR}0601`,
    });
    expect(value(properties, "DTEND")).toBe(`${YEAR}0602`);
    // The same instant is not the end of a day in UTC.
    expect(value(taskEvent({ ...task, dueAt }, "UTC").properties, "DTSTART")).toBe(`${YEAR}0602T035900Z`);
  });

  it("give a focus session stopped at once a minute, and say how it went", () => {
    const startedAt = new Date(Date.UTC(YEAR, 5, 1, 9)).toISOString();
    const event = sessionEvent({
      id: "s1",
      kind: "pomodoro",
      plannedMinutes: 25,
      startedAt,
      endsAt: startedAt,
      workedSeconds: 0,
      running: false,
      completed: false,
      interruptions: 1,
      taskTitle: null,
    });
    expect(value(event.properties, "DTEND")).toBe(`${YEAR}0601T090100Z`);
    expect(value(event.properties, "SUMMARY")).toBe("Focus session");
    expect(value(event.properties, "DESCRIPTION")).toBe(
      "Pomodoro · 25 minutes planned · 0 minutes worked · 1 interruption · stopped early",
    );
  });

  it("make a calendar of CRLF lines with the same bytes for the same input", () => {
    const stamped = [{ ...taskEvent(task, "UTC"), sequence: 2, stampedAt: Date.UTC(YEAR, 0, 1) }];
    const body = feedDocument(stamped, { name: "Proxy Agent: Ana", timeZone: "UTC" });
    expect(body).toBe(feedDocument(stamped, { name: "Proxy Agent: Ana", timeZone: "UTC" }));
    expect(body).toContain("\r\nSEQUENCE:2\r\n");
    expect(body).toContain(`\r\nDTSTAMP:${YEAR}0101T000000Z\r\n`);
    expect(body.split("\r\n").at(-2)).toBe("END:VCALENDAR");
  });
});

describe("conditional requests", () => {
  const current = { etag: '"abc"', lastModified: Date.UTC(YEAR, 0, 1, 12, 0, 0, 500) };

  it("match an ETag in a list, weak or strong, or *; If-None-Match wins over a date", () => {
    expect(notModified('"x", W/"abc"', undefined, current)).toBe(true);
    expect(notModified("*", undefined, current)).toBe(true);
    expect(notModified('"x"', new Date(current.lastModified).toUTCString(), current)).toBe(false);
  });

  it("compare dates to the second", () => {
    const at = new Date(current.lastModified).toUTCString();
    expect(notModified(undefined, at, current)).toBe(true);
    expect(notModified(undefined, new Date(current.lastModified - 2000).toUTCString(), current)).toBe(false);
    expect(notModified(undefined, "not a date", current)).toBe(false);
    expect(notModified(undefined, undefined, current)).toBe(false);
  });
});
