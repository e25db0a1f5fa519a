/**
 * The analytics handler's SQL: its one read per delivery, the upserts per event (the rollup slices of
 * its local day, its task's time record) and the sync of a completed task's timed counters. Every
 * counter is added (`x = x + excluded.x`), so statements of many events commute; the receipt written
 * with them makes each event count once.
 */
import { inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { type EnergyLevel, tasks, users } from "../../db/schema";
import { D1Batch, rawStatement } from "../../lib/batch";
import { chunkList } from "../../lib/chunk";
import type { DomainEvent } from "../../lib/events/catalog";
import type { ZERO_COUNTERS } from "./rollup-queries";
import { ENERGY_WINDOW_MS, type EventRollup, type Slice, type TaskTimeDelta } from "./rollup-rules";

export interface DeliveryContext {
  timezones: Map<string, string>;
  /** A task's category, keyed by `taskKey(user, task)`: only the event's own user's task counts. */
  categories: Map<string, string | null>;
  /** The energy the user last checked in, within the window before each event (by event id). */
  energy: Map<string, EnergyLevel>;
}

/** The key of a task's category in a delivery's context: the owner and the task. */
export const taskKey = (userId: string, taskId: string) => `${userId}\u0000${taskId}`;

/** Two parameters per task: 45 tasks per statement keeps each under D1's 100. */
const TASKS_PER_STATEMENT = 45;

/** Four parameters per event: 20 events per statement keeps each under D1's 100. */
const ENERGY_LOOKUPS_PER_STATEMENT = 20;

/**
 * Everything a delivery needs, in one round trip: the users' time zones, the tasks' categories, and
 * for each event the user's latest check-in at or before it within ENERGY_WINDOW_MS.
 */
export async function readDeliveryContext(
  db: Database,
  events: readonly { event: DomainEvent; rollup: EventRollup }[],
): Promise<DeliveryContext> {
  const userIds = [...new Set(events.map((e) => e.event.user_id))];
  // An event names a task by id, but only its own user's task is read: an event naming another
  // person's task (a crafted restore, a stale id) gets no category from it.
  const ownedTasks = [
    ...new Map(
      events.flatMap(({ event, rollup }) =>
        rollup.taskId
          ? [[taskKey(event.user_id, rollup.taskId), [event.user_id, rollup.taskId]] as const]
          : [],
      ),
    ).values(),
  ];
  const lookups = events.filter((e) => !e.rollup.energy);
  const batch = new D1Batch();
  const owners = chunkList(userIds, 90).map((ids) =>
    batch.add(
      db.select({ id: users.id, timezone: users.timezone }).from(users).where(inArray(users.id, ids)),
    ),
  );
  const categories = chunkList(ownedTasks, TASKS_PER_STATEMENT).map((pairs) =>
    batch.add(
      db
        .select({ userId: tasks.userId, id: tasks.id, category: tasks.category })
        .from(tasks)
        .where(
          sql`(${tasks.userId}, ${tasks.id}) IN (VALUES ${sql.join(
            pairs.map(([userId, taskId]) => sql`(${userId}, ${taskId})`),
            sql`, `,
          )})`,
        ),
    ),
  );
  const energy = chunkList(lookups, ENERGY_LOOKUPS_PER_STATEMENT).map((chunk) =>
    batch.add(latestEnergyQuery(db, chunk)),
  );
  const results = await batch.run(db);
  return {
    timezones: new Map(owners.flatMap((read) => read(results).map((r) => [r.id, r.timezone]))),
    categories: new Map(
      categories.flatMap((read) => read(results).map((r) => [taskKey(r.userId, r.id), r.category])),
    ),
    energy: new Map(
      energy.flatMap((read) =>
        read(results).flatMap((r) => (r.level ? [[r.eventId, r.level] as const] : [])),
      ),
    ),
  };
}

/** Per event (id, user, instant, window start): the level of the user's latest check-in in the window. */
function latestEnergyQuery(db: Database, chunk: readonly { event: DomainEvent; rollup: EventRollup }[]) {
  const rows = chunk.map(({ event, rollup }) => {
    const at = Date.parse(rollup.at);
    const since = new Date((Number.isNaN(at) ? Date.now() : at) - ENERGY_WINDOW_MS).toISOString();
    return sql`(${event.id}, ${event.user_id}, ${rollup.at}, ${since})`;
  });
  return db
    .select({
      eventId: sql<string>`v.column1`.as("event_id"),
      level: sql<EnergyLevel | null>`(SELECT c.level FROM energy_checkins c
        WHERE c.user_id = v.column2 AND c.at <= v.column3 AND c.at >= v.column4
        ORDER BY c.at DESC LIMIT 1)`.as("level"),
    })
    .from(sql`(VALUES ${sql.join(rows, sql`, `)}) v`);
}

/** True when this event paid the source (the ledger row the gamification handler just wrote). */
export function paidBy(userId: string, eventId: string, sourceKey: string): SQL {
  return sql`EXISTS (SELECT 1 FROM xp_ledger l
    WHERE l.user_id = ${userId} AND l.source_key = ${sourceKey} AND l.event_id = ${eventId})`;
}

/**
 * The actual minutes of a completed task in SQL over an `analytics_task_times` row, as `actualMinutesOf`
 * defines them: the reported minutes, else the focus time recorded on the task, rounded to the minute,
 * when at least one.
 */
const ACTUAL_MINUTES_SQL = sql.raw(`COALESCE(reported_minutes, CASE WHEN ROUND(focus_seconds / 60.0) > 0
  THEN CAST(ROUND(focus_seconds / 60.0) AS INTEGER) END)`);

const COUNTER_COLUMNS = {
  tasksCreated: "tasks_created",
  tasksCompleted: "tasks_completed",
  stepsCompleted: "steps_completed",
  xp: "xp",
  focusSeconds: "focus_seconds",
  focusSessions: "focus_sessions",
  focusCompleted: "focus_completed",
  interruptions: "interruptions",
  energyLow: "energy_low",
  energyMedium: "energy_medium",
  energyHigh: "energy_high",
  timedTasks: "timed_tasks",
  estimatedMinutes: "estimated_minutes",
  actualMinutes: "actual_minutes",
  onTimeTasks: "on_time_tasks",
} as const satisfies Record<keyof typeof ZERO_COUNTERS, string>;

type CounterKey = keyof typeof COUNTER_COLUMNS;
const COUNTER_KEYS = Object.keys(COUNTER_COLUMNS) as CounterKey[];

/**
 * One statement adding the event's counters to every slice of its local day. XP is what the ledger
 * holds for this event (every grant of any kind, written earlier in the batch), so the rollups'
 * XP per local day equals the ledger's by construction. `parts` splits an event whose XP counts at
 * another instant than its other counters (a focus session: started one hour, paid the next) into
 * two statements, one per instant.
 */
export function rollupUpsert(
  db: Database,
  target: { event: DomainEvent; rollup: EventRollup; day: string; slices: readonly Slice[]; now: string },
  guard: SQL | undefined,
  parts: { counters: boolean; xp: boolean } = { counters: true, xp: true },
): BatchItem<"sqlite"> {
  const { event, rollup, day, slices, now } = target;
  const counters = parts.counters ? (rollup.counters as Record<string, number>) : {};
  const values: Record<CounterKey, SQL> = Object.fromEntries(
    COUNTER_KEYS.map((k) => [k, sql.raw(String(Math.trunc(counters[k] ?? 0)))]),
  ) as Record<CounterKey, SQL>;
  if (parts.xp) {
    values.xp = sql`(SELECT COALESCE(SUM(l.amount), 0) FROM xp_ledger l WHERE l.event_id = ${event.id})`;
  }
  const sliceRows = sql.join(
    slices.map((s) => sql`(${s.dim}, ${s.key})`),
    sql`, `,
  );
  const columns = sql.raw(COUNTER_KEYS.map((k) => COUNTER_COLUMNS[k]).join(", "));
  const selected = sql.join(
    COUNTER_KEYS.map((k) => values[k]),
    sql`, `,
  );
  const updates = sql.raw(
    COUNTER_KEYS.map(
      (k) => `${COUNTER_COLUMNS[k]} = ${COUNTER_COLUMNS[k]} + excluded.${COUNTER_COLUMNS[k]}`,
    ).join(", "),
  );
  return rawStatement(
    db,
    sql`INSERT INTO analytics_rollups (user_id, day, dim, key, ${columns}, updated_at)
    SELECT ${event.user_id}, ${day}, s.column1, s.column2, ${selected}, ${now}
    FROM (VALUES ${sliceRows}) s
    WHERE ${guard ?? sql`1`}
    ON CONFLICT (user_id, day, dim, key) DO UPDATE SET ${updates}, updated_at = excluded.updated_at`,
  );
}

/**
 * The task's time record: sums added, the category as it is at this event (a cleared one too) and the
 * estimate kept current; on completion the reported minutes, the completion time, and where its timed
 * counters are counted (`completedOn`: the completion's local day and slices). A re-completion
 * never reaches here: it counts once.
 */
export function taskTimeUpsert(
  db: Database,
  target: {
    userId: string;
    taskId: string;
    category: string | null;
    delta: TaskTimeDelta;
    /** For a completion: the local day and slices it counts on. */
    completedOn?: { day: string; slices: readonly Slice[] };
    now: string;
  },
  guard: SQL | undefined,
): BatchItem<"sqlite"> {
  const { userId, taskId, category, delta, now } = target;
  const completion = delta.completion;
  const int = (n: number) => sql.raw(String(Math.trunc(n)));
  const counted = completion && target.completedOn;
  const countedSlices = counted ? JSON.stringify(counted.slices.map((s) => [s.dim, s.key])) : null;
  const timedEstimate = completion?.timedEstimate == null ? null : Math.trunc(completion.timedEstimate);
  return rawStatement(
    db,
    sql`INSERT INTO analytics_task_times (user_id, task_id, category, estimated_minutes, steps_completed,
      step_minutes, focus_seconds, focus_sessions, reported_minutes, completed_at, counted_day,
      counted_slices, counted_estimate, updated_at)
    SELECT ${userId}, ${taskId}, ${category}, ${delta.estimatedMinutes}, ${int(delta.stepsCompleted)},
      ${int(delta.stepMinutes)}, ${int(delta.focusSeconds)}, ${int(delta.focusSessions)},
      ${completion?.reportedMinutes ?? null}, ${completion?.completedAt ?? null}, ${counted?.day ?? null},
      ${countedSlices}, ${timedEstimate}, ${now}
    WHERE ${guard ?? sql`1`}
    ON CONFLICT (user_id, task_id) DO UPDATE SET
      category = excluded.category,
      estimated_minutes = ${completion ? sql`excluded.estimated_minutes` : sql`COALESCE(excluded.estimated_minutes, estimated_minutes)`},
      steps_completed = steps_completed + excluded.steps_completed,
      step_minutes = step_minutes + excluded.step_minutes,
      focus_seconds = focus_seconds + excluded.focus_seconds,
      focus_sessions = focus_sessions + excluded.focus_sessions,
      reported_minutes = ${completion ? sql`excluded.reported_minutes` : sql`reported_minutes`},
      completed_at = ${completion ? sql`excluded.completed_at` : sql`completed_at`},
      counted_day = ${counted ? sql`excluded.counted_day` : sql`counted_day`},
      counted_slices = ${counted ? sql`excluded.counted_slices` : sql`counted_slices`},
      counted_estimate = ${counted ? sql`excluded.counted_estimate` : sql`counted_estimate`},
      updated_at = excluded.updated_at`,
  );
}

/**
 * Brings a completed task's timed counters in its completion's rollup rows in line with its time
 * record, whatever order the events arrived in: the difference between the actual minutes the
 * record now gives and those already counted (`counted_actual`) is added to every slice the
 * completion counted on, then remembered. Runs after the record's upsert, for the completion and for
 * every focus session on the task; it does nothing before the completion, without an estimate, or
 * when nothing changed — so it can run any number of times.
 */
export function timedCountersSync(
  db: Database,
  target: { userId: string; taskId: string; now: string },
): BatchItem<"sqlite">[] {
  const { userId, taskId, now } = target;
  const row = sql`user_id = ${userId} AND task_id = ${taskId}
    AND counted_day IS NOT NULL AND counted_slices IS NOT NULL AND counted_estimate IS NOT NULL`;
  const timed = (v: string) => `CASE WHEN ${v} IS NULL THEN 0 ELSE 1 END`;
  const estimated = (v: string) => `CASE WHEN ${v} IS NULL THEN 0 ELSE t.counted_estimate END`;
  const onTime = (v: string) => `CASE WHEN ${v} IS NOT NULL AND ${v} <= t.counted_estimate THEN 1 ELSE 0 END`;
  const delta = (of: (v: string) => string) => sql.raw(`(${of("t.actual")}) - (${of("t.counted_actual")})`);
  return [
    rawStatement(
      db,
      sql`INSERT INTO analytics_rollups (user_id, day, dim, key, timed_tasks, estimated_minutes,
        actual_minutes, on_time_tasks, updated_at)
      SELECT t.user_id, t.counted_day, json_extract(s.value, '$[0]'), json_extract(s.value, '$[1]'),
        ${delta(timed)}, ${delta(estimated)}, COALESCE(t.actual, 0) - COALESCE(t.counted_actual, 0),
        ${delta(onTime)}, ${now}
      FROM (SELECT *, ${ACTUAL_MINUTES_SQL} AS actual FROM analytics_task_times WHERE ${row}) t,
        json_each(t.counted_slices) s
      WHERE t.actual IS NOT t.counted_actual
      ON CONFLICT (user_id, day, dim, key) DO UPDATE SET
        timed_tasks = timed_tasks + excluded.timed_tasks,
        estimated_minutes = estimated_minutes + excluded.estimated_minutes,
        actual_minutes = actual_minutes + excluded.actual_minutes,
        on_time_tasks = on_time_tasks + excluded.on_time_tasks,
        updated_at = excluded.updated_at`,
    ),
    rawStatement(
      db,
      sql`UPDATE analytics_task_times SET counted_actual = ${ACTUAL_MINUTES_SQL}
      WHERE ${row} AND counted_actual IS NOT ${ACTUAL_MINUTES_SQL}`,
    ),
  ];
}
