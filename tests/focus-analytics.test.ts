import { describe, expect, it } from "vitest";
import { focusAnalytics, focusStreak, type SessionFacts } from "../src/features/focus/analytics";
import { addDays, localParts, startOfLocalDay } from "../src/lib/time";

const session = (started_at: string, minutes: number, extra: Partial<SessionFacts> = {}): SessionFacts => ({
  kind: "pomodoro",
  started_at,
  actual_seconds: minutes * 60,
  completed: true,
  interruptions: 0,
  ...extra,
});

// Wednesday 25 November 2026, 18:00 in New York (23:00 UTC).
const NOW = Date.parse("2026-11-25T23:00:00.000Z");
const NY = "America/New_York";

describe("focus analytics", () => {
  it("adds up today, this week and the range in the user's time zone", () => {
    const sessions = [
      // 20:30 on the 24th in New York although it is the 25th in UTC: yesterday, this week.
      session("2026-11-25T01:30:00.000Z", 25),
      session("2026-11-25T14:00:00.000Z", 25, { interruptions: 2 }),
      session("2026-11-25T15:00:00.000Z", 10, { completed: false, interruptions: 1 }),
      // Sunday the 22nd: last week, still in the range.
      session("2026-11-22T15:00:00.000Z", 50, { kind: "deep_work" }),
      // Before the range.
      session("2026-10-01T15:00:00.000Z", 25),
    ];
    const a = focusAnalytics(sessions, { timezone: NY, now: NOW, from: "2026-11-01", to: "2026-11-25" });
    expect(a.today).toEqual({ date: "2026-11-25", focus_minutes: 35, sessions: 2 });
    expect(a.week).toEqual({ starts_on: "2026-11-23", focus_minutes: 60, sessions: 3 });
    expect(a.totals).toEqual({
      focus_minutes: 110,
      sessions: 4,
      completed_sessions: 3,
      completion_rate: 0.75,
      average_minutes: 27.5,
      interruptions: 3,
      interruptions_per_hour: 1.64,
    });
    expect(a.by_kind).toEqual([
      { kind: "pomodoro", sessions: 3, focus_minutes: 60, completion_rate: 0.667 },
      { kind: "deep_work", sessions: 1, focus_minutes: 50, completion_rate: 1 },
    ]);
  });

  it("ranks the best hours of the local day by focus time", () => {
    const sessions = [
      session("2026-11-24T14:00:00.000Z", 25), // 9:00 New York
      session("2026-11-23T14:10:00.000Z", 25), // 9:10
      session("2026-11-24T19:00:00.000Z", 40), // 14:00
      session("2026-11-24T02:00:00.000Z", 10, { completed: false }), // 21:00 on the 23rd
      session("2026-11-22T16:00:00.000Z", 5), // 11:00
    ];
    const a = focusAnalytics(sessions, { timezone: NY, now: NOW, from: "2026-11-01", to: "2026-11-25" });
    expect(a.best_hours).toEqual([
      { hour: 9, focus_minutes: 50, sessions: 2, completion_rate: 1 },
      { hour: 14, focus_minutes: 40, sessions: 1, completion_rate: 1 },
      { hour: 21, focus_minutes: 10, sessions: 1, completion_rate: 0 },
    ]);
  });

  it("answers nulls, not zeros divided by zero, with no sessions", () => {
    const a = focusAnalytics([], { timezone: "UTC", now: NOW, from: "2026-11-01", to: "2026-11-25" });
    expect(a.totals).toMatchObject({ sessions: 0, completion_rate: null, average_minutes: null });
    expect(a.totals.interruptions_per_hour).toBeNull();
    expect(a.best_hours).toEqual([]);
    expect(a.streak).toEqual({ current_days: 0, longest_days: 0, last_focus_date: null });
  });

  it("counts the focus streak in local days with a completed session", () => {
    const sessions = [
      session("2026-11-25T14:00:00.000Z", 25),
      session("2026-11-24T14:00:00.000Z", 25),
      session("2026-11-23T14:00:00.000Z", 25),
      // An abandoned session keeps no streak.
      session("2026-11-22T14:00:00.000Z", 5, { completed: false }),
      session("2026-11-10T14:00:00.000Z", 25),
      session("2026-11-11T14:00:00.000Z", 25),
      session("2026-11-12T14:00:00.000Z", 25),
      session("2026-11-13T14:00:00.000Z", 25),
    ];
    const a = focusAnalytics(sessions, { timezone: NY, now: NOW, from: "2026-11-01", to: "2026-11-25" });
    expect(a.streak).toEqual({ current_days: 3, longest_days: 4, last_focus_date: "2026-11-25" });
  });

  it("keeps a streak alive through today until today is over", () => {
    const days = new Set(["2026-11-23", "2026-11-24"]);
    expect(focusStreak(days, "2026-11-25").current_days).toBe(2);
    expect(focusStreak(days, "2026-11-26").current_days).toBe(0);
  });
});

describe("local calendar", () => {
  it("finds the local date, hour and weekday of an instant", () => {
    expect(localParts(NY, Date.parse("2026-11-25T03:30:00.000Z"))).toEqual({
      date: "2026-11-24",
      hour: 22,
      weekday: 2,
    });
    expect(localParts("Asia/Tokyo", Date.parse("2026-11-25T20:00:00.000Z"))).toMatchObject({
      date: "2026-11-26",
      weekday: 4,
    });
  });

  it("starts local days at local midnight across a DST change", () => {
    // New York leaves daylight time on 1 November 2026.
    expect(new Date(startOfLocalDay(NY, "2026-10-31")).toISOString()).toBe("2026-10-31T04:00:00.000Z");
    expect(new Date(startOfLocalDay(NY, "2026-11-02")).toISOString()).toBe("2026-11-02T05:00:00.000Z");
    expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
    expect(addDays("2026-03-01", -1)).toBe("2026-02-28");
  });
});
