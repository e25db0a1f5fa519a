/**
 * The reads training and predictions share: a task as the models see it (its steps, the difficulty and
 * energy it was last split with, the minutes reported for it), and energy check-ins. Each is one
 * statement, so a caller puts them in one batch with whatever else it needs.
 */
import { and, desc, eq, gte, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import {
  analyticsRollups,
  analyticsTaskTimes,
  ENERGY_SCALE,
  type EnergyLevel,
  energyCheckins,
  tasks,
  users,
} from "../../db/schema";
import { localParts } from "../../lib/time";
import type { EnergySample } from "./energy";
import type { TaskSample } from "./features";

/** At most this many finished tasks (the most recent) and check-ins feed one training. */
export const MAX_HISTORY_ROWS = 5_000;
export const HISTORY_DAYS = 365;
/** Users active within this many days are trained nightly (and their tasks sample the population). */
export const ACTIVE_DAYS = 30;
/** The population model learns from the tasks of at most this many recently active users. */
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
    timezone: users.timezone,
    // Minutes reported for it (by the user or an agent) as analytics recorded them, else the task's own.
    actual: sql<number | null>`COALESCE(${analyticsTaskTimes.reportedMinutes}, ${tasks.actualMinutes})`,
    steps: sql<number>`(SELECT count(*) FROM micro_steps m WHERE m.task_id = ${tasks.id})`,
    difficulty: sql<
      number | null
    >`(SELECT s.difficulty FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.difficulty IS NOT NULL ORDER BY s.id DESC LIMIT 1)`,
    splitEnergy: sql<
      string | null
    >`(SELECT s.energy FROM task_splits s WHERE s.user_id = ${tasks.userId} AND s.task_id = ${tasks.id} AND s.energy IS NOT NULL ORDER BY s.id DESC LIMIT 1)`,
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

function ownerCondition(scope: Scope, now: number): SQL {
  if ("userId" in scope) return sql`${tasks.userId} = ${scope.userId}`;
  const since = localParts("UTC", now - ACTIVE_DAYS * DAY_MS).date;
  return sql`${tasks.userId} IN (SELECT DISTINCT ${analyticsRollups.userId} FROM ${analyticsRollups} WHERE ${analyticsRollups.dim} = 'all' AND ${analyticsRollups.day} >= ${since} LIMIT ${POPULATION_USERS})`;
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
      gte(tasks.completedAt, since),
    ),
  )
    .orderBy(desc(tasks.completedAt))
    .limit(MAX_HISTORY_ROWS);
}

/** The check-ins a training learns from, with their owner's time zone. */
export function checkinsQuery(db: Database, scope: Scope, now: number) {
  const since = new Date(now - HISTORY_DAYS * DAY_MS).toISOString();
  const owner =
    "userId" in scope
      ? eq(energyCheckins.userId, scope.userId)
      : inArray(
          energyCheckins.userId,
          db
            .selectDistinct({ id: analyticsRollups.userId })
            .from(analyticsRollups)
            .where(
              and(
                eq(analyticsRollups.dim, "all"),
                gte(analyticsRollups.day, localParts("UTC", now - ACTIVE_DAYS * DAY_MS).date),
              ),
            )
            .limit(POPULATION_USERS),
        );
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

export type CheckinRow = Awaited<ReturnType<typeof checkinsQuery>>[number];

export function toEnergySamples(rows: readonly CheckinRow[]): EnergySample[] {
  return rows.map((row) => ({
    id: row.id,
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
      if ((list[mid]?.at ?? 0) <= at) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const hit = list[found];
    return hit && at - hit.at <= CHECKIN_REACH_MS ? hit.level : null;
  };
}

/**
 * A task as a model sample. A finished task's hour is when its work started (finish minus minutes
 * taken); an open task's is `at` (now). Its energy is what the user said when splitting it, else
 * what `energy` finds for that moment (their check-ins).
 */
export function toTaskSample(
  row: TaskFeatureRow,
  options: { at?: number; energy?: EnergyLookup } = {},
): TaskSample {
  const finished = row.completedAt ? Date.parse(row.completedAt) : Number.NaN;
  const startedAt =
    options.at ?? (Number.isFinite(finished) ? finished - (row.actual ?? 0) * 60_000 : Date.now());
  const parts = localParts(row.timezone, startedAt);
  return {
    id: row.id,
    category: row.category,
    estimate: row.estimate,
    priority: row.priority,
    steps: Number(row.steps) || 0,
    hour: parts.hour,
    weekday: parts.weekday,
    energy: asEnergy(row.splitEnergy) ?? options.energy?.(row.userId, startedAt) ?? null,
    titleLength: row.title.length,
    actual: row.actual,
    difficulty: row.difficulty,
  };
}
