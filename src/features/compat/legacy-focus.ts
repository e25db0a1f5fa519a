import { z } from "@hono/zod-openapi";
import type { FocusStateDto } from "../focus/protocol";
import type { FocusRecordDto } from "../focus/schemas";

/**
 * A focus session as the original API answered it (its BE-03 sessions): planned length as
 * `duration_minutes`, `ended_at` null while it runs, `completed`, a count of interruptions.
 */
export const LegacyFocusFields = {
  session_id: z.string(),
  user_id: z.string().openapi({ description: "Your user id" }),
  step_id: z.string().nullable(),
  started_at: z.string(),
  ended_at: z.string().nullable().openapi({ description: "null while it runs" }),
  duration_minutes: z
    .number()
    .int()
    .nullable()
    .openapi({ description: "The planned length (= planned_minutes); null for open-ended flowtime" }),
  completed: z.boolean(),
  interruptions: z.number().int(),
  created_at: z.string().openapi({ description: "= started_at" }),
};

export const LegacyFocusSessionSchema = z
  .object({
    ...LegacyFocusFields,
    task_id: z.string().nullable(),
    actual_minutes: z.number().openapi({ description: "Minutes actually focused so far (pauses excluded)" }),
  })
  .openapi("FocusSessionOriginal");

export type LegacyFocusSession = z.infer<typeof LegacyFocusSessionSchema>;
type LiveSession = NonNullable<FocusStateDto["session"]>;

/** The running session of a state, in the original's fields (spread beside the state at a start). */
export function legacyFocusStart(session: LiveSession, userId: string) {
  return {
    session_id: session.session_id,
    user_id: userId,
    step_id: session.step_id,
    started_at: session.started_at,
    ended_at: null,
    duration_minutes: session.planned_minutes,
    completed: false,
    interruptions: session.interruptions,
    created_at: session.started_at,
  };
}

/** A running session as the original's session record. */
export function legacyFromLive(session: LiveSession, userId: string): LegacyFocusSession {
  return {
    ...legacyFocusStart(session, userId),
    task_id: session.task_id,
    actual_minutes: Math.round(session.elapsed_seconds / 6) / 10,
  };
}

/** An ended session as the original's session record. */
export function legacyFromRecord(record: FocusRecordDto, userId: string): LegacyFocusSession {
  return {
    session_id: record.session_id,
    user_id: userId,
    step_id: record.step_id,
    task_id: record.task_id,
    started_at: record.started_at,
    ended_at: record.ended_at,
    duration_minutes: record.planned_minutes,
    completed: record.completed,
    interruptions: record.interruptions,
    created_at: record.started_at,
    actual_minutes: record.actual_minutes,
  };
}
