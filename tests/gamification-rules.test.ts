import { describe, expect, it } from "vitest";
import { BADGES, badgeProgress } from "../src/features/gamification/badges";
import { CHALLENGE_POOL, challengesFor } from "../src/features/gamification/challenges";
import {
  LEVEL_THRESHOLDS,
  levelForXp,
  levelProgress,
  THEMES,
  themesAt,
  xpToNextLevel,
} from "../src/features/gamification/levels";
import { bonusXp, combinedMultiplier, focusXp, stepXp, taskXp } from "../src/features/gamification/xp";
import { streakState } from "../src/lib/streaks";
import { addDays, localParts } from "../src/lib/time";

describe("step XP", () => {
  it.each([
    ["low", 1, 11],
    ["medium", 3, 13],
    ["high", 5, 16],
    ["critical", 10, 17],
    ["medium", 4, 13],
    ["medium", 5, 14],
  ] as const)("a %s-priority step of %i minutes earns %i", (priority, minutes, xp) => {
    expect(stepXp(priority, minutes).total).toBe(xp);
  });

  it("explains the amount", () => {
    expect(stepXp("high", 10)).toEqual({ base: 10, priority_bonus: 5, time_bonus: 2, total: 17 });
  });

  it("caps the time bonus at 10 and treats missing or odd values gently", () => {
    expect(stepXp("low", 500).time_bonus).toBe(10);
    expect(stepXp(undefined, null)).toEqual({ base: 10, priority_bonus: 3, time_bonus: 0, total: 13 });
    expect(stepXp("urgent", -5).total).toBe(13);
  });

  it("pays a whole task and a focus session by their own rules", () => {
    expect(taskXp("critical", 120)).toEqual({ base: 20, priority_bonus: 10, time_bonus: 12, total: 42 });
    expect(taskXp("low", 1000).time_bonus).toBe(20);
    expect(focusXp(25)).toEqual({ base: 5, priority_bonus: 0, time_bonus: 12, total: 17 });
    expect(focusXp(500).total).toBe(65);
    // Under 5 minutes is a misclick, not focus.
    expect(focusXp(4.9).total).toBe(0);
    expect(focusXp(5).total).toBe(7);
  });
});

describe("bonus XP windows", () => {
  it("adds the extras of overlapping windows, up to 3×", () => {
    expect(combinedMultiplier([])).toBe(1);
    expect(combinedMultiplier([2])).toBe(2);
    expect(combinedMultiplier([2, 1.5])).toBe(2.5);
    expect(combinedMultiplier([2, 2, 2])).toBe(3);
    expect(bonusXp(17, 2)).toBe(17);
    expect(bonusXp(17, 1.5)).toBe(9);
    expect(bonusXp(17, 1)).toBe(0);
  });
});

describe("levels", () => {
  it("follows Habitica's curve", () => {
    expect([1, 2, 3, 10].map(xpToNextLevel)).toEqual([150, 160, 170, 260]);
    expect(LEVEL_THRESHOLDS.slice(0, 4)).toEqual([0, 150, 310, 480]);
    expect(LEVEL_THRESHOLDS[9]).toBe(1780);
    expect(LEVEL_THRESHOLDS[49]).toBe(29_200);
  });

  it("places totals on the curve, at its edges too", () => {
    expect([0, 149, 150, 309, 310, 1780].map(levelForXp)).toEqual([1, 1, 2, 2, 3, 10]);
    expect(levelForXp(10_000_000)).toBe(100);
    expect(levelProgress(200)).toEqual({
      level: 2,
      total_xp: 200,
      current_level_xp: 150,
      next_level_xp: 310,
      xp_into_level: 50,
      xp_to_next_level: 110,
      percent: 31,
    });
    expect(levelProgress(10_000_000)).toMatchObject({ level: 100, next_level_xp: null, percent: 100 });
  });

  it("unlocks at least five themes along the way", () => {
    expect(THEMES.length).toBeGreaterThanOrEqual(5);
    expect(themesAt(1).map((t) => t.id)).toEqual(["slate"]);
    expect(themesAt(5).map((t) => t.id)).toEqual(["slate", "sunrise", "forest"]);
  });
});

