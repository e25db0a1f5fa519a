/**
 * The reads training and predictions share: a task as the models see it (its steps, the difficulty and
 * energy it was last split with, the minutes reported for it), and energy check-ins. Each is one
 * statement, so a caller puts them in one batch with whatever else it needs.
 */
import { and, desc, eq, gte, isNotNull, isNull, min, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import {
  analyticsRollups,
  analyticsTaskTimes,
  ENERGY_SCALE,
  type EnergyLevel,
  energyCheckins,
  focusSessions,
  type ModelKind,
  tasks,
  users,
} from "../../db/schema";
import { localParts, nowIso } from "../../lib/time";
import type { EnergySample } from "./energy";
import type { TaskSample } from "./features";

/** At most this many finished tasks (the most recent) and check-ins feed one training. */
export const MAX_HISTORY_ROWS = 5_000;
export const HISTORY_DAYS = 365;
/** Users active within this many days are trained nightly (and their tasks sample the population). */
export const ACTIVE_DAYS = 30;
/** The population model learns from the tasks of at most this many users, the most recently active. */
export const POPULATION_USERS = 500;
/** A check-in describes the user's energy for this long after it. */
const CHECKIN_REACH_MS = 3 * 3_600_000;
const DAY_MS = 86_400_000;

const asEnergy = (value: string | null): EnergyLevel | null =>
  value !== null && (ENERGY_SCALE as readonly string[]).includes(value) ? (value as EnergyLevel) : null;

/** The columns of a task the models need, by subqueries on the task's own indexes. */
export function taskFeatureColumns() {
  return {
    id: tasks.id,
    userId: tasks.userId,
    title: tasks.title,
    category: tasks.category,
    estimate: tasks.estimatedMinutes,
    priority: tasks.priority,
    status: tasks.status,
    dueAt: tasks.dueAt,
    completedAt: tasks.completedAt,
    createdAt: tasks.createdAt,
    timezone: users.timezone,
    // The label is the difficulty and energy said when splitting the task itself (a step's split says
    // how hard that step felt, not the task).
    // Minutes reported for it (by the user or an agent) as analytics recorded them, else the task's own.
    actual: sql<number | null>`COALESCE(${analyticsTaskTimes.reportedMinutes}, ${tasks.actualMinutes})`,
    steps: sql<number>`(SELECT count(*) FROM micro_steps m WHERE m.task_id = ${tasks.id})`,
    difficulty: sql<
      number | null
    >`(SELECT s.difficulty FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.step_id IS NULL AND s.difficulty IS NOT NULL ORDER BY s.id DESC LIMIT 1)`,
    splitEnergy: sql<
      string | null
    >`(SELECT s.energy FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.step_id IS NULL AND s.energy IS NOT NULL ORDER BY s.id DESC LIMIT 1)`,
  };
}

/** Tasks with their feature columns, filtered by `where`. */
export function taskFeatureQuery(db: Database, where: SQL | undefined) {
  return db
    .select(taskFeatureColumns())
    .from(tasks)
    .innerJoin(users, eq(users.id, tasks.userId))
    .leftJoin(
      analyticsTaskTimes,
      and(eq(analyticsTaskTimes.userId, tasks.userId), eq(analyticsTaskTimes.taskId, tasks.id)),
    )
    .where(where);
}

export type TaskFeatureRow = Awaited<ReturnType<typeof taskFeatureQuery>>[number];

/** Whose history a training reads: one user's, or a sample of recently active users' (the population). */
export type Scope = { userId: string } | { population: true };

/** The population's users: those active in the last ACTIVE_DAYS days, the most recently active first. */
function populationUsers(now: number): SQL {
  const since = localParts("UTC", now - ACTIVE_DAYS * DAY_MS).date;
  return sql`(SELECT ${analyticsRollups.userId} FROM ${analyticsRollups} WHERE ${analyticsRollups.dim} = 'all' AND ${analyticsRollups.day} >= ${since} GROUP BY ${analyticsRollups.userId} ORDER BY max(${analyticsRollups.day}) DESC, ${analyticsRollups.userId} LIMIT ${POPULATION_USERS})`;
}

function ownerCondition(scope: Scope, now: number): SQL {
  if ("userId" in scope) return sql`${tasks.userId} = ${scope.userId}`;
  return sql`${tasks.userId} IN ${populationUsers(now)}`;
}

/** The finished tasks a training learns from: the last year's, most recent first. */
export function finishedTasksQuery(db: Database, scope: Scope, now: number) {
  const since = new Date(now - HISTORY_DAYS * DAY_MS).toISOString();
  return taskFeatureQuery(
    db,
    and(
      ownerCondition(scope, now),
      eq(tasks.status, "completed"),
      isNull(tasks.deletedAt),
      // A project's own row is the sum of its sub-tasks, not a piece of work.
      eq(tasks.isMetaTask, false),
      gte(tasks.completedAt, since),
      // Work finished in another app and imported carries no label (no minutes, no difficulty), and a
      // file of thousands would fill the MAX_HISTORY_ROWS window ahead of the work done here. An
      // imported task finished here, with a label, still counts.
      sql`(${tasks.taskSource} != 'import'
        OR COALESCE(${analyticsTaskTimes.reportedMinutes}, ${tasks.actualMinutes}) > 0
        OR EXISTS (SELECT 1 FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.step_id IS NULL AND s.difficulty IS NOT NULL))`,
    ),
  )
    .orderBy(desc(tasks.completedAt))
    .limit(MAX_HISTORY_ROWS);
}

/**
 * How many rows of `kind` a training of this user would learn from (what a note counts toward): timed
 * finished tasks, finished tasks with a difficulty said when splitting, check-ins, of the last year.
 */
export function historyCountQuery(db: Database, userId: string, kind: ModelKind, now: number) {
  const since = nowIso(now - HISTORY_DAYS * DAY_MS);
  const n = { n: sql<number>`count(*)` };
  if (kind === "energy")
    return db
      .select(n)
      .from(energyCheckins)
      .where(and(eq(energyCheckins.userId, userId), gte(energyCheckins.at, since)));
  const label =
    kind === "difficulty"
      ? sql`EXISTS (SELECT 1 FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.step_id IS NULL AND s.difficulty IS NOT NULL)`
      : kind === "best_time"
        ? sql`COALESCE(${analyticsTaskTimes.reportedMinutes}, ${tasks.actualMinutes}) > 0 AND ${tasks.estimatedMinutes} > 0 AND ${tasks.category} IS NOT NULL`
        : sql`COALESCE(${analyticsTaskTimes.reportedMinutes}, ${tasks.actualMinutes}) > 0`;
  return db
    .select(n)
    .from(tasks)
    .leftJoin(
      analyticsTaskTimes,
      and(eq(analyticsTaskTimes.userId, tasks.userId), eq(analyticsTaskTimes.taskId, tasks.id)),
    )
    .where(
      and(
        eq(tasks.userId, userId),
        eq(tasks.status, "completed"),
        isNull(tasks.deletedAt),
        eq(tasks.isMetaTask, false),
        gte(tasks.completedAt, since),
        label,
      ),
    );
}

/** The check-ins a training learns from, with their owner's time zone. */
export function checkinsQuery(db: Database, scope: Scope, now: number) {
  const since = new Date(now - HISTORY_DAYS * DAY_MS).toISOString();
  const owner =
    "userId" in scope
      ? eq(energyCheckins.userId, scope.userId)
      : sql`${energyCheckins.userId} IN ${populationUsers(now)}`;
  return db
    .select({
      id: energyCheckins.id,
      userId: energyCheckins.userId,
      level: energyCheckins.level,
      at: energyCheckins.at,
      timezone: users.timezone,
    })
    .from(energyCheckins)
    .innerJoin(users, eq(users.id, energyCheckins.userId))
    .where(and(owner, gte(energyCheckins.at, since)))
    .orderBy(desc(energyCheckins.at))
    .limit(MAX_HISTORY_ROWS);
}

/**
 * When work on each finished task started, by its first focus session: one grouped range read of the
 * owner's sessions (the population's: of the last ACTIVE_DAYS days only, to keep it bounded).
 */
export function focusStartsQuery(db: Database, scope: Scope, now: number) {
  const days = "userId" in scope ? HISTORY_DAYS : ACTIVE_DAYS;
  const owner =
    "userId" in scope
      ? eq(focusSessions.userId, scope.userId)
      : sql`${focusSessions.userId} IN ${populationUsers(now)}`;
  return db
    .select({ taskId: sql<string>`${focusSessions.taskId}`, startedAt: min(focusSessions.startedAt) })
    .from(focusSessions)
    .where(
      and(owner, gte(focusSessions.startedAt, nowIso(now - days * DAY_MS)), isNotNull(focusSessions.taskId)),
    )
    .groupBy(focusSessions.taskId);
}

export type CheckinRow = Awaited<ReturnType<typeof checkinsQuery>>[number];

export function toEnergySamples(rows: readonly CheckinRow[]): EnergySample[] {
  return rows.map((row) => ({
    id: row.id,
    userId: row.userId,
    hour: localParts(row.timezone, Date.parse(row.at)).hour,
    level: row.level,
  }));
}

/** Finds a user's latest check-in within a few hours before an instant (binary search per user). */
export type EnergyLookup = (userId: string, at: number) => EnergyLevel | null;

export function energyLookup(checkins: readonly CheckinRow[]): EnergyLookup {
  const byUser = new Map<string, { at: number; level: EnergyLevel }[]>();
  for (const c of checkins) {
    const list = byUser.get(c.userId) ?? [];
    list.push({ at: Date.parse(c.at), level: c.level });
    byUser.set(c.userId, list);
  }
  for (const list of byUser.values()) list.sort((a, b) => a.at - b.at);
  return (userId, at) => {
    const list = byUser.get(userId);
    if (!list) return null;
    let lo = 0;
    let hi = list.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid]!.at <= at) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const hit = list[found];
    return hit && at - hit.at <= CHECKIN_REACH_MS ? hit.level : null;
  };
}

