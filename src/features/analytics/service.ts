/**
 * The analytics reads (dashboard, timeline, time tracking): each reads the user's time zone and then
 * rollups (through `rollupsQuery`) and, for time tracking, the per-task time records (joined with their
 * tasks for the title, the current reported minutes and whether deleted) — never steps, focus
 * sessions or events. Two D1 round trips each.
 */
import { and, desc, eq, gte, isNotNull, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { analyticsTaskTimes, tasks, users } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { notFound } from "../../lib/errors";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { addDays, daysBetween, type LocalDate, localParts, startOfLocalDay } from "../../lib/time";
import { streakIn } from "../gamification/service";
import { type Bucket, checkOrder, earlierOf, resolveRange } from "./ranges";
import {
  dashboardOf,
  type TaskTimeRow,
  taskSummaryOf,
  timedTaskOf,
  timelineFromTotals,
  timelineOf,
  timeSummaryOf,
} from "./reads";
import { bucketTotalsQuery, readRollups, rollupsQuery } from "./rollup-queries";
import type { DashboardDto, TimedTaskDto, TimelineDto, TimeTrackingDto } from "./schemas";

export function timezoneQuery(db: Database, userId: string) {
  return db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId));
}

export async function timezoneOf(db: Database, userId: string): Promise<string> {
  return (await timezoneQuery(db, userId).get())?.timezone ?? "UTC";
}

/**
 * The dashboard in one round trip: the streak (gamification's own answer, which also names the user's
 * today) and the rollups in the same batch. The rollups read cover every day the dashboard's range
 * can start or end on, whatever the user's time zone; `dashboardOf` keeps the days it needs.
 */
export async function dashboardFor(db: Database, userId: string, now = Date.now()): Promise<DashboardDto> {
  // Local today is the UTC date ± 1, and the range starts at most 13 days before local today.
  const utcToday = new Date(now).toISOString().slice(0, 10);
  const batch = new D1Batch();
  const streakOf = streakIn(batch, db, userId, now);
  const rollups = batch.add(
    rollupsQuery(db, userId, addDays(utcToday, -14), addDays(utcToday, 1), ["all", "category"]),
  );
  const results = await batch.run(db);
  const streak = streakOf(results);
  return dashboardOf(rollups(results), { today: streak.today, timezone: streak.timezone, streak });
}

export async function timelineFor(
  db: Database,
  userId: string,
  query: { from?: LocalDate | undefined; to?: LocalDate | undefined; bucket?: Bucket | undefined },
  now = Date.now(),
): Promise<TimelineDto> {
  const bucket = query.bucket ?? "day";
  const read = widestRange(query, now);
  if (!read) {
    // Valid in some zones only (or in none): the exact range once the zone is known, or its 422.
    const timezone = await timezoneOf(db, userId);
    const range = resolveRange(query, localParts(timezone, now).date);
    return timelineOf(await readRollups(db, userId, range.from, range.to, ["all"]), {
      range,
      bucket,
      timezone,
    });
  }
  if (bucket !== "day" && daysBetween(read.from, read.to) >= 4) {
    // One round trip with weeks or months summed in SQL: the days surely inside the user's range
    // (their range starts within 2 days of the widest one's start and ends within 2 of its end), and
    // the 2 days at each edge one by one, kept or not once the zone is known.
    const inner = { from: addDays(read.from, 2), to: addDays(read.to, -2) };
    const [owner, totals, head, tail] = await db.batch([
      timezoneQuery(db, userId),
      bucketTotalsQuery(db, userId, inner.from, inner.to, bucket),
      rollupsQuery(db, userId, read.from, addDays(read.from, 1), ["all"]),
      rollupsQuery(db, userId, addDays(read.to, -1), read.to, ["all"]),
    ]);
    const timezone = owner[0]?.timezone ?? "UTC";
    const range = resolveRange(query, localParts(timezone, now).date);
    return timelineFromTotals(totals, [...head, ...tail], { range, bucket, timezone });
  }
  // One round trip: the time zone, and every day the range could cover in any zone.
  const [owner, rows] = await db.batch([
    timezoneQuery(db, userId),
    rollupsQuery(db, userId, read.from, read.to, ["all"]),
  ]);
  const timezone = owner[0]?.timezone ?? "UTC";
  const range = resolveRange(query, localParts(timezone, now).date);
  // timelineOf keeps the days of the user's own range.
  return timelineOf(rows, { range, bucket, timezone });
}

/**
 * The range a query covers whatever the user's time zone (their today is the UTC date ± 1), when it
 * is valid for every such today; undefined otherwise, and the exact range is read once the zone is
 * known (its 422 comes from there).
 */
function widestRange(
  query: { from?: LocalDate | undefined; to?: LocalDate | undefined },
  now: number,
): { from: LocalDate; to: LocalDate } | undefined {
  const utcToday = new Date(now).toISOString().slice(0, 10);
  try {
    const earliest = resolveRange(query, addDays(utcToday, -1));
    const latest = resolveRange(query, addDays(utcToday, 1));
    return { from: earliest.from, to: latest.to };
  } catch {
    return undefined;
  }
}

