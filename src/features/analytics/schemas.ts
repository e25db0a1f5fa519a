import { z } from "@hono/zod-openapi";
import { ENERGY_SCALE } from "../../db/schema/analytics";
import { TASK_CATEGORIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { IsoTimestamp } from "../../lib/iso-timestamp";
import { PaginationQuerySchema } from "../../lib/pagination";
import { StreakSchema } from "../gamification/schemas";
import { BUCKETS, DEFAULT_RANGE_DAYS } from "./ranges";
import { MAX_RANGE_DAYS } from "./rollup-queries";

/** A calendar date; years outside 1970–9998 are no one's history (and break date arithmetic). */
const LocalDateSchema = z.iso
  .date({ message: "Use a calendar date like 2026-11-25" })
  .refine((d) => d >= "1970-01-01" && d <= "9998-12-31", { message: "Use a date between 1970 and 9998" });

const RangeQuery = {
  from: LocalDateSchema.optional().openapi({
    description: `First day, in your time zone (default: ${DEFAULT_RANGE_DAYS - 1} days before \`to\`). At most ${MAX_RANGE_DAYS} days through \`to\`.`,
  }),
  to: LocalDateSchema.optional().openapi({ description: "Last day, in your time zone (default: today)" }),
};

// ---- Energy check-ins ----

export const CreateEnergyCheckinSchema = z
  .object({
    level: caseInsensitiveEnum(ENERGY_SCALE).openapi({
      description: "How much energy you have, on the splitter's scale (any letter case)",
    }),
    at: IsoTimestamp.optional().openapi({
      description: "When you felt it (default: now); at most 5 minutes ahead and 7 days back",
      example: "2026-11-25T09:30:00Z",
    }),
  })
  .openapi("EnergyCheckinInput");
export type CreateEnergyCheckinInput = z.infer<typeof CreateEnergyCheckinSchema>;

export const EnergyCheckinSchema = z
  .object({
    checkin_id: z.string(),
    level: z.enum(ENERGY_SCALE),
    at: z.string().openapi({ description: "When the user felt it (UTC)" }),
    created_at: z.string(),
  })
  .openapi("EnergyCheckin");
export type EnergyCheckinDto = z.infer<typeof EnergyCheckinSchema>;

export const ListEnergyQuerySchema = PaginationQuerySchema.extend({
  from: LocalDateSchema.optional().openapi({
    description: "First day, in your time zone (default: no bound)",
  }),
  to: LocalDateSchema.optional().openapi({ description: "Last day, in your time zone (default: no bound)" }),
});

// ---- Counters ----

export const CountersSchema = z
  .object({
    tasks_created: z.number().int(),
    tasks_completed: z.number().int(),
    steps_completed: z.number().int(),
    xp: z
      .number()
      .int()
      .openapi({ description: "Every XP grant, on the local day of the event that earned it" }),
    focus_minutes: z.number().openapi({ description: "Worked focus time, to a tenth of a minute" }),
    focus_sessions: z
      .number()
      .int()
      .openapi({ description: "Focus sessions ended (completed or abandoned)" }),
    focus_completed: z.number().int().openapi({ description: "Focus sessions ended as done" }),
    interruptions: z.number().int(),
    energy_low: z.number().int(),
    energy_medium: z.number().int(),
    energy_high: z.number().int(),
    timed_tasks: z.number().int().openapi({
      description: "Completed tasks with both an estimate and an actual time (see time-tracking)",
    }),
    estimated_minutes: z.number().int().openapi({ description: "Their estimates, summed" }),
    actual_minutes: z.number().int().openapi({ description: "Their actual minutes, summed" }),
    on_time_tasks: z
      .number()
      .int()
      .openapi({ description: "Those whose actual time was within the estimate" }),
  })
  .openapi("AnalyticsCounters");
export type CountersDto = z.infer<typeof CountersSchema>;

const Rate = z.number().nullable().openapi({ description: "null when the denominator is 0" });

// ---- Dashboard ----

export const DashboardSchema = z
  .object({
    timezone: z.string(),
    today: CountersSchema.extend({ date: z.string() }),
    this_week: CountersSchema.extend({ from: z.string(), to: z.string() }).openapi({
      description: "Monday (local) through today",
    }),
    last_week: CountersSchema.extend({ from: z.string(), to: z.string() }).openapi({
      description: "The same days a week earlier: Monday through the same weekday",
    }),
    week_deltas: CountersSchema.openapi({ description: "this_week minus last_week, counter by counter" }),
    streak: StreakSchema,
    focus_minutes: z.object({ today: z.number(), this_week: z.number(), last_week: z.number() }),
    completion_rates: z.object({
      tasks: z.object({ completed: z.number().int(), created: z.number().int(), rate: Rate }).openapi({
        description: "This week: tasks completed ÷ tasks created (above 1 when older tasks were finished)",
      }),
      focus_sessions: z
        .object({ completed: z.number().int(), ended: z.number().int(), rate: Rate })
        .openapi({ description: "This week: focus sessions completed ÷ focus sessions ended" }),
    }),
    top_categories: z
      .array(
        z.object({
          category: z.enum(TASK_CATEGORIES),
          steps_completed: z.number().int(),
          tasks_completed: z.number().int(),
        }),
      )
      .openapi({ description: "This week, at most 3, by steps plus tasks completed" }),
  })
  .openapi("AnalyticsDashboard");
export type DashboardDto = z.infer<typeof DashboardSchema>;

// ---- Timeline ----

export const TimelineQuerySchema = z.object({
  ...RangeQuery,
  bucket: caseInsensitiveEnum(BUCKETS)
    .optional()
    .openapi({ description: "day (default), week (Monday start) or month" }),
});

export const TimelineSchema = z
  .object({
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    bucket: z.enum(BUCKETS),
    buckets: z.array(
      CountersSchema.extend({
        starts_on: z.string().openapi({ description: "The bucket's first calendar day (a Monday, the 1st)" }),
        from: z.string().openapi({ description: "Its first day inside the range" }),
        to: z.string().openapi({ description: "Its last day inside the range" }),
      }),
    ),
  })
  .openapi("AnalyticsTimeline");
export type TimelineDto = z.infer<typeof TimelineSchema>;

// ---- Time tracking ----

export const TimeTrackingQuerySchema = PaginationQuerySchema.extend({
  ...RangeQuery,
  task_id: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({
      description:
        "Only this task of yours (a deleted one is 404): the totals are its own, and only the bounds you give " +
        "apply, so a task completed long ago is found (`from` then defaults to its completion day)",
    }),
});

const TimedSums = {
  timed_tasks: z.number().int(),
  estimated_minutes: z.number().int(),
  actual_minutes: z.number().int(),
  ratio: Rate.openapi({ description: "actual ÷ estimated minutes (above 1: took longer than estimated)" }),
  on_time_share: Rate.openapi({ description: "Share of timed tasks done within their estimate" }),
};

export const TimedTaskSchema = z
  .object({
    task_id: z.string(),
    title: z.string(),
    category: z.enum(TASK_CATEGORIES).nullable(),
    completed_at: z.string(),
    estimated_minutes: z.number().int().nullable().openapi({ description: "The task's estimate" }),
    steps_completed: z.number().int(),
    step_estimated_minutes: z
      .number()
      .int()
      .openapi({ description: "Its completed steps' estimates, summed" }),
    focus_minutes: z.number(),
    focus_sessions: z.number().int(),
    reported_minutes: z.number().int().nullable().openapi({
      description: "Reported by you or by the agent that did it (the task's actual_minutes now)",
    }),
    actual_minutes: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Reported minutes, else focus minutes" }),
    actual_source: z.enum(["reported", "focus"]).nullable(),
    ratio: Rate.openapi({ description: "actual ÷ estimated minutes" }),
  })
  .openapi("TimedTask");
export type TimedTaskDto = z.infer<typeof TimedTaskSchema>;

export const TimeTrackingSchema = z
  .object({
    timezone: z.string(),
    from: z.string(),
    to: z.string(),
    totals: z.object(TimedSums),
    by_category: z.array(z.object({ category: z.enum(TASK_CATEGORIES), ...TimedSums })),
    tasks: z.array(TimedTaskSchema).openapi({
      description:
        'Tasks completed in the range, newest first, one page (the next in the `Link: <…>; rel="next"` header)',
    }),
  })
  .openapi("AnalyticsTimeTracking");
export type TimeTrackingDto = z.infer<typeof TimeTrackingSchema>;