/**
 * When the work on a finished task started, from something other than the minutes it took (finish
 * minus minutes would hand the model its own answer): its first focus session, else its creation when
 * that was on the same local day it was finished; else not known (null).
 */
export function startOf(row: TaskFeatureRow, focusStart: number | undefined): number | null {
  const finished = row.completedAt ? Date.parse(row.completedAt) : Number.NaN;
  if (!Number.isFinite(finished)) return null;
  if (focusStart !== undefined && focusStart <= finished) return focusStart;
  const created = Date.parse(row.createdAt);
  if (
    Number.isFinite(created) &&
    created <= finished &&
    localParts(row.timezone, created).date === localParts(row.timezone, finished).date
  )
    return created;
  return null;
}

/**
 * A finished task as a training sample. Its hour is when its work started (startOf: null when not
 * known); its energy follows taskEnergy: the user's check-in at that start, else what they said when
 * splitting it.
 */
export function historySample(
  row: TaskFeatureRow,
  options: { focusStarts?: ReadonlyMap<string, number>; energy?: EnergyLookup } = {},
): TaskSample {
  const start = startOf(row, options.focusStarts?.get(row.id));
  const finished = row.completedAt ? Date.parse(row.completedAt) : Date.now();
  const parts = localParts(row.timezone, start ?? finished);
  return {
    ...labelsOf(row),
    hour: start === null ? null : parts.hour,
    // The day it started, else the day it finished (a duration rarely crosses midnight).
    weekday: parts.weekday,
    energy: taskEnergy(row, null, start === null ? null : options.energy?.(row.userId, start)),
  };
}

