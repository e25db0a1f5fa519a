import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseCapture } from "../src/features/capture/parse";

// A Friday, 10:00 in New York (EST), two days before US daylight saving time starts on 2026-03-08.
const NOW = new Date("2026-03-06T15:00:00Z");
const NEW_YORK = { timeZone: "America/New_York", now: NOW };
const UTC = { timeZone: "UTC", now: NOW };

describe("parseCapture", () => {
  it("parses the headline example", () => {
    expect(parseCapture("email Sam about rent tomorrow 5pm !high #home ~10m", NEW_YORK)).toEqual({
      title: "email Sam about rent",
      due_at: "2026-03-07T22:00:00.000Z",
      due_text: "tomorrow 5pm",
      priority: "high",
      tags: ["home"],
      estimated_minutes: 10,
    });
  });

  describe("dates", () => {
    it("resolves 'in 2 hours' from now", () => {
      const parsed = parseCapture("call back in 2 hours", NEW_YORK);
      expect(parsed.title).toBe("call back");
      expect(parsed.due_at).toBe("2026-03-06T17:00:00.000Z");
      expect(parsed.due_text).toBe("in 2 hours");
    });

    it("treats 'next monday' without a time as the end of that day, in the zone's offset on that day", () => {
      const parsed = parseCapture("review budget next monday", NEW_YORK);
      expect(parsed.title).toBe("review budget");
      // 23:59 EDT: Monday is already past the DST change.
      expect(parsed.due_at).toBe("2026-03-10T03:59:00.000Z");
    });

    it("treats 'tomorrow' as 23:59 local", () => {
      const parsed = parseCapture("water plants tomorrow", NEW_YORK);
      expect(parsed.title).toBe("water plants");
      expect(parsed.due_at).toBe("2026-03-08T04:59:00.000Z");
      expect(parsed.due_text).toBe("tomorrow");
    });

    it("moves a weekday time that already passed today to next week", () => {
      // It is Friday 10:00 local, so Friday 9am means next Friday (after the DST change: EDT).
      expect(parseCapture("standup friday at 9am", NEW_YORK).due_at).toBe("2026-03-13T13:00:00.000Z");
      // Friday 5pm is still ahead today.
      expect(parseCapture("standup friday 5pm", NEW_YORK).due_at).toBe("2026-03-06T22:00:00.000Z");
    });

    it("parses 'on March 20' and drops the connector from title and due_text", () => {
      const parsed = parseCapture("dentist on March 20", NEW_YORK);
      expect(parsed.title).toBe("dentist");
      expect(parsed.due_text).toBe("March 20");
      expect(parsed.due_at).toBe("2026-03-21T03:59:00.000Z");
    });

    it("parses 'in 3 days' as the end of that day", () => {
      const parsed = parseCapture("renew passport in 3 days", UTC);
      expect(parsed.title).toBe("renew passport");
      expect(parsed.due_at).toBe("2026-03-09T23:59:00.000Z");
    });

    it("removes dangling connectors before the date phrase", () => {
      const byFriday = parseCapture("pay rent by friday", NEW_YORK);
      expect(byFriday.title).toBe("pay rent");
      expect(byFriday.due_text).toBe("friday");
      expect(byFriday.due_at).toBe("2026-03-07T04:59:00.000Z");

      expect(parseCapture("send report, due before tomorrow", NEW_YORK).title).toBe("send report");
      expect(parseCapture("tomorrow: call mom", NEW_YORK).title).toBe("call mom");
      expect(parseCapture("ship it tomorrow!", NEW_YORK).title).toBe("ship it!");
      expect(parseCapture("meet Ann (tomorrow)", NEW_YORK).title).toBe("meet Ann");
    });

    it("honours an explicit zone in the phrase over the user's zone", () => {
      const parsed = parseCapture("call Bob at 5pm PST", NEW_YORK);
      expect(parsed.title).toBe("call Bob");
      expect(parsed.due_at).toBe("2026-03-07T01:00:00.000Z");
    });

    it("finds a date phrase split by tokens", () => {
      const parsed = parseCapture("gym tomorrow !h 7am", NEW_YORK);
      expect(parsed.title).toBe("gym");
      expect(parsed.due_text).toBe("tomorrow 7am");
      expect(parsed.due_at).toBe("2026-03-07T12:00:00.000Z");
    });

    it("uses only the first date phrase", () => {
      const parsed = parseCapture("pay rent tomorrow, then gym on monday", UTC);
      expect(parsed.title).toBe("pay rent then gym on monday");
      expect(parsed.due_text).toBe("tomorrow");
      expect(parsed.due_at).toBe("2026-03-07T23:59:00.000Z");
    });

    it("does not read a bare number, a '#1' or a duration as a date", () => {
      expect(parseCapture("call 3 people", NEW_YORK)).toMatchObject({
        title: "call 3 people",
        due_at: null,
        due_text: null,
      });
      expect(parseCapture("fix #1", NEW_YORK).due_at).toBeNull();
      expect(parseCapture("work on essay for 2 hours", NEW_YORK).due_at).toBeNull();
    });

    it("ignores dates whose year does not fit a four-digit ISO string", () => {
      const parsed = parseCapture("retire in 10000 years", UTC);
      expect(parsed.due_at).toBeNull();
      expect(parsed.title).toBe("retire in 10000 years");
    });
  });

  describe("time zones", () => {
    it("gives different instants for the same words in different zones", () => {
      const at = (timeZone: string) => parseCapture("standup tomorrow 9am", { timeZone, now: NOW }).due_at;
      // Tokyo is already at Saturday 00:00, so its "tomorrow" is Sunday.
      expect(at("Asia/Tokyo")).toBe("2026-03-08T00:00:00.000Z");
      expect(at("America/Los_Angeles")).toBe("2026-03-07T17:00:00.000Z");
      expect(at("UTC")).toBe("2026-03-07T09:00:00.000Z");
    });

    it("uses the offset in force on the due day across a DST change", () => {
      // The reference offset is EST (-5h), but Monday is in EDT (-4h).
      expect(parseCapture("monday 9am", NEW_YORK).due_at).toBe("2026-03-09T13:00:00.000Z");
    });

    it("falls back to UTC for an unknown zone instead of throwing", () => {
      const parsed = parseCapture("tomorrow 9am", { timeZone: "Mars/Olympus_Mons", now: NOW });
      expect(parsed.due_at).toBe("2026-03-07T09:00:00.000Z");
    });
  });

  describe("estimates", () => {
    it.each([
      ["~10m", 10],
      ["~10min", 10],
      ["~10mins", 10],
      ["~1h", 60],
      ["~1.5h", 90],
      ["~1h30m", 90],
      ["~90", 90],
      ["~2.4m", 2],
      ["~24h", 1440],
    ])("%s is %i minutes", (token, minutes) => {
      const parsed = parseCapture(`write intro ${token}`, UTC);
      expect(parsed.estimated_minutes).toBe(minutes);
      expect(parsed.title).toBe("write intro");
    });

    it.each(["~0m", "~0.2m", "~25h", "~1441", "~abc", "~"])(
      "ignores %s and keeps it in the title",
      (token) => {
        const parsed = parseCapture(`write intro ${token}`, UTC);
        expect(parsed.estimated_minutes).toBeNull();
        expect(parsed.title).toBe(`write intro ${token}`);
        expect(parsed.due_at).toBeNull();
      },
    );
  });

  describe("priority", () => {
    it.each([
      ["!!", "high"],
      ["!!!", "critical"],
      ["!c", "critical"],
      ["!URGENT", "critical"],
      ["!Critical", "critical"],
      ["!high", "high"],
      ["!h", "high"],
      ["!med", "medium"],
      ["!medium", "medium"],
      ["!m", "medium"],
      ["!low", "low"],
      ["!L", "low"],
    ])("%s is %s", (token, priority) => {
      const parsed = parseCapture(`ship release ${token}`, UTC);
      expect(parsed.priority).toBe(priority);
      expect(parsed.title).toBe("ship release");
    });

    it("keeps unknown or embedded bangs in the title and lets the first priority win", () => {
      expect(parseCapture("say hi !foo", UTC)).toMatchObject({ title: "say hi !foo", priority: null });
      expect(parseCapture("wow!! great", UTC)).toMatchObject({ title: "wow!! great", priority: null });
      expect(parseCapture("!low fix it !high", UTC)).toMatchObject({ title: "fix it", priority: "low" });
    });
  });

  describe("tags", () => {
    it("lower-cases, de-duplicates and keeps '#1' in the title", () => {
      const parsed = parseCapture("fix #Home bug #1 #home #deep-work #work_2", UTC);
      expect(parsed.tags).toEqual(["home", "deep-work", "work_2"]);
      expect(parsed.title).toBe("fix bug #1");
    });

    it("accepts unicode letters and enforces the length limit", () => {
      const longest = "a".repeat(32);
      const tooLong = "a".repeat(33);
      const parsed = parseCapture(`plan #Café #日本 #${longest} #${tooLong}`, UTC);
      expect(parsed.tags).toEqual(["café", "日本", longest]);
      expect(parsed.title).toBe(`plan #${tooLong}`);
    });
  });

  describe("fallbacks and robustness", () => {
    it("keeps a non-empty title when the text is only tokens", () => {
      expect(parseCapture("#home !high", UTC)).toEqual({
        title: "#home !high",
        due_at: null,
        due_text: null,
        priority: "high",
        tags: ["home"],
        estimated_minutes: null,
      });
      const onlyDate = parseCapture("  tomorrow  ", UTC);
      expect(onlyDate.title).toBe("tomorrow");
      expect(onlyDate.due_at).toBe("2026-03-07T23:59:00.000Z");
    });

    it("returns unparseable text as the title with nothing else", () => {
      expect(parseCapture("asdf qwer", NEW_YORK)).toEqual({
        title: "asdf qwer",
        due_at: null,
        due_text: null,
        priority: null,
        tags: [],
        estimated_minutes: null,
      });
    });

    it("collapses whitespace in the title", () => {
      expect(parseCapture("  buy \t milk\n\n #errand  ", UTC).title).toBe("buy milk");
    });

    it("survives empty, emoji, odd unicode, huge input and an invalid now", () => {
      expect(parseCapture("", UTC).title).toBe("");
      expect(parseCapture("   \n", UTC).title).toBe("");
      expect(parseCapture("🎉🔥 party 🎂", UTC).title).toBe("🎉🔥 party 🎂");
      expect(parseCapture("\uD800 lone \uDFFF surrogates \u200B\u202E", UTC).title).not.toBe("");
      expect(parseCapture("tomorrow 9am", { timeZone: "UTC", now: new Date(Number.NaN) }).due_at).toBeNull();

      const huge = "call mom tomorrow !high #home ~5m ".repeat(300);
      const parsed = parseCapture(huge, UTC);
      expect(parsed.title.length).toBeGreaterThan(0);
      expect(parsed.due_at).toBe("2026-03-07T23:59:00.000Z");
    });

    it("never throws and always returns a title for non-blank text", () => {
      fc.assert(
        fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
          const parsed = parseCapture(text, NEW_YORK);
          if (text.trim().length > 0) expect(parsed.title.length).toBeGreaterThan(0);
          if (parsed.due_at !== null) expect(new Date(parsed.due_at).toISOString()).toBe(parsed.due_at);
        }),
        { numRuns: 300 },
      );
    });
  });
});
