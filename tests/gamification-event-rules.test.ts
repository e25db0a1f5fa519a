import { describe, expect, it } from "vitest";
import { activeBonus, badgesWithinReach, earningsOf } from "../src/features/gamification/event-rules";
import { countersOf } from "../src/features/gamification/queries";
import { finishedWork, sourceKeyOf } from "../src/features/gamification/work";
import { stepXp } from "../src/features/gamification/xp";
import { nourishmentOf } from "../src/features/pets/event-handler";
import type { DomainEvent } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";

const NOW = 1_800_000_000_000;
const HOUR = 3_600_000;

const step = newEvent(
  "step.completed",
  "u",
  {
    task_id: "t1",
    step_id: "s1",
    description: "Water the plants",
    estimated_minutes: 5,
    leaf_type: "HUMAN",
    task_priority: "high",
    task_estimated_minutes: null,
  },
  NOW,
) as DomainEvent;

const focus = (actual_minutes: number) =>
  newEvent(
    "focus.completed",
    "u",
    {
      session_id: "f1",
      kind: "deep_work",
      planned_minutes: 60,
      task_id: null,
      step_id: null,
      actual_minutes,
      completed: true,
      end_reason: "time_up",
      interruptions: 0,
      started_at: new Date(NOW - actual_minutes * 60_000).toISOString(),
      ended_at: new Date(NOW).toISOString(),
    },
    NOW,
  ) as DomainEvent;

const task = (priority: "low" | "high", ageHours: number) =>
  newEvent(
    "task.completed",
    "u",
    {
      task_id: "t1",
      title: "Tax return",
      priority,
      estimated_minutes: 30,
      actual_minutes: null,
      is_meta_task: false,
      created_at: new Date(NOW - ageHours * HOUR).toISOString(),
      completed_steps: 3,
    },
    NOW,
  ) as DomainEvent;

describe("what an event earns (pure rules)", () => {
  it("a morning step: its XP, the step and morning counters, both challenges, an active day", () => {
    expect(earningsOf(step, 7, NOW)).toEqual({
      grant: { source: "step", source_key: "step:s1", breakdown: stepXp("high", 5), bonus: true, pet: true },
      counters: { steps_completed: 1, morning_steps: 1 },
      challenges: ["steps", "morning_steps"],
      active_day: true,
    });
    expect(earningsOf(step, 23, NOW)?.counters).toEqual({ steps_completed: 1, night_steps: 1 });
    expect(earningsOf(step, 12, NOW)?.challenges).toEqual(["steps"]);
  });

  it("a focus session stopped in its first minutes earns nothing at all; a long one counts twice", () => {
    expect(earningsOf(focus(3), 12, NOW)).toBeNull();
    const long = earningsOf(focus(60), 12, NOW);
    expect(long?.counters).toEqual({ focus_sessions: 1, long_focus_sessions: 1 });
    expect(long?.challenges).toEqual(["focus_sessions", "long_focus"]);
    expect(long?.grant?.source_key).toBe("focus:f1");
  });

  it("a task done within a day of its creation is a quick win; a high one counts for the priority challenge", () => {
    expect(earningsOf(task("high", 2), 12, NOW)).toMatchObject({
      counters: { tasks_completed: 1, quick_wins: 1 },
      challenges: ["tasks", "priority_tasks"],
    });
    expect(earningsOf(task("low", 30), 12, NOW)).toMatchObject({
      counters: { tasks_completed: 1 },
      challenges: ["tasks"],
    });
  });

  it("an administrator's grant is exactly what was asked: no bonus window, no pet boost", () => {
    const grant = newEvent(
      "xp.manual",
      "u",
      { amount: 250, reason: "Beta", key: "beta", granted_by: "admin" },
      NOW,
    );
    expect(earningsOf(grant as DomainEvent, 12, NOW)?.grant).toEqual({
      source: "manual",
      source_key: "manual:beta",
      breakdown: { base: 250, priority_bonus: 0, time_bonus: 0, total: 250 },
      bonus: false,
      pet: false,
    });
  });

  it("gamification and the pet value finished work the same, under the same source key", () => {
    for (const event of [step, focus(40), task("high", 2)]) {
      const work = finishedWork(event);
      expect(work?.source_key).toBe(sourceKeyOf(event));
      expect(nourishmentOf(event)?.xp).toBe(work?.xp.total);
      expect(earningsOf(event, 12, NOW)?.grant?.breakdown).toEqual(work?.xp);
    }
    expect(nourishmentOf(focus(2))).toBeUndefined();
  });

  it("bonus windows multiply only inside their time; badges within reach exclude those held", () => {
    const windows = [{ id: "w", multiplier: 2, startsAt: NOW - HOUR, endsAt: NOW + HOUR }];
    expect(activeBonus(windows, NOW).multiplier).toBe(2);
    expect(activeBonus(windows, NOW + 2 * HOUR)).toEqual({ active: [], multiplier: 1 });
    const counters = { ...countersOf(undefined), steps_completed: 10 };
    const reach = badgesWithinReach({ longestStreak: 0, level: 1, counters }, new Set()).map((b) => b.id);
    expect(reach).toContain("steps_bronze");
    expect(
      badgesWithinReach({ longestStreak: 0, level: 1, counters }, new Set(["steps_bronze"])).map((b) => b.id),
    ).not.toContain("steps_bronze");
  });
});
