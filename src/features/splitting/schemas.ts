import { z } from "@hono/zod-openapi";
import { SCOPES, STEP_RATINGS } from "../../db/schema/splitting";
import { LEAF_TYPES, TASK_CATEGORIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { nullableRef } from "../../lib/openapi";
import { MicroStepSchema, TaskCategorySchema, TaskSchema } from "../tasks/schemas";
import { ENERGY_LEVELS } from "./plan";

const splitFields = {
  energy_level: caseInsensitiveEnum(ENERGY_LEVELS).optional().openapi({
    description: "How much energy you have right now: low → smaller, gentler steps (default medium)",
  }),
  difficulty: z.number().int().min(1).max(5).optional().openapi({
    description:
      "How hard it feels, 1–5 (“spiciness”): hotter → finer steps. Default: what your difficulty model predicts for the task (3 before one is trained)",
    example: 3,
  }),
  category: TaskCategorySchema.optional().openapi({
    description: "Kind of work (default: the task's category, else what the splitter recognises)",
  }),
  apply: z.boolean().default(false).openapi({
    description: "true: put the steps on the task (a project gets its sub-tasks); false: only suggest",
  }),
  split_id: z.string().min(1).max(64).optional().openapi({
    description:
      "Apply exactly this earlier suggestion (its split_id) instead of splitting anew; needs apply: true",
  }),
  splitter: z.enum(["auto", "local"]).default("auto").openapi({
    description: "auto: Workers AI when available, the local splitter otherwise; local: only the local one",
  }),
};

export const SplitTaskBodySchema = z
  .object({
    ...splitFields,
    mode: caseInsensitiveEnum(["replace", "append", "adhd", "default"] as const)
      .default("replace")
      .openapi({
        description:
          "With apply: replace swaps the task's pending steps for the new ones (done steps stay); append keeps every step and adds the new ones after them. " +
          "adhd and default are the original API's modes: they split as its clients expect (see the description above)",
      }),
    user_id: z.string().max(200).optional().openapi({
      description:
        "The original API's field, ignored: always you (its presence asks for the original's split)",
    }),
    preferred_step_count: z.number().int().min(2).max(10).optional().openapi({
      description: "Exactly this many steps (2–10) instead of sizing by time",
    }),
  })
  .openapi("SplitTaskRequest");

export const SplitStepBodySchema = z
  .object({
    ...splitFields,
    preferred_step_count: z
      .number()
      .int()
      .min(2)
      .max(5)
      .optional()
      .openapi({ description: "Exactly this many smaller steps (2–5)" }),
  })
  .openapi("SplitStepRequest");

export const SuggestedStepSchema = z
  .object({
    step_order: z.number().int(),
    description: z.string(),
    short_label: z.string(),
    estimated_minutes: z.number().int().min(1).max(10),
    leaf_type: z.enum(LEAF_TYPES),
    reasoning: z.string(),
    confidence: z.number().min(0).max(1),
  })
  .openapi("SuggestedStep");

export const SubtaskPlanSchema = z
  .object({
    title: z.string(),
    estimated_minutes: z.number().int(),
    suggested_steps: z.array(SuggestedStepSchema),
    task_id: z.string().nullable().openapi({ description: "The sub-task made from it, when applied" }),
  })
  .openapi("SubtaskPlan");

export const NextActionSchema = z
  .object({
    step_id: z.string(),
    step_number: z.number().int(),
    description: z.string(),
    estimated_minutes: z.number().int(),
  })
  .openapi("SplitNextAction");

export const SplitMetadataSchema = z
  .object({
    ai_provider: z.enum(["workers-ai", "local"]).openapi({ description: "Which splitter answered" }),
    llm_used: z.boolean(),
    generation_method: z.string().openapi({ description: "Same as split_method" }),
  })
  .openapi("SplitMetadata");

/** Where a split's difficulty came from. */
export const DIFFICULTY_SOURCES = ["request", "personal", "population", "prior", "profile"] as const;

export const SplitResponseSchema = z
  .object({
    split_id: z.string(),
    task_id: z.string(),
    step_id: z
      .string()
      .nullable()
      .openapi({ description: "The step split again, if this split was of one step" }),
    split_method: z.enum(["ai", "local", "template", "pattern", "existing"]).openapi({
      description:
        "Who answered: Workers AI, the local splitter, a template, or the step timeboxing pattern. existing: the original API's re-split, " +
        "which answers the task's steps as they are (nothing is split or stored; split_id then names no stored split)",
    }),
    scope: z.enum(SCOPES).openapi({ description: "SIMPLE under 15 minutes, MULTI 15–120, PROJECT over 120" }),
    suggested_steps: z
      .array(SuggestedStepSchema)
      .openapi({ description: "The steps; for a PROJECT, those of its first sub-task" }),
    subtasks: z.array(SubtaskPlanSchema).openapi({ description: "A PROJECT's sub-tasks, in order" }),
    total_estimated_minutes: z
      .number()
      .int()
      .openapi({ description: "The suggested steps' minutes, added up" }),
    task_estimated_minutes: z.number().int().openapi({
      description:
        "How long the whole task (or step) looks: its estimate, or the splitter's; the steps may cover a start",
    }),
    energy_level: z.enum(ENERGY_LEVELS),
    difficulty: z.number().int().openapi({ description: "The difficulty the split was sized for" }),
    difficulty_source: z.enum(DIFFICULTY_SOURCES).openapi({
      description:
        "Where it came from: your request, your own difficulty model, everyone's (until yours exists), the support level of your onboarding answers (before any model), or the default 3",
    }),
    category: z.enum(TASK_CATEGORIES),
    reasoning: z.string(),
    applied: z.boolean(),
    task: nullableRef(TaskSchema).openapi({
      description: "The task as it is now, when the split was applied",
    }),
    created_at: z.string(),
    // The original API's answer (its mobile app and scripts read these).
    micro_steps: z.array(MicroStepSchema).openapi({
      description:
        "The task's steps after this split, as stored (for a project, its first sub-task's); empty when only suggested",
    }),
    next_action: nullableRef(NextActionSchema).openapi({
      description: "The first pending step of micro_steps, or null",
    }),
    metadata: SplitMetadataSchema,
  })
  .openapi("TaskSplit");

export const StepRatingSchema = caseInsensitiveEnum(STEP_RATINGS);

export const StepFeedbackBodySchema = z
  .object({
    rating: StepRatingSchema.optional().openapi({ description: "too_large, too_small or just_right" }),
    too_large: z.boolean().optional(),
    too_small: z.boolean().optional(),
    just_right: z.boolean().optional(),
    actual_minutes: z
      .number()
      .int()
      .min(1)
      .max(600)
      .optional()
      .openapi({ description: "How long it really took" }),
    energy: caseInsensitiveEnum(ENERGY_LEVELS)
      .optional()
      .openapi({ description: "Your energy when you did it" }),
  })
  .superRefine((body, ctx) => {
    const chosen = [body.rating, ...STEP_RATINGS.filter((r) => body[r] === true)].filter(Boolean);
    const distinct = new Set(chosen);
    if (distinct.size !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["rating"],
        message:
          "Say exactly one of too_large, too_small or just_right (as `rating`, or as one flag set to true)",
      });
    }
  })
  .openapi("StepFeedbackRequest");

