import { describe, expect, it } from "vitest";
import { checkinTime, MAX_AHEAD_MS, MAX_BACK_MS } from "../src/features/analytics/energy-service";
import { bucketsOf, mondayOf, resolveRange, weekdayOf } from "../src/features/analytics/ranges";
import {
  dashboardOf,
  dashboardRange,
  minutesOf,
  rateOf,
  taskSummaryOf,
  timedTaskOf,
  timelineOf,
  timeSummaryOf,
} from "../src/features/analytics/reads";
import { type RollupRow, ZERO_COUNTERS } from "../src/features/analytics/rollup-queries";
import {
  actualMinutesOf,
  actualSourceOf,
  focusSecondsOf,
  rollupOf,
  slicesOf,
} from "../src/features/analytics/rollup-rules";
import { ApiError } from "../src/lib/errors";
import type { DomainEvent } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";

// Pure rules: no runtime reached, so fixed dates are fine here.

const row = (day: string, dim: RollupRow["dim"], key: string, counters: Partial<RollupRow>): RollupRow => ({
  userId: "u",
  day,
  dim,
  key,
  ...ZERO_COUNTERS,
  ...counters,
  updatedAt: "",
});

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected a refusal");
}

const at = (iso: string) => ({ occurred_at: iso });

describe("what an event adds to the rollups", () => {
  it("counts a step once as its ledger source, with its minutes on the task's time record", () => {
    const event = {
      ...newEvent("step.completed", "u", {
        task_id: "t",
        step_id: "s",
        description: "d",
        estimated_minutes: 7,
        leaf_type: "DIGITAL",
        task_priority: "high",
        task_estimated_minutes: 30,
      }),
      ...at("2026-03-01T10:00:00.000Z"),
    } as DomainEvent;
    const r = rollupOf(event);
    expect(r.counters).toEqual({ stepsCompleted: 1 });
    expect(r.countsOnceAs).toBe("step:s");
    expect(r.taskTime).toMatchObject({ stepsCompleted: 1, stepMinutes: 7, estimatedMinutes: 30 });
  });

  it("times a completed task only when it has an estimate", () => {
    const data = {
      task_id: "t",
      title: "x",
      priority: "low" as const,
      actual_minutes: 12,
      is_meta_task: false,
      created_at: "2026-03-01T09:00:00.000Z",
      completed_steps: 0,
    };
    const timed = rollupOf(
      newEvent("task.completed", "u", { ...data, estimated_minutes: 10 }) as DomainEvent,
    );
    expect(timed.taskTime?.completion).toMatchObject({ timedEstimate: 10, reportedMinutes: 12 });
    expect(timed.countsOnceAs).toBe("task:t");
    for (const estimate of [null, 0]) {
      const untimed = rollupOf(
        newEvent("task.completed", "u", { ...data, estimated_minutes: estimate }) as DomainEvent,
      );
      expect(untimed.taskTime?.completion?.timedEstimate).toBeNull();
    }
  });

  it("counts focus seconds, sessions, completions and interruptions; on a task, its time record too", () => {
    const base = {
      session_id: "f",
      kind: "pomodoro" as const,
      planned_minutes: 25,
      step_id: null,
      actual_minutes: 24.5,
      completed: true,
      end_reason: "finished" as const,
      interruptions: 2,
      started_at: "2026-03-01T09:00:00.000Z",
      ended_at: "2026-03-01T09:25:00.000Z",
    };
    const done = rollupOf(newEvent("focus.completed", "u", { ...base, task_id: "t" }) as DomainEvent);
    expect(done.counters).toEqual({
      focusSeconds: 1470,
      focusSessions: 1,
      focusCompleted: 1,
      interruptions: 2,
    });
    expect(done.taskTime).toMatchObject({ focusSeconds: 1470, focusSessions: 1 });
    const dropped = rollupOf(
      newEvent("focus.abandoned", "u", { ...base, task_id: null, completed: false }) as DomainEvent,
    );
    expect(dropped.counters.focusCompleted).toBe(0);
    expect(dropped.taskTime).toBeUndefined();
    expect(focusSecondsOf(-1)).toBe(0);
  });

  it("counts a focus session at its start (its local day and hour), and its XP when it ended", () => {
    // 23:40–00:05 in New York: the session was started on the evening before.
    const startedAt = "2026-03-02T04:40:00.000Z";
    const endedAt = "2026-03-02T05:05:00.000Z";
    const event = newEvent(
      "focus.completed",
      "u",
      {
        session_id: "f",
        kind: "pomodoro",
        planned_minutes: 25,
        task_id: "t",
        step_id: null,
        actual_minutes: 25,
        completed: true,
        end_reason: "time_up",
        interruptions: 0,
        started_at: startedAt,
        ended_at: endedAt,
      },
      Date.parse(endedAt),
    ) as DomainEvent;
    const r = rollupOf(event);
    expect(r).toMatchObject({ at: startedAt, xpAt: endedAt });
    const known = { timezone: "America/New_York", category: null, energy: null };
    expect(slicesOf(r, known)).toEqual({
      day: "2026-03-01",
      slices: [
        { dim: "all", key: "" },
        { dim: "hour", key: "23" },
      ],
    });
    expect(rollupOf({ ...event, type: "focus.abandoned" } as DomainEvent).at).toBe(startedAt);
  });

  it("puts a check-in on the instant it was felt, in its own energy slice", () => {
    const r = rollupOf(
      newEvent("energy.logged", "u", {
        checkin_id: "c",
        level: "high",
        at: "2026-03-01T06:00:00.000Z",
      }) as DomainEvent,
    );
    expect(r).toMatchObject({ at: "2026-03-01T06:00:00.000Z", energy: "high", counters: { energyHigh: 1 } });
    const manual = rollupOf(
      newEvent("xp.manual", "u", { amount: 5, reason: "r", key: "k", granted_by: "a" }) as DomainEvent,
    );
    expect(manual.counters).toEqual({});
  });

  it("lands on the local day and hour of the user's time zone, with the slices it knows", () => {
    const created = rollupOf({
      ...newEvent("task.created", "u", {
        task_id: "t",
        title: "x",
        priority: "low",
        task_source: "user",
        step_count: 0,
      }),
      ...at("2026-03-02T04:30:00.000Z"),
    } as DomainEvent);
    // 04:30 UTC is still the evening before in New York.
    expect(slicesOf(created, { timezone: "America/New_York", category: "Work", energy: "low" })).toEqual({
      day: "2026-03-01",
      slices: [
        { dim: "all", key: "" },
        { dim: "hour", key: "23" },
        { dim: "category", key: "Work" },
        { dim: "energy", key: "low" },
      ],
    });
    expect(slicesOf(created, { timezone: "UTC", category: null, energy: null }).slices).toHaveLength(2);
  });
});

