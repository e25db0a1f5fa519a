import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { focusSessions } from "../../db/schema";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { type FocusSettings, minutesOf } from "./kinds";
import type { FocusRecord } from "./machine";
import type { FocusRecordDto } from "./schemas";
import { settingsUpsert } from "./settings";

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