export const PreferenceSchema = z
  .object({
    category: z.enum(TASK_CATEGORIES),
    step_minutes: z.number().openapi({ description: "Preferred minutes per step, learned" }),
    step_count: z.number().int().openapi({ description: "Preferred steps per task, learned" }),
    confidence: z.number().openapi({ description: "0–1: how much the next split leans on this" }),
    samples: z.number().int(),
    just_right: z.number().int().openapi({ description: "Ratings that said the size was right" }),
    too_large: z.number().int(),
    too_small: z.number().int(),
  })
  .openapi("SplitPreference");

export const StepFeedbackResponseSchema = z
  .object({
    step_id: z.string(),
    task_id: z.string(),
    rating: z.enum(STEP_RATINGS),
    actual_minutes: z.number().int().nullable(),
    energy: z.enum(ENERGY_LEVELS).nullable(),
    preference: PreferenceSchema,
  })
  .openapi("StepFeedback");

export type SplitTaskInput = z.infer<typeof SplitTaskBodySchema>;
export type SplitStepInput = z.infer<typeof SplitStepBodySchema>;
export type SplitResponse = z.infer<typeof SplitResponseSchema>;
export type StepFeedbackInput = z.infer<typeof StepFeedbackBodySchema>;
export type StepFeedbackResponse = z.infer<typeof StepFeedbackResponseSchema>;
export type PreferenceDto = z.infer<typeof PreferenceSchema>;
