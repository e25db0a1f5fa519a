import { z } from "@hono/zod-openapi";
import { END_REASONS, SESSION_KINDS } from "../../db/schema/focus";
import { caseInsensitiveEnum, QueryBoolean } from "../../lib/enums";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { KIND_LIMITS, MAX_BREAK_MINUTES, SETTING_LIMITS } from "./kinds";

const MAX_EXTEND_MINUTES = MAX_BREAK_MINUTES;
const Id = z.string().trim().min(1).max(64);
const SessionGuard = Id.optional().openapi({
  description: "The session you mean: if another one is current (a stale screen), the answer is 409",
});

/** The longest interruption note (the restore of an exported timer holds notes to it too). */
export const INTERRUPTION_NOTE_CHARS = 500;

export const StartFocusBodySchema = z
  .object({
    kind: caseInsensitiveEnum(SESSION_KINDS).default("pomodoro"),
    duration_minutes: z
      .number()
      .int()
      .min(1)
      .max(240)
      .optional()
      .openapi({
        description: `Work length; defaults to your setting for the kind. Bounds: ${Object.entries(
          KIND_LIMITS,
        )
          .map(([k, v]) => `${k} ${v ? `${v[0]}–${v[1]}` : "open-ended (leave out)"}`)
          .join(", ")}`,
      }),
    task_id: Id.optional().openapi({ description: "The task you focus on" }),
    step_id: Id.optional().openapi({ description: "The micro-step you focus on (its task is implied)" }),
    user_id: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: "Ignored: always you (clients of the original API send it)" }),
  })
  .openapi("StartFocusRequest");

export const SessionGuardBodySchema = z.object({ session_id: SessionGuard }).openapi("FocusActionRequest");

export const InterruptBodySchema = z
  .object({
    note: z
      .string()
      .trim()
      .max(INTERRUPTION_NOTE_CHARS)
      .optional()
      .openapi({ example: "Slack ping from Dana" }),
    pause: z.boolean().optional().openapi({ description: "Also pause the session" }),
    session_id: SessionGuard,
  })
  .openapi("InterruptFocusRequest");

export const ExtendBodySchema = z
  .object({ minutes: z.number().int().min(1).max(MAX_EXTEND_MINUTES), session_id: SessionGuard })
  .openapi("ExtendFocusRequest");

export const FinishBodySchema = z
  .object({
    take_break: z.boolean().optional().openapi({ description: "Start the earned break (default true)" }),
    session_id: SessionGuard,
  })
  .openapi("FinishFocusRequest");

export const EndSessionBodySchema = z
  .object({
    completed: z
      .boolean()
      .default(true)
      .openapi({ description: "true finishes the session, false abandons it" }),
    take_break: z.boolean().optional(),
  })
  .openapi("EndFocusSessionRequest");

const InterruptionSchema = z.object({ at: z.string(), note: z.string().nullable() });

export const FocusRecordSchema = z
  .object({
    session_id: z.string(),
    kind: z.enum(SESSION_KINDS),
    planned_minutes: z.number().int().nullable(),
    actual_seconds: z.number().int(),
    actual_minutes: z.number(),
    completed: z.boolean(),
    end_reason: z.enum(END_REASONS),
    interruptions: z.number().int(),
    interruption_log: z.array(InterruptionSchema),
    pauses: z.number().int(),
    paused_seconds: z.number().int(),
    extended_minutes: z.number().int(),
    cycle: z.number().int(),
    task_id: z.string().nullable(),
    step_id: z.string().nullable(),
    started_at: z.string(),
    ended_at: z.string(),
  })
  .openapi("FocusSession");

export const FocusStateSchema = z
  .object({
    seq: z
      .number()
      .int()
      .openapi({ description: "Changes so far; the WebSocket numbers its messages the same way" }),
    phase: z.enum(["idle", "work", "break"]),
    status: z.enum(["idle", "running", "paused"]),
    session: z
      .object({
        session_id: z.string(),
        kind: z.enum(SESSION_KINDS),
        planned_minutes: z.number().int().nullable(),
        started_at: z.string(),
        ends_at: z.string().nullable(),
        elapsed_seconds: z.number().int(),
        remaining_seconds: z.number().int().nullable(),
        paused_at: z.string().nullable(),
        pauses: z.number().int(),
        paused_seconds: z.number().int(),
        interruptions: z.number().int(),
        interruption_log: z.array(InterruptionSchema),
        extended_minutes: z.number().int(),
        task_id: z.string().nullable(),
        step_id: z.string().nullable(),
      })
      .nullable(),
    break: z
      .object({
        kind: z.enum(["short", "long"]),
        planned_minutes: z.number().int(),
        started_at: z.string(),
        ends_at: z.string(),
        remaining_seconds: z.number().int(),
        after_session_id: z.string(),
      })
      .nullable(),
    cycle: z.number().int().openapi({ description: "Sessions completed in this run" }),
    next_break: z.enum(["short", "long"]).nullable(),
    last_session: nullableRef(FocusRecordSchema),
    server_time: z.string(),
  })
  .openapi("FocusState");

