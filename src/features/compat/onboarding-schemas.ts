import { z } from "@hono/zod-openapi";
import { WORK_PREFERENCES } from "../../db/schema/onboarding";
import { caseInsensitiveEnum } from "../../lib/enums";

const HhMm = z
  .string()
  .regex(/^([01]\d|2[0-3]):([0-5]\d)$/, "Use a 24-hour time, HH:mm")
  .openapi({ example: "09:00" });

export const TIME_PREFERENCES = [
  "early_morning",
  "morning",
  "afternoon",
  "evening",
  "night",
  "flexible",
] as const;
const TimePreference = caseInsensitiveEnum(TIME_PREFERENCES);

const WeeklyAvailability = z
  .object({
    monday: z.boolean().optional(),
    tuesday: z.boolean().optional(),
    wednesday: z.boolean().optional(),
    thursday: z.boolean().optional(),
    friday: z.boolean().optional(),
    saturday: z.boolean().optional(),
    sunday: z.boolean().optional(),
  })
  .openapi("OnboardingWeeklyAvailability");

/**
 * The app's schedule, in the keys it sends (camelCase inside a snake_case body); the snake_case
 * spellings are accepted too. Unknown keys are dropped; what is kept is answered as it was sent.
 */
export const DailyScheduleSchema = z
  .object({
    preferredStartTime: HhMm.optional(),
    preferredEndTime: HhMm.optional(),
    timePreference: TimePreference.optional(),
    weeklyAvailability: WeeklyAvailability.optional(),
    flexibleSchedule: z.boolean().optional(),
    preferred_start_time: HhMm.optional(),
    preferred_end_time: HhMm.optional(),
    time_preference: TimePreference.optional(),
    weekly_availability: WeeklyAvailability.optional(),
    flexible_schedule: z.boolean().optional(),
  })
  .openapi("OnboardingDailySchedule", {
    description:
      "When you like to work. The start–end window (or the time preference) sets the energy a split is sized for when you give none: outside it, gentler steps",
  });

const Phrases = z.array(z.string().trim().min(1).max(100)).max(20);

export const OnboardingBodySchema = z
  .object({
    work_preference: caseInsensitiveEnum(WORK_PREFERENCES)
      .nullable()
      .optional()
      .openapi({ description: "remote, hybrid, office or flexible (stored, not used by the splitter)" }),
    adhd_support_level: z.number().int().min(1).max(10).nullable().optional().openapi({
      description:
        "1–10: how much support you want. Until the splitter has learned your own difficulty, it sizes steps by it (higher → finer steps)",
    }),
    adhd_challenges: Phrases.nullable().optional().openapi({ description: "Up to 20 (stored)" }),
    daily_schedule: DailyScheduleSchema.nullable().optional(),
    productivity_goals: Phrases.nullable().optional().openapi({ description: "Up to 20 (stored)" }),
    chatgpt_export_prompt: z
      .string()
      .max(10_000)
      .nullable()
      .optional()
      .openapi({ description: "The original API's field, accepted and not stored" }),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
  })
  .openapi("OnboardingRequest", {
    description: "Only the fields sent change; the others keep what they were (a first call starts empty)",
  });

export const OnboardingCompleteBodySchema = z
  .object({
    completed: z.boolean().openapi({ description: "true: onboarding finished; false: skipped" }),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
  })
  .openapi("OnboardingCompleteRequest");

export const OnboardingSchema = z
  .object({
    user_id: z.string(),
    work_preference: z.enum(WORK_PREFERENCES).nullable(),
    adhd_support_level: z.number().int().nullable(),
    adhd_challenges: z.array(z.string()),
    daily_schedule: DailyScheduleSchema.nullable(),
    productivity_goals: z.array(z.string()),
    chatgpt_export_prompt: z.null().openapi({ description: "Not stored here: always null" }),
    chatgpt_exported_at: z.null().openapi({ description: "Not stored here: always null" }),
    onboarding_completed: z.boolean(),
    onboarding_skipped: z.boolean(),
    completed_at: z.string().nullable(),
    skipped_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Onboarding");

export const OnboardingParamsSchema = z.object({
  user_id: z
    .string()
    .min(1)
    .max(200)
    .openapi({
      param: { name: "user_id", in: "path" },
      description: "me, your user id or your username; anyone else's is 404",
      example: "me",
    }),
});

export type OnboardingInput = z.infer<typeof OnboardingBodySchema>;
export type OnboardingDto = z.infer<typeof OnboardingSchema>;