describe("the actual minutes of a task", () => {
  it("are the reported minutes, else the focus time to the minute, else unknown", () => {
    expect(actualMinutesOf(40, 600)).toBe(40);
    expect(actualMinutesOf(0, 600)).toBe(0);
    expect(actualMinutesOf(null, 600)).toBe(10);
    expect(actualMinutesOf(null, 29)).toBeNull();
    expect(actualSourceOf(40, 0)).toBe("reported");
    expect(actualSourceOf(null, 90)).toBe("focus");
    expect(actualSourceOf(null, 0)).toBeNull();
  });
});

describe("ranges and buckets", () => {
  it("defaults to the last 30 days through today, and refuses an inverted or over-long range naming from", () => {
    expect(resolveRange({}, "2026-03-31")).toEqual({ from: "2026-03-02", to: "2026-03-31" });
    expect(resolveRange({ to: "2026-01-30" }, "2026-03-31")).toEqual({
      from: "2026-01-01",
      to: "2026-01-30",
    });
    const inverted = refusal(() => resolveRange({ from: "2026-03-02", to: "2026-03-01" }, "2026-03-31"));
    expect(inverted.status).toBe(422);
    expect(inverted.errors?.[0]?.field).toBe("from");
    expect(resolveRange({ from: "2025-03-01", to: "2026-04-04" }, "x").from).toBe("2025-03-01");
    const long = refusal(() => resolveRange({ from: "2025-03-01", to: "2026-04-05" }, "x"));
    expect(long.errors?.[0]).toMatchObject({ field: "from" });
    expect(long.message).toMatch(/400 days/);
  });

  it("starts weeks on Monday and months on the 1st, clipping the first and last bucket", () => {
    expect(weekdayOf("2026-03-01")).toBe(7);
    expect(mondayOf("2026-03-01")).toBe("2026-02-23");
    expect(mondayOf("2026-03-02")).toBe("2026-03-02");
    expect(bucketsOf({ from: "2026-03-01", to: "2026-03-10" }, "week")).toEqual([
      { starts_on: "2026-02-23", from: "2026-03-01", to: "2026-03-01" },
      { starts_on: "2026-03-02", from: "2026-03-02", to: "2026-03-08" },
      { starts_on: "2026-03-09", from: "2026-03-09", to: "2026-03-10" },
    ]);
    expect(bucketsOf({ from: "2024-01-15", to: "2024-03-01" }, "month")).toEqual([
      { starts_on: "2024-01-01", from: "2024-01-15", to: "2024-01-31" },
      { starts_on: "2024-02-01", from: "2024-02-01", to: "2024-02-29" },
      { starts_on: "2024-03-01", from: "2024-03-01", to: "2024-03-01" },
    ]);
    expect(bucketsOf({ from: "2026-03-01", to: "2026-03-03" }, "day").map((b) => b.from)).toEqual([
      "2026-03-01",
      "2026-03-02",
      "2026-03-03",
    ]);
  });
});