describe("streaks", () => {
  const days = (start: string, count: number) => Array.from({ length: count }, (_, i) => addDays(start, i));

  it("counts consecutive days and keeps today open until it is over", () => {
    const s = streakState(days("2026-11-20", 5), "2026-11-25");
    expect(s).toMatchObject({
      current_days: 5,
      longest_days: 5,
      at_risk: true,
      last_active_day: "2026-11-24",
    });
    expect(streakState(days("2026-11-20", 6), "2026-11-25")).toMatchObject({
      current_days: 6,
      at_risk: false,
    });
  });

  it("breaks after a whole missed day without a freeze, keeping the longest", () => {
    const s = streakState([...days("2026-11-01", 4), ...days("2026-11-10", 2)], "2026-11-11");
    expect(s).toMatchObject({ current_days: 2, longest_days: 4, freezes_held: 0 });
    expect(streakState(days("2026-11-01", 4), "2026-11-07").current_days).toBe(0);
  });

  it("earns a freeze per 7 days (at most 2) and spends them on missed days automatically", () => {
    const twoWeeks = days("2026-11-01", 14);
    expect(streakState(twoWeeks, "2026-11-14")).toMatchObject({ current_days: 14, freezes_held: 2 });
    const threeWeeks = days("2026-11-01", 21);
    expect(streakState(threeWeeks, "2026-11-21").freezes_held).toBe(2);
    // Two days missed (the 15th and 16th), then back: both freezes spent, the streak goes on.
    const back = streakState([...twoWeeks, "2026-11-17"], "2026-11-17");
    expect(back).toMatchObject({
      current_days: 15,
      freezes_held: 0,
      frozen_days: ["2026-11-15", "2026-11-16"],
    });
    // Three days missed is one too many.
    expect(streakState([...twoWeeks, "2026-11-18"], "2026-11-18").current_days).toBe(1);
  });

  it("keeps a streak alive on a freeze while the user is away, and says so", () => {
    const s = streakState(days("2026-11-01", 7), "2026-11-09");
    expect(s).toMatchObject({ current_days: 7, freezes_held: 0, frozen_days: ["2026-11-08"], at_risk: true });
  });

  it("repairs itself when an earlier day's completion arrives late", () => {
    const withGap = ["2026-11-20", "2026-11-21", "2026-11-23", "2026-11-24"];
    expect(streakState(withGap, "2026-11-24").current_days).toBe(2);
    expect(streakState([...withGap, "2026-11-22"], "2026-11-24").current_days).toBe(5);
  });

  it("counts local days: a completion after midnight in Tokyo is the next day there", () => {
    const instants = ["2026-11-23T14:30:00Z", "2026-11-24T15:30:00Z", "2026-11-25T16:00:00Z"].map(Date.parse);
    const tokyo = instants.map((t) => localParts("Asia/Tokyo", t).date);
    expect(tokyo).toEqual(["2026-11-23", "2026-11-25", "2026-11-26"]);
    expect(streakState(tokyo, "2026-11-26").current_days).toBe(2);
    const utc = instants.map((t) => localParts("UTC", t).date);
    expect(streakState(utc, "2026-11-25").current_days).toBe(3);
  });

  it("is not fooled by a DST change: the 23- and 25-hour days count once each", () => {
    // Europe/Berlin leaves summer time on 25 October 2026: that day has 25 hours.
    const instants = ["2026-10-24T21:30:00Z", "2026-10-25T22:30:00Z", "2026-10-26T22:59:00Z"].map(Date.parse);
    const berlin = instants.map((t) => localParts("Europe/Berlin", t).date);
    expect(berlin).toEqual(["2026-10-24", "2026-10-25", "2026-10-26"]);
    expect(streakState(berlin, "2026-10-26").current_days).toBe(3);
    // New York enters summer time on 8 March 2026 (a 23-hour day).
    const spring = ["2026-03-08T04:30:00Z", "2026-03-09T03:30:00Z"].map(
      (t) => localParts("America/New_York", Date.parse(t)).date,
    );
    expect(spring).toEqual(["2026-03-07", "2026-03-08"]);
  });
});

describe("badges", () => {
  it("defines at least 20 badges in families of bronze, silver and gold with rising thresholds", () => {
    expect(BADGES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(BADGES.map((b) => b.id)).size).toBe(BADGES.length);
    for (const family of new Set(BADGES.map((b) => b.family))) {
      const tiers = BADGES.filter((b) => b.family === family);
      expect(tiers.map((b) => b.tier)).toEqual(["bronze", "silver", "gold"]);
      expect(tiers.map((b) => b.threshold)).toEqual([...tiers.map((b) => b.threshold)].sort((a, b) => a - b));
    }
    for (const family of ["streak", "steps", "morning", "night", "quick_wins", "marathon", "pet"]) {
      expect(BADGES.some((b) => b.family === family)).toBe(true);
    }
  });

  it("tells which are earned and how far the next tier is", () => {
    const steps = badgeProgress({ steps_completed: 42 }).find((p) => p.family === "steps");
    expect(steps).toMatchObject({ tier: "bronze", next: { tier: "silver", threshold: 100, remaining: 58 } });
    const streak = badgeProgress({ longest_streak: 30 }).find((p) => p.family === "streak");
    expect(streak).toMatchObject({ tier: "gold", next: null });
  });
});

describe("daily challenges", () => {
  it("gives three different challenges a day, the same ones every time for a date", () => {
    const day = challengesFor("2026-11-25");
    expect(day).toHaveLength(3);
    expect(new Set(day.map((c) => c.metric)).size).toBe(3);
    expect(challengesFor("2026-11-25")).toEqual(day);
    for (const c of day) {
      expect(c.challenge_id.startsWith("2026-11-25:")).toBe(true);
      expect(c.target).toBeGreaterThan(0);
      expect(c.xp).toBeGreaterThan(0);
    }
  });

  it("varies from day to day and uses the whole pool over a month", () => {
    const month = Array.from({ length: 30 }, (_, i) => challengesFor(addDays("2026-11-01", i)));
    const sets = new Set(
      month.map((d) =>
        d
          .map((c) => c.metric)
          .sort()
          .join(","),
      ),
    );
    expect(sets.size).toBeGreaterThan(5);
    const used = new Set(month.flat().map((c) => c.challenge_id.split(":")[1]));
    expect(used.size).toBe(CHALLENGE_POOL.length);
  });
});
