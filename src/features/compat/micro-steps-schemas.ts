import { z } from "@hono/zod-openapi";

const Id = z.string().min(1).max(64);

export const StepIdParamsSchema = z.object({
  step_id: Id.openapi({ param: { name: "step_id", in: "path" } }),
});

export const LegacyTaskIdParamsSchema = z.object({
  task_id: Id.openapi({ param: { name: "task_id", in: "path" } }),
});

export const LegacyCompleteStepBodySchema = z
  .object({
    actual_minutes: z
      .number()
      .int()
      .min(1)
      .max(600)
      .optional()
      .openapi({ description: "How long it really took: echoed, not stored (steps keep their estimate)" }),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
  })
  .openapi("LegacyCompleteStepRequest");

const LegacyStepProgressSchema = z.object({
  total_steps: z.number().int(),
  completed_steps: z.number().int(),
  progress_percentage: z.number().int(),
});

export const LegacyStepCompletionSchema = z
  .object({
    step_id: z.string(),
    task_id: z.string(),
    status: z.literal("completed"),
    is_completed: z.literal(true),
    completed_at: z.string().nullable(),
    actual_minutes: z.number().int().nullable(),
    xp_earned: z
      .number()
      .int()
      .openapi({ description: "The step XP this call earned: 0 when it was already done" }),
    xp_awarded: z
      .number()
      .int()
      .openapi({ description: "The same number, by the original mobile app's name" }),
    message: z.string(),
    task_progress: LegacyStepProgressSchema,
  })
  .openapi("LegacyStepCompletion");

export const LegacyTaskProgressSchema = z
  .object({
    task_id: z.string(),
    total_steps: z.number().int(),
    completed_steps: z.number().int(),
    progress_percentage: z.number().int().openapi({ description: "0–100 (the original backend's name)" }),
    progress_percent: z
      .number()
      .int()
      .openapi({ description: "The same number (the original mobile app's name)" }),
    completion_percentage: z
      .number()
      .int()
      .openapi({ description: "The same number (the original contract tests' name)" }),
    estimated_time_remaining: z.number().int().openapi({ description: "Minutes of the steps still pending" }),
  })
  .openapi("LegacyTaskProgress");

export type LegacyStepCompletion = z.infer<typeof LegacyStepCompletionSchema>;
export type LegacyTaskProgress = z.infer<typeof LegacyTaskProgressSchema>;
