/**
 * The analytics reads as pure functions of rollup rows: what the dashboard, the timeline and time
 * tracking answer. No D1 here (the services read, these shape), so unit tests run them on plain rows.
 */
import { TASK_CATEGORIES, type TaskCategory } from "../../db/schema/tasks";
import { addDays, type LocalDate } from "../../lib/time";
import { type Bucket, bucketsOf, type LocalRange, mondayOf } from "./ranges";
import {
  type BucketTotal,
  type Counters,
  type RollupRow,
  sumCounters,
  ZERO_COUNTERS,
} from "./rollup-queries";
import { actualMinutesOf, actualSourceOf } from "./rollup-rules";
import type { CountersDto, DashboardDto, TimedTaskDto, TimelineDto, TimeTrackingDto } from "./schemas";

/** Minutes to a tenth, from seconds. */
export const minutesOf = (seconds: number) => Math.round(seconds / 6) / 10;

/** `part ÷ whole` to two decimals; null when the whole is 0. */
export const rateOf = (part: number, whole: number): number | null =>
  whole > 0 ? Math.round((part / whole) * 100) / 100 : null;

export function toCountersDto(c: Counters): CountersDto {
  return {
    tasks_created: c.tasksCreated,
    tasks_completed: c.tasksCompleted,
    steps_completed: c.stepsCompleted,
    xp: c.xp,
    focus_minutes: minutesOf(c.focusSeconds),
    focus_sessions: c.focusSessions,
    focus_completed: c.focusCompleted,
    interruptions: c.interruptions,
    energy_low: c.energyLow,
    energy_medium: c.energyMedium,
    energy_high: c.energyHigh,
    timed_tasks: c.timedTasks,
    estimated_minutes: c.estimatedMinutes,
    actual_minutes: c.actualMinutes,
    on_time_tasks: c.onTimeTasks,
  };
}

/** The day totals (dim `all`) of rows between two dates, summed. */
function totalOf(rows: readonly RollupRow[], from: LocalDate, to: LocalDate): Counters {
  return sumCounters(rows.filter((r) => r.dim === "all" && r.day >= from && r.day <= to));
}

const isCategory = (key: string): key is TaskCategory => (TASK_CATEGORIES as readonly string[]).includes(key);

/** The category slices of rows, summed per category (categories in their canonical order). */
function byCategory(rows: readonly RollupRow[]): { category: TaskCategory; counters: Counters }[] {
  const groups = new Map<TaskCategory, RollupRow[]>();
  for (const row of rows) {
    if (row.dim !== "category" || !isCategory(row.key)) continue;
    const list = groups.get(row.key) ?? [];
    list.push(row);
    groups.set(row.key, list);
  }
  return TASK_CATEGORIES.flatMap((category) => {
    const list = groups.get(category);
    return list ? [{ category, counters: sumCounters(list) }] : [];
  });
}

export const DASHBOARD_TOP_CATEGORIES = 3;

/** The rollup range the dashboard reads: last week's Monday through today. */
export function dashboardRange(today: LocalDate): LocalRange {
  return { from: addDays(mondayOf(today), -7), to: today };
}

/** The dashboard, from the day totals and category slices of `dashboardRange(today)`. */
export function dashboardOf(
  rows: readonly RollupRow[],
  ctx: { today: LocalDate; timezone: string; streak: DashboardDto["streak"] },
): DashboardDto {
  const { today } = ctx;
  const weekStart = mondayOf(today);
  const lastFrom = addDays(weekStart, -7);
  const lastTo = addDays(today, -7);
  const day = totalOf(rows, today, today);
  const week = totalOf(rows, weekStart, today);
  const last = totalOf(rows, lastFrom, lastTo);
  const weekDto = toCountersDto(week);
  const lastDto = toCountersDto(last);
  const deltas = Object.fromEntries(
    (Object.keys(weekDto) as (keyof CountersDto)[]).map((k) => [
      k,
      Math.round((weekDto[k] - lastDto[k]) * 10) / 10,
    ]),
  ) as CountersDto;
  const top = byCategory(rows.filter((r) => r.day >= weekStart && r.day <= today))
    .map(({ category, counters }) => ({
      category,
      steps_completed: counters.stepsCompleted,
      tasks_completed: counters.tasksCompleted,
    }))
    .filter((c) => c.steps_completed + c.tasks_completed > 0)
    .sort((a, b) => b.steps_completed + b.tasks_completed - (a.steps_completed + a.tasks_completed))
    .slice(0, DASHBOARD_TOP_CATEGORIES);
  return {
    timezone: ctx.timezone,
    today: { date: today, ...toCountersDto(day) },
    this_week: { from: weekStart, to: today, ...weekDto },
    last_week: { from: lastFrom, to: lastTo, ...lastDto },
    week_deltas: deltas,
    streak: ctx.streak,
    focus_minutes: {
      today: minutesOf(day.focusSeconds),
      this_week: weekDto.focus_minutes,
      last_week: lastDto.focus_minutes,
    },
    completion_rates: {
      tasks: {
        completed: week.tasksCompleted,
        created: week.tasksCreated,
        rate: rateOf(week.tasksCompleted, week.tasksCreated),
      },
      focus_sessions: {
        completed: week.focusCompleted,
        ended: week.focusSessions,
        rate: rateOf(week.focusCompleted, week.focusSessions),
      },
    },
    top_categories: top,
  };
}

