import { and, desc, eq, gte, isNull, lt, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { focusSessions, focusSettings, microSteps, tasks } from "../../db/schema";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { type FocusSettings, minutesOf, normalizeSettings } from "./kinds";
import type { ActionError, FocusRecord } from "./machine";
import type { FocusRecordDto } from "./schemas";

type SessionRow = typeof focusSessions.$inferSelect;

/** A settings change the FocusTimer made, on its way to D1. */
export interface SettingsWrite {
  user_id: string;
  settings: FocusSettings;
  updated_at: string;
}

/**
 * The statements that make what the FocusTimer holds durable in D1 (its events go with every live
 * object's, through the outbox writer): ended sessions — ignored when already there — and settings,
 * in the order they changed, so a resend after a failure writes nothing twice nor goes back in time.
 */
export function persistStatements(
  db: Database,
  pending: { records: FocusRecord[]; settings: SettingsWrite[] },
): BatchItem<"sqlite">[] {
  const createdAt = nowIso();
  return [
    ...pending.settings.map((s) => settingsUpsert(db, s.user_id, s.settings, s.updated_at)),
    ...pending.records.map((r) =>
      db
        .insert(focusSessions)
        .values({
          id: r.session_id,
          userId: r.user_id,
          kind: r.kind,
          plannedMinutes: r.planned_minutes,
          actualSeconds: r.actual_seconds,
          completed: r.completed,
          endReason: r.end_reason,
          interruptions: r.interruptions,
          interruptionLog: r.interruption_log,
          pauses: r.pauses,
          pausedSeconds: r.paused_seconds,
          extendedMinutes: r.extended_minutes,
          cycle: r.cycle,
          taskId: r.task_id,
          stepId: r.step_id,
          startedAt: r.started_at,
          endedAt: r.ended_at,
          createdAt,
        })
        .onConflictDoNothing(),
    ),
  ];
}

function rowToDto(row: SessionRow): FocusRecordDto {
  return {
    session_id: row.id,
    kind: row.kind,
    planned_minutes: row.plannedMinutes,
    actual_seconds: row.actualSeconds,
    actual_minutes: minutesOf(row.actualSeconds),
    completed: row.completed,
    end_reason: row.endReason,
    interruptions: row.interruptions,
    interruption_log: row.interruptionLog,
    pauses: row.pauses,
    paused_seconds: row.pausedSeconds,
    extended_minutes: row.extendedMinutes,
    cycle: row.cycle,
    task_id: row.taskId,
    step_id: row.stepId,
    started_at: row.startedAt,
    ended_at: row.endedAt,
  };
}

export async function getRecord(db: Database, userId: string, sessionId: string) {
  const row = await db
    .select()
    .from(focusSessions)
    .where(and(eq(focusSessions.userId, userId), eq(focusSessions.id, sessionId)))
    .get();
  return row ? rowToDto(row) : undefined;
}

/** The user's ended sessions, newest first, one page. */
export async function listRecords(
  db: Database,
  userId: string,
  query: {
    limit: number;
    kind?: SessionRow["kind"] | undefined;
    completed?: boolean | undefined;
    task_id?: string | undefined;
  },
  afterId: string | null,
): Promise<Page<FocusRecordDto>> {
  const conditions: (SQL | undefined)[] = [eq(focusSessions.userId, userId)];
  if (afterId) conditions.push(lt(focusSessions.id, afterId));
  if (query.kind) conditions.push(eq(focusSessions.kind, query.kind));
  if (query.completed !== undefined) conditions.push(eq(focusSessions.completed, query.completed));
  if (query.task_id) conditions.push(eq(focusSessions.taskId, query.task_id));
  const rows = await db
    .select()
    .from(focusSessions)
    .where(and(...conditions))
    .orderBy(desc(focusSessions.id))
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(rows, query.limit, rowToDto, (r) => r.id);
}

/** What analytics needs of each session started at or after `since`, as a batchable query. */
export function sessionFactsQuery(db: Database, userId: string, since: string) {
  return db
    .select({
      kind: focusSessions.kind,
      started_at: focusSessions.startedAt,
      actual_seconds: focusSessions.actualSeconds,
      completed: focusSessions.completed,
      interruptions: focusSessions.interruptions,
    })
    .from(focusSessions)
    .where(and(eq(focusSessions.userId, userId), gte(focusSessions.startedAt, since)));
}

type SettingsRow = typeof focusSettings.$inferSelect;

const COLUMNS = {
  pomodoro_work_minutes: "pomodoroWorkMinutes",
  short_break_minutes: "shortBreakMinutes",
  long_break_minutes: "longBreakMinutes",
  long_break_every: "longBreakEvery",
  deep_work_minutes: "deepWorkMinutes",
  short_burst_minutes: "shortBurstMinutes",
  flowtime_break_percent: "flowtimeBreakPercent",
} as const satisfies Record<keyof FocusSettings, keyof SettingsRow>;

/** Settings from a stored row (or the defaults when there is none). */
function settingsFromRow(row: SettingsRow | undefined): FocusSettings {
  if (!row) return normalizeSettings(null);
  const partial: Partial<FocusSettings> = {};
  for (const [key, column] of Object.entries(COLUMNS) as [keyof FocusSettings, keyof SettingsRow][]) {
    const value = row[column];
    if (typeof value === "number") partial[key] = value;
  }
  return normalizeSettings(partial);
}

export async function getSettings(db: Database, userId: string): Promise<FocusSettings> {
  return settingsFromRow(await db.select().from(focusSettings).where(eq(focusSettings.userId, userId)).get());
}

/** The statement that stores a user's settings in D1 (the FocusTimer sends it through its outbox). */
export function settingsUpsert(db: Database, userId: string, settings: FocusSettings, updatedAt: string) {
  const values: Partial<SettingsRow> = {};
  for (const [key, column] of Object.entries(COLUMNS) as [keyof FocusSettings, keyof SettingsRow][]) {
    Object.assign(values, { [column]: settings[key] });
  }
  return db
    .insert(focusSettings)
    .values({ userId, ...values, updatedAt })
    .onConflictDoUpdate({ target: focusSettings.userId, set: { ...values, updatedAt } });
}

export type FocusTarget =
  /** `task_title`: the task's title, which rooms show to members the user shares it with. */
  | { ok: true; task_id: string | null; step_id: string | null; task_title: string | null }
  | { ok: false; error: ActionError };

const missing = (what: string): FocusTarget => ({
  ok: false,
  error: { status: 404, code: "not_found", detail: `${what} was not found.` },
});

/**
 * The task or step a session focuses on, proven to be the user's own (another user's ids look
 * missing) in one round trip; a step implies its task. No target, no query.
 */
export async function resolveFocusTarget(
  db: Database,
  userId: string,
  target: { task_id?: string | undefined; step_id?: string | undefined },
): Promise<FocusTarget> {
  if (target.task_id === undefined && target.step_id === undefined) {
    return { ok: true, task_id: null, step_id: null, task_title: null };
  }
  const [taskRows, stepRows] = await db.batch([
    db
      .select({ id: tasks.id, title: tasks.title })
      .from(tasks)
      .where(and(eq(tasks.id, target.task_id ?? ""), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
    db
      .select({ taskId: microSteps.taskId, title: tasks.title })
      .from(microSteps)
      .innerJoin(tasks, eq(tasks.id, microSteps.taskId))
      .where(
        and(eq(microSteps.id, target.step_id ?? ""), eq(microSteps.userId, userId), isNull(tasks.deletedAt)),
      ),
  ]);
  if (target.task_id !== undefined && taskRows.length === 0) return missing("Task");
  if (target.step_id === undefined) {
    return {
      ok: true,
      task_id: target.task_id ?? null,
      step_id: null,
      task_title: taskRows[0]?.title ?? null,
    };
  }
  const step = stepRows[0];
  if (!step || (target.task_id !== undefined && step.taskId !== target.task_id)) return missing("Step");
  return { ok: true, task_id: step.taskId, step_id: target.step_id, task_title: step.title };
}
