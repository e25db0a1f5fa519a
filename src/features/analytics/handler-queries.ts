/**
 * The analytics handler's SQL: its one read per delivery, and the two upserts per event (the rollup
 * slices of its local day, its task's time record). Every counter is added (`x = x + excluded.x`), so
 * statements of many events commute; the receipt written with them makes each event count once.
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
  categories: Map<string, string | null>;
  /** The energy the user last checked in, within the window before each event (by event id). */
  energy: Map<string, EnergyLevel>;
}

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
  const taskIds = [...new Set(events.flatMap((e) => (e.rollup.taskId ? [e.rollup.taskId] : [])))];
  const lookups = events.filter((e) => !e.rollup.energy);
  const batch = new D1Batch();
  const owners = chunkList(userIds, 90).map((ids) =>
    batch.add(
      db.select({ id: users.id, timezone: users.timezone }).from(users).where(inArray(users.id, ids)),
    ),
  );
  const categories = chunkList(taskIds, 90).map((ids) =>
    batch.add(
      db.select({ id: tasks.id, category: tasks.category }).from(tasks).where(inArray(tasks.id, ids)),
    ),
  );
  const energy = chunkList(lookups, ENERGY_LOOKUPS_PER_STATEMENT).map((chunk) =>
    batch.add(latestEnergyQuery(db, chunk)),
  );
  const results = await batch.run(db);
  return {
    timezones: new Map(owners.flatMap((read) => read(results).map((r) => [r.id, r.timezone]))),
    categories: new Map(categories.flatMap((read) => read(results).map((r) => [r.id, r.category]))),
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
 * The actual minutes of a completed task in SQL, as `actualMinutesOf` defines them: the reported
 * minutes, else the focus time recorded on the task so far, rounded to the minute, when at least one.
 */
function actualMinutesSql(userId: string, taskId: string, reported: number | null): SQL {
  if (reported !== null) return sql`${reported}`;
  return sql`(SELECT CASE WHEN ROUND(t.focus_seconds / 60.0) > 0
      THEN CAST(ROUND(t.focus_seconds / 60.0) AS INTEGER) END
    FROM analytics_task_times t WHERE t.user_id = ${userId} AND t.task_id = ${taskId})`;
}

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
 * XP per local day equals the ledger's by construction.
 */
export function rollupUpsert(
  db: Database,
  target: { event: DomainEvent; rollup: EventRollup; day: string; slices: readonly Slice[]; now: string },
  guard: SQL | undefined,
): BatchItem<"sqlite"> {
  const { event, rollup, day, slices, now } = target;
  const user = event.user_id;
  const values: Record<CounterKey, SQL> = Object.fromEntries(
    COUNTER_KEYS.map((k) => [
      k,
      sql.raw(String(Math.trunc((rollup.counters as Record<string, number>)[k] ?? 0))),
    ]),
  ) as Record<CounterKey, SQL>;
  values.xp = sql`(SELECT COALESCE(SUM(l.amount), 0) FROM xp_ledger l WHERE l.event_id = ${event.id})`;
  let timedFrom = sql``;
  if (rollup.timing && rollup.taskId) {
    const estimate = Math.trunc(rollup.timing.estimatedMinutes);
    timedFrom = sql`, (SELECT ${actualMinutesSql(user, rollup.taskId, rollup.timing.reportedMinutes)} AS actual) a`;
    values.timedTasks = sql`CASE WHEN a.actual IS NULL THEN 0 ELSE 1 END`;
    values.estimatedMinutes = sql`CASE WHEN a.actual IS NULL THEN 0 ELSE ${sql.raw(String(estimate))} END`;
    values.actualMinutes = sql`COALESCE(a.actual, 0)`;
    values.onTimeTasks = sql`CASE WHEN a.actual IS NOT NULL AND a.actual <= ${sql.raw(String(estimate))} THEN 1 ELSE 0 END`;
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
    SELECT ${user}, ${day}, s.column1, s.column2, ${selected}, ${now}
    FROM (VALUES ${sliceRows}) s${timedFrom}
    WHERE ${guard ?? sql`1`}
    ON CONFLICT (user_id, day, dim, key) DO UPDATE SET ${updates}, updated_at = excluded.updated_at`,
  );
}

/**
 * The task's time record: sums added, the category and estimate kept current, and on completion the
 * reported minutes and the completion time (a re-completion never reaches here: it counts once).
 */
export function taskTimeUpsert(
  db: Database,
  target: { userId: string; taskId: string; category: string | null; delta: TaskTimeDelta; now: string },
  guard: SQL | undefined,
): BatchItem<"sqlite"> {
  const { userId, taskId, category, delta, now } = target;
  const completion = delta.completion;
  const int = (n: number) => sql.raw(String(Math.trunc(n)));
  return rawStatement(
    db,
    sql`INSERT INTO analytics_task_times (user_id, task_id, category, estimated_minutes, steps_completed,
      step_minutes, focus_seconds, focus_sessions, reported_minutes, completed_at, updated_at)
    SELECT ${userId}, ${taskId}, ${category}, ${delta.estimatedMinutes}, ${int(delta.stepsCompleted)},
      ${int(delta.stepMinutes)}, ${int(delta.focusSeconds)}, ${int(delta.focusSessions)},
      ${completion?.reportedMinutes ?? null}, ${completion?.completedAt ?? null}, ${now}
    WHERE ${guard ?? sql`1`}
    ON CONFLICT (user_id, task_id) DO UPDATE SET
      category = COALESCE(excluded.category, category),
      estimated_minutes = ${completion ? sql`excluded.estimated_minutes` : sql`COALESCE(excluded.estimated_minutes, estimated_minutes)`},
      steps_completed = steps_completed + excluded.steps_completed,
      step_minutes = step_minutes + excluded.step_minutes,
      focus_seconds = focus_seconds + excluded.focus_seconds,
      focus_sessions = focus_sessions + excluded.focus_sessions,
      reported_minutes = ${completion ? sql`excluded.reported_minutes` : sql`reported_minutes`},
      completed_at = ${completion ? sql`excluded.completed_at` : sql`completed_at`},
      updated_at = excluded.updated_at`,
  );
}