/**
 * The energy a task is worked at, one rule for training and every prediction (the predictions, the
 * splitter's default, suggestions), so a model is asked with the energy it learned from: what the user
 * said for that moment (a prediction's request; a training row has none), else their check-in of the
 * few hours before it (at the work's start; for a prediction, now), else the energy the task was last
 * split with (said for the task, but maybe long before the work).
 */
export function taskEnergy(
  row: Pick<TaskFeatureRow, "splitEnergy">,
  said: EnergyLevel | null | undefined,
  checkin: EnergyLevel | null | undefined,
): EnergyLevel | null {
  return said ?? checkin ?? asEnergy(row.splitEnergy);
}

/** A task about to be worked on (now, at `at`), as a model sample. */
export function openSample(row: TaskFeatureRow, at: number, energy: EnergyLevel | null): TaskSample {
  const parts = localParts(row.timezone, at);
  return { ...labelsOf(row), hour: parts.hour, weekday: parts.weekday, energy };
}

function labelsOf(row: TaskFeatureRow) {
  return {
    id: row.id,
    userId: row.userId,
    category: row.category,
    estimate: row.estimate,
    priority: row.priority,
    steps: Number(row.steps) || 0,
    titleLength: row.title.length,
    actual: row.actual,
    difficulty: row.difficulty,
  };
}
