import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const SESSION_KINDS = ["pomodoro", "deep_work", "short_burst", "flowtime", "custom"] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];
/** Finished and time up (or flowtime's cap) count as completed; the rest do not. */
export const END_REASONS = ["finished", "time_up", "abandoned", "pause_timeout", "flowtime_cap"] as const;
export type EndReason = (typeof END_REASONS)[number];

/**
 * Every focus session that ended (finished, time up, abandoned), written by the user's FocusTimer
 * Durable Object. The running session lives in the object; this is the durable history analytics read.
 */
export const focusSessions = sqliteTable(
  "focus_sessions",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    kind: text("kind", { enum: SESSION_KINDS }).notNull(),
    plannedMinutes: integer("planned_minutes"),
    actualSeconds: integer("actual_seconds").notNull(),
    completed: integer("completed", { mode: "boolean" }).notNull(),
    endReason: text("end_reason", { enum: END_REASONS }).notNull(),
    interruptions: integer("interruptions").notNull().default(0),
    interruptionLog: text("interruption_log", { mode: "json" })
      .$type<{ at: string; note: string | null }[]>()
      .notNull()
      .default(sql`'[]'`),
    pauses: integer("pauses").notNull().default(0),
    pausedSeconds: integer("paused_seconds").notNull().default(0),
    extendedMinutes: integer("extended_minutes").notNull().default(0),
    cycle: integer("cycle").notNull().default(0),
    taskId: text("task_id"),
    stepId: text("step_id"),
    startedAt: text("started_at").notNull(),
    endedAt: text("ended_at").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    // Lists page by id (UUIDv7: start order); analytics read a user's range by start time.
    index("focus_sessions_user_id").on(t.userId, t.id),
    index("focus_sessions_user_started").on(t.userId, t.startedAt),
    check(
      "focus_sessions_kind_check",
      sql`${t.kind} IN ('pomodoro','deep_work','short_burst','flowtime','custom')`,
    ),
  ],
);

/** A user's focus settings; absent values mean the focus feature's defaults (focus/kinds.ts). */
export const focusSettings = sqliteTable("focus_settings", {
  userId: text("user_id").primaryKey(),
  pomodoroWorkMinutes: integer("pomodoro_work_minutes"),
  shortBreakMinutes: integer("short_break_minutes"),
  longBreakMinutes: integer("long_break_minutes"),
  longBreakEvery: integer("long_break_every"),
  deepWorkMinutes: integer("deep_work_minutes"),
  shortBurstMinutes: integer("short_burst_minutes"),
  flowtimeBreakPercent: integer("flowtime_break_percent"),
  updatedAt: text("updated_at").notNull(),
});