const settingField = (key: keyof typeof SETTING_LIMITS) =>
  z.number().int().min(SETTING_LIMITS[key][0]).max(SETTING_LIMITS[key][1]);

export const FocusSettingsSchema = z
  .object({
    pomodoro_work_minutes: settingField("pomodoro_work_minutes"),
    short_break_minutes: settingField("short_break_minutes"),
    long_break_minutes: settingField("long_break_minutes"),
    long_break_every: settingField("long_break_every"),
    deep_work_minutes: settingField("deep_work_minutes"),
    short_burst_minutes: settingField("short_burst_minutes"),
    flowtime_break_percent: settingField("flowtime_break_percent"),
  })
  .openapi("FocusSettings");

export const FocusSettingsPatchSchema = FocusSettingsSchema.partial().strict().openapi("FocusSettingsPatch");

export const FocusKindSchema = z
  .object({
    kind: z.enum(SESSION_KINDS),
    name: z.string(),
    description: z.string(),
    default_minutes: z.number().int().nullable(),
    min_minutes: z.number().int().nullable(),
    max_minutes: z.number().int().nullable(),
  })
  .openapi("FocusKind");

/** A calendar date; years outside 1970–9998 are no one's focus history (and break date arithmetic). */
const LocalDateSchema = z.iso
  .date({ message: "Use a calendar date like 2026-11-25" })
  .refine((d) => d >= "1970-01-01" && d <= "9998-12-31", { message: "Use a date between 1970 and 9998" });

export const AnalyticsQuerySchema = z.object({
  from: LocalDateSchema.optional().openapi({
    description: "First day, in your time zone (default: 29 days before `to`)",
  }),
  to: LocalDateSchema.optional().openapi({ description: "Last day, in your time zone (default: today)" }),
});

export const FocusAnalyticsSchema = z
  .object({
    timezone: z.string(),
    range: z.object({ from: z.string(), to: z.string() }),
    today: z.object({ date: z.string(), focus_minutes: z.number(), sessions: z.number().int() }),
    week: z.object({ starts_on: z.string(), focus_minutes: z.number(), sessions: z.number().int() }),
    totals: z.object({
      focus_minutes: z.number(),
      sessions: z.number().int(),
      completed_sessions: z.number().int(),
      completion_rate: z.number().nullable(),
      average_minutes: z.number().nullable(),
      interruptions: z.number().int(),
      interruptions_per_hour: z.number().nullable(),
    }),
    by_kind: z.array(
      z.object({
        kind: z.enum(SESSION_KINDS),
        sessions: z.number().int(),
        focus_minutes: z.number(),
        completion_rate: z.number(),
      }),
    ),
    best_hours: z.array(
      z.object({
        hour: z.number().int(),
        focus_minutes: z.number(),
        sessions: z.number().int(),
        completion_rate: z.number(),
      }),
    ),
    streak: z.object({
      current_days: z.number().int(),
      longest_days: z.number().int(),
      last_focus_date: z.string().nullable(),
    }),
  })
  .openapi("FocusAnalytics");

export const ListSessionsQuerySchema = PaginationQuerySchema.extend({
  kind: caseInsensitiveEnum(SESSION_KINDS).optional(),
  completed: QueryBoolean.optional(),
  task_id: Id.optional(),
});

export const SessionIdParamsSchema = z.object({ session_id: Id });

export type FocusRecordDto = z.infer<typeof FocusRecordSchema>;
export type FocusSettingsDto = z.infer<typeof FocusSettingsSchema>;
export type FocusKindDto = z.infer<typeof FocusKindSchema>;
export type FocusAnalyticsDto = z.infer<typeof FocusAnalyticsSchema>;