/** The timeline: every bucket of the range (empty ones as zeros), from the day totals. */
export function timelineOf(
  rows: readonly RollupRow[],
  ctx: { range: LocalRange; bucket: Bucket; timezone: string },
): TimelineDto {
  // Buckets are in order and do not overlap: one walk over the days in order fills them all (a year
  // by day is 365 buckets over 365 rows, not 365 scans of them).
  const totals = rows
    .filter((r) => r.dim === "all")
    .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  let next = 0;
  const buckets = bucketsOf(ctx.range, ctx.bucket).map((span) => {
    while (next < totals.length && (totals[next]?.day ?? "") < span.from) next++;
    const inSpan: RollupRow[] = [];
    while (next < totals.length && (totals[next]?.day ?? "") <= span.to)
      inSpan.push(totals[next++] as RollupRow);
    return { ...span, ...toCountersDto(sumCounters(inSpan)) };
  });
  return { timezone: ctx.timezone, from: ctx.range.from, to: ctx.range.to, bucket: ctx.bucket, buckets };
}

/**
 * The timeline from week or month totals summed in SQL over days surely inside the user's range, plus
 * the few day totals at its edges (kept when they fall inside the user's own range): the same answer as
 * `timelineOf`, from 53 rows rather than 365.
 */
export function timelineFromTotals(
  totals: readonly BucketTotal[],
  edges: readonly RollupRow[],
  ctx: { range: LocalRange; bucket: Bucket; timezone: string },
): TimelineDto {
  const byStart = new Map(totals.map((t) => [t.startsOn, t]));
  const { from, to } = ctx.range;
  const kept = edges.filter((r) => r.dim === "all" && r.day >= from && r.day <= to);
  const buckets = bucketsOf(ctx.range, ctx.bucket).map((span) => {
    const inner = byStart.get(span.starts_on);
    const edgeRows = kept.filter((r) => r.day >= span.from && r.day <= span.to);
    return { ...span, ...toCountersDto(sumCounters(inner ? [inner, ...edgeRows] : edgeRows)) };
  });
  return { timezone: ctx.timezone, from, to, bucket: ctx.bucket, buckets };
}

function timedSums(c: Counters) {
  return {
    timed_tasks: c.timedTasks,
    estimated_minutes: c.estimatedMinutes,
    actual_minutes: c.actualMinutes,
    ratio: rateOf(c.actualMinutes, c.estimatedMinutes),
    on_time_share: rateOf(c.onTimeTasks, c.timedTasks),
  };
}

/** Estimated against actual minutes in the range: in total and per category (the timed counters). */
export function timeSummaryOf(rows: readonly RollupRow[]): Pick<TimeTrackingDto, "totals" | "by_category"> {
  return {
    totals: timedSums(sumCounters(rows.filter((r) => r.dim === "all"))),
    by_category: byCategory(rows)
      .filter(({ counters }) => counters.timedTasks > 0)
      .map(({ category, counters }) => ({ category, ...timedSums(counters) })),
  };
}

/**
 * Time tracking's totals and categories for one task: its own time record, timed (in the totals, and
 * under its category when it has one) when it has an estimate and an actual time.
 */
export function taskSummaryOf(row: TaskTimeRow | undefined): Pick<TimeTrackingDto, "totals" | "by_category"> {
  const estimate = row?.estimatedMinutes ?? 0;
  const actual = row ? actualMinutesOf(row.reportedMinutes, row.focusSeconds) : null;
  const counters: Counters =
    estimate > 0 && actual !== null
      ? {
          ...ZERO_COUNTERS,
          timedTasks: 1,
          estimatedMinutes: estimate,
          actualMinutes: actual,
          onTimeTasks: actual <= estimate ? 1 : 0,
        }
      : ZERO_COUNTERS;
  const category = row?.category ?? null;
  return {
    totals: timedSums(counters),
    by_category: category && counters.timedTasks > 0 ? [{ category, ...timedSums(counters) }] : [],
  };
}

export interface TaskTimeRow {
  taskId: string;
  title: string;
  category: TaskCategory | null;
  completedAt: string;
  estimatedMinutes: number | null;
  stepsCompleted: number;
  stepMinutes: number;
  focusSeconds: number;
  focusSessions: number;
  reportedMinutes: number | null;
}

/** One task of time tracking, its actual minutes by the rule of `actualMinutesOf`. */
export function timedTaskOf(row: TaskTimeRow): TimedTaskDto {
  const actual = actualMinutesOf(row.reportedMinutes, row.focusSeconds);
  return {
    task_id: row.taskId,
    title: row.title,
    category: row.category,
    completed_at: row.completedAt,
    estimated_minutes: row.estimatedMinutes,
    steps_completed: row.stepsCompleted,
    step_estimated_minutes: row.stepMinutes,
    focus_minutes: minutesOf(row.focusSeconds),
    focus_sessions: row.focusSessions,
    reported_minutes: row.reportedMinutes,
    actual_minutes: actual,
    actual_source: actualSourceOf(row.reportedMinutes, row.focusSeconds),
    ratio: actual === null || !row.estimatedMinutes ? null : rateOf(actual, row.estimatedMinutes),
  };
}