/** A time-tracking page's cursor: the last task's completion time and id. */
export const TASK_TIME_CURSOR = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z~[\x21-\x7e]{1,200}$/;

/**
 * Time tracking over a range: totals and categories from the rollups, the tasks from their time
 * records. With `task_id`, that one task alone: its totals from its own record, and only the bounds the
 * client gave (a task completed long ago is still found); `from` then defaults to its completion day.
 * A deleted task is not listed, and its id is 404, like another user's.
 */
export async function timeTrackingFor(
  db: Database,
  userId: string,
  query: {
    from?: LocalDate | undefined;
    to?: LocalDate | undefined;
    task_id?: string | undefined;
    limit: number;
  },
  after: string | null,
  now = Date.now(),
): Promise<{ body: TimeTrackingDto; page: Page<TimedTaskDto> }> {
  const taskId = query.task_id;
  const [owner, owned] = await db.batch([
    timezoneQuery(db, userId),
    db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.userId, userId), eq(tasks.id, taskId ?? ""), isNull(tasks.deletedAt))),
  ]);
  if (taskId !== undefined && owned.length === 0) throw notFound("Task");
  const timezone = owner[0]?.timezone ?? "UTC";
  const today = localParts(timezone, now).date;
  const dayStart = (day: LocalDate) => new Date(startOfLocalDay(timezone, day)).toISOString();
  const pageOfTimes = (rows: TaskTimeRow[]) =>
    pageOf(rows, query.limit, timedTaskOf, (row) => `${row.completedAt}~${row.taskId}`);

  if (taskId !== undefined) {
    checkOrder(query.from, query.to);
    const times = (await taskTimesQuery(db, userId, {
      since: query.from === undefined ? undefined : dayStart(query.from),
      until: query.to === undefined ? undefined : dayStart(addDays(query.to, 1)),
      taskId,
      // One task is one page: a cursor cannot move past it (and must not empty its totals).
      after: null,
      limit: rowsToFetch(query.limit),
    })) as TaskTimeRow[];
    const to = query.to ?? today;
    const completed = times[0] ? localParts(timezone, Date.parse(times[0].completedAt)).date : to;
    const from = query.from ?? earlierOf(completed, to);
    const page = pageOfTimes(times);
    return {
      body: { timezone, from, to, ...taskSummaryOf(times[0]), tasks: page.items },
      page,
    };
  }

  const range = resolveRange(query, today);
  const [rows, times] = await db.batch([
    rollupsQuery(db, userId, range.from, range.to, ["all", "category"]),
    taskTimesQuery(db, userId, {
      since: dayStart(range.from),
      until: dayStart(addDays(range.to, 1)),
      taskId: undefined,
      after,
      limit: rowsToFetch(query.limit),
    }),
  ]);
  const page = pageOfTimes(times as TaskTimeRow[]);
  return {
    body: { timezone, from: range.from, to: range.to, ...timeSummaryOf(rows), tasks: page.items },
    page,
  };
}

/**
 * The user's tasks completed in [since, until) (either bound may be absent), newest first, after the
 * cursor; deleted tasks left out. Titles and the reported minutes come from the task as it is now: an
 * `actual_minutes` changed after completion shows here (no event carries it to the rollups).
 */
function taskTimesQuery(
  db: Database,
  userId: string,
  q: {
    since: string | undefined;
    until: string | undefined;
    taskId: string | undefined;
    after: string | null;
    limit: number;
  },
) {
  const conditions: (SQL | undefined)[] = [
    eq(analyticsTaskTimes.userId, userId),
    isNotNull(analyticsTaskTimes.completedAt),
    q.since === undefined ? undefined : gte(analyticsTaskTimes.completedAt, q.since),
    q.until === undefined ? undefined : lt(analyticsTaskTimes.completedAt, q.until),
    q.taskId === undefined ? undefined : eq(analyticsTaskTimes.taskId, q.taskId),
  ];
  if (q.after) {
    const split = q.after.indexOf("~");
    const at = q.after.slice(0, split);
    const id = q.after.slice(split + 1);
    conditions.push(sql`(${analyticsTaskTimes.completedAt}, ${analyticsTaskTimes.taskId}) < (${at}, ${id})`);
  }
  return db
    .select({
      taskId: analyticsTaskTimes.taskId,
      title: tasks.title,
      category: analyticsTaskTimes.category,
      completedAt: sql<string>`${analyticsTaskTimes.completedAt}`,
      estimatedMinutes: analyticsTaskTimes.estimatedMinutes,
      stepsCompleted: analyticsTaskTimes.stepsCompleted,
      stepMinutes: analyticsTaskTimes.stepMinutes,
      focusSeconds: analyticsTaskTimes.focusSeconds,
      focusSessions: analyticsTaskTimes.focusSessions,
      reportedMinutes: tasks.actualMinutes,
    })
    .from(analyticsTaskTimes)
    .innerJoin(
      tasks,
      and(eq(tasks.id, analyticsTaskTimes.taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt)),
    )
    .where(and(...conditions))
    .orderBy(desc(analyticsTaskTimes.completedAt), desc(analyticsTaskTimes.taskId))
    .limit(q.limit);
}