describe("the reads, from rollup rows", () => {
  // Wednesday 2026-03-04: this week is Mon 03-02 … Wed 03-04, last week Mon 02-23 … Wed 02-25.
  const today = "2026-03-04";
  const rows = [
    row(today, "all", "", { tasksCreated: 2, tasksCompleted: 1, focusSeconds: 1500, xp: 30 }),
    row("2026-03-02", "all", "", {
      tasksCreated: 2,
      tasksCompleted: 2,
      stepsCompleted: 4,
      focusSessions: 2,
      focusCompleted: 1,
    }),
    row("2026-02-24", "all", "", { tasksCompleted: 1, stepsCompleted: 1 }),
    // Last week's Thursday is past "the same weekday": not compared.
    row("2026-02-26", "all", "", { tasksCompleted: 9 }),
    row(today, "category", "Work", { stepsCompleted: 3, tasksCompleted: 1 }),
    row("2026-03-02", "category", "Health", { stepsCompleted: 1 }),
    row("2026-03-02", "category", "Personal", { stepsCompleted: 5 }),
    row("2026-03-02", "category", "Creative", { stepsCompleted: 1 }),
    row("2026-02-24", "category", "Academic", { stepsCompleted: 50 }),
  ];
  const streak = {
    current_days: 2,
    longest_days: 5,
    freezes_held: 0,
    frozen_days: [],
    last_active_day: today,
    at_risk: false,
    today,
    timezone: "UTC",
  };

  it("compares this week with the same days of last week, and ranks this week's categories", () => {
    expect(dashboardRange(today)).toEqual({ from: "2026-02-23", to: today });
    const d = dashboardOf(rows, { today, timezone: "UTC", streak });
    expect(d.today).toMatchObject({ date: today, tasks_created: 2, focus_minutes: 25, xp: 30 });
    expect(d.this_week).toMatchObject({
      from: "2026-03-02",
      to: today,
      tasks_completed: 3,
      steps_completed: 4,
    });
    expect(d.last_week).toMatchObject({ from: "2026-02-23", to: "2026-02-25", tasks_completed: 1 });
    expect(d.week_deltas).toMatchObject({ tasks_completed: 2, steps_completed: 3, focus_minutes: 25 });
    expect(d.completion_rates).toEqual({
      tasks: { completed: 3, created: 4, rate: 0.75 },
      focus_sessions: { completed: 1, ended: 2, rate: 0.5 },
    });
    expect(d.top_categories.map((c) => c.category)).toEqual(["Personal", "Work", "Health"]);
    expect(d.streak).toBe(streak);
  });

  it("fills every bucket of the timeline, empty ones with zeros", () => {
    const t = timelineOf(rows, {
      range: { from: "2026-02-23", to: "2026-03-08" },
      bucket: "week",
      timezone: "UTC",
    });
    expect(t.buckets.map((b) => [b.starts_on, b.tasks_completed])).toEqual([
      ["2026-02-23", 10],
      ["2026-03-02", 3],
    ]);
    const days = timelineOf(rows, {
      range: { from: "2026-03-01", to: "2026-03-03" },
      bucket: "day",
      timezone: "UTC",
    });
    expect(days.buckets.map((b) => b.tasks_created)).toEqual([0, 2, 0]);
  });

  it("sums estimated against actual minutes in total and by category", () => {
    const timed = [
      row(today, "all", "", { timedTasks: 3, estimatedMinutes: 60, actualMinutes: 90, onTimeTasks: 1 }),
      row(today, "category", "Work", {
        timedTasks: 2,
        estimatedMinutes: 40,
        actualMinutes: 70,
        onTimeTasks: 0,
      }),
      row(today, "category", "Health", { stepsCompleted: 1 }),
    ];
    expect(timeSummaryOf(timed)).toEqual({
      totals: { timed_tasks: 3, estimated_minutes: 60, actual_minutes: 90, ratio: 1.5, on_time_share: 0.33 },
      by_category: [
        {
          category: "Work",
          timed_tasks: 2,
          estimated_minutes: 40,
          actual_minutes: 70,
          ratio: 1.75,
          on_time_share: 0,
        },
      ],
    });
  });

  it("sums one task's own times: timed with an estimate and an actual, under its category if it has one", () => {
    const base = {
      taskId: "t",
      title: "Write",
      category: "Work" as const,
      completedAt: "2026-03-04T10:00:00.000Z",
      estimatedMinutes: 20,
      stepsCompleted: 0,
      stepMinutes: 0,
      focusSeconds: 1500,
      focusSessions: 1,
      reportedMinutes: null,
    };
    const late = { timed_tasks: 1, estimated_minutes: 20, actual_minutes: 25, ratio: 1.25, on_time_share: 0 };
    expect(taskSummaryOf(base)).toEqual({ totals: late, by_category: [{ category: "Work", ...late }] });
    expect(taskSummaryOf({ ...base, reportedMinutes: 20, category: null })).toEqual({
      totals: { timed_tasks: 1, estimated_minutes: 20, actual_minutes: 20, ratio: 1, on_time_share: 1 },
      by_category: [],
    });
    const none = {
      timed_tasks: 0,
      estimated_minutes: 0,
      actual_minutes: 0,
      ratio: null,
      on_time_share: null,
    };
    for (const untimed of [{ ...base, estimatedMinutes: null }, { ...base, focusSeconds: 0 }, undefined]) {
      expect(taskSummaryOf(untimed)).toEqual({ totals: none, by_category: [] });
    }
  });

  it("shapes one task's times, its actual minutes by the one rule", () => {
    const base = {
      taskId: "t",
      title: "Write",
      category: null,
      completedAt: "2026-03-04T10:00:00.000Z",
      estimatedMinutes: 20,
      stepsCompleted: 2,
      stepMinutes: 12,
      focusSeconds: 1800,
      focusSessions: 1,
      reportedMinutes: null,
    };
    expect(timedTaskOf(base)).toMatchObject({
      actual_minutes: 30,
      actual_source: "focus",
      ratio: 1.5,
      focus_minutes: 30,
    });
    expect(timedTaskOf({ ...base, reportedMinutes: 10 })).toMatchObject({
      actual_minutes: 10,
      actual_source: "reported",
      ratio: 0.5,
    });
    expect(timedTaskOf({ ...base, estimatedMinutes: null }).ratio).toBeNull();
    expect(minutesOf(90)).toBe(1.5);
    expect(rateOf(1, 0)).toBeNull();
  });
});

describe("when a check-in was felt", () => {
  const now = Date.parse("2026-03-04T12:00:00.000Z");
  it("defaults to now and accepts 5 minutes ahead and 7 days back", () => {
    expect(checkinTime(undefined, now)).toBe("2026-03-04T12:00:00.000Z");
    expect(checkinTime(new Date(now + MAX_AHEAD_MS).toISOString(), now)).toBe("2026-03-04T12:05:00.000Z");
    expect(checkinTime(new Date(now - MAX_BACK_MS).toISOString(), now)).toBe("2026-02-25T12:00:00.000Z");
  });
  it("refuses later or earlier, naming at", () => {
    expect(refusal(() => checkinTime(new Date(now + MAX_AHEAD_MS + 1000).toISOString(), now)).errors).toEqual(
      [{ field: "at", message: "Must not be more than 5 minutes in the future" }],
    );
    expect(refusal(() => checkinTime(new Date(now - MAX_BACK_MS - 1000).toISOString(), now)).status).toBe(
      422,
    );
  });
});
