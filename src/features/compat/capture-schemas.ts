import { z } from "@hono/zod-openapi";
import { DELEGATION_MODES, LEAF_TYPES, TASK_PRIORITIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { IsoTimestamp } from "../../lib/iso-timestamp";
import { MAX_STEPS_PER_TASK, Tag, TaskSchema } from "../tasks/schemas";

/** The longest step the original's clients send (its templates and previews): saved as ≤10-minute parts. */
export const MAX_LEGACY_STEP_MINUTES = 60;
const MAX_ANSWERS = 20;

const IGNORED = "Ignored";

/** A micro-step as the original's capture screens send it back (clarify, save). */
export const LegacyStepInputSchema = z
  .object({
    step_id: z
      .string()
      .max(64)
      .optional()
      .openapi({ description: "The preview's id; a saved step gets a new one" }),
    step_order: z.number().int().min(1).max(1000).optional(),
    description: z.string().trim().min(1).max(500),
    short_label: z.string().trim().max(40).nullable().optional(),
    icon: z.string().trim().max(16).nullable().optional(),
    estimated_minutes: z
      .number()
      .int()
      .min(1)
      .max(MAX_LEGACY_STEP_MINUTES)
      .optional()
      .openapi({ description: "1–60; a step over 10 minutes is saved as parts of at most 10 (default 5)" }),
    delegation_mode: caseInsensitiveEnum(DELEGATION_MODES)
      .optional()
      .openapi({ description: "DELEGATE makes a step DIGITAL when leaf_type is not sent" }),
    leaf_type: caseInsensitiveEnum(LEAF_TYPES).optional(),
    tags: z.array(z.string().max(32)).max(20).optional().openapi({ description: IGNORED }),
  })
  .openapi("LegacyMicroStepInput");

export const LegacyClarifyBodySchema = z
  .object({
    micro_steps: z.array(LegacyStepInputSchema).max(MAX_STEPS_PER_TASK),
    answers: z
      .record(z.string().max(100), z.union([z.string().max(500), z.number(), z.boolean()]))
      .optional()
      .refine((a) => a === undefined || Object.keys(a).length <= MAX_ANSWERS, {
        message: `At most ${MAX_ANSWERS} answers`,
      }),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
  })
  .openapi("LegacyClarifyRequest");

export const LegacySaveTaskSchema = z
  .object({
    task_id: z.string().min(1).max(64).optional().openapi({
      description:
        "The preview's id: a retry of the same save (without an Idempotency-Key) answers the first",
    }),
    title: z
      .string()
      .trim()
      .min(1)
      .max(2000)
      .openapi({ description: "Over 300 characters: cut, and kept whole as the description" }),
    description: z.string().max(10_000).nullable().optional(),
    priority: caseInsensitiveEnum(TASK_PRIORITIES).optional(),
    estimated_minutes: z.number().int().min(0).max(100_000).nullable().optional(),
    tags: z.array(Tag).max(20).optional(),
    due_at: IsoTimestamp.nullable().optional(),
  })
  .openapi("LegacySaveTask");

export const LegacySaveBodySchema = z
  .object({
    task: LegacySaveTaskSchema,
    micro_steps: z.array(LegacyStepInputSchema).max(MAX_STEPS_PER_TASK).optional(),
    user_id: z.string().max(200).optional().openapi({ description: "Ignored: always you" }),
    project_id: z
      .string()
      .max(200)
      .nullable()
      .optional()
      .openapi({
        description:
          "One of your projects (POST /api/v1/projects): the task joins it. Anything else (the app sends " +
          "`default-project`) is ignored.",
      }),
  })
  .openapi("LegacySaveRequest");

const LegacyPreviewTaskSchema = z.object({
  task_id: z
    .string()
    .openapi({ description: "A preview id: nothing is stored until POST /api/v1/capture/save" }),
  title: z.string(),
  description: z.string(),
  estimated_minutes: z.number().int(),
  priority: z.enum(TASK_PRIORITIES),
  tags: z.array(z.string()),
  due_at: z.string().nullable(),
});

export const LegacyPreviewStepSchema = z
  .object({
    step_id: z.string(),
    step_order: z.number().int(),
    description: z.string(),
    short_label: z.string().nullable(),
    estimated_minutes: z.number().int(),
    delegation_mode: z.enum(DELEGATION_MODES),
    leaf_type: z.enum(LEAF_TYPES),
    icon: z.string().nullable(),
    tags: z.array(z.string()),
  })
  .openapi("LegacyPreviewStep");

const ClarificationSchema = z.object({ field: z.string(), question: z.string(), required: z.boolean() });

const previewFields = {
  micro_steps: z.array(LegacyPreviewStepSchema),
  clarifications: z
    .array(ClarificationSchema)
    .openapi({ description: "Always empty: the parser asks nothing" }),
  ready_to_save: z.boolean(),
  mode: z.string(),
};

export const LegacyCaptureSchema = z
  .object({ task: LegacyPreviewTaskSchema, ...previewFields })
  .openapi("LegacyCapture");

export const LegacyClarifySchema = z
  .object({
    task: LegacyPreviewTaskSchema.partial().openapi({
      description: "Empty: the app keeps the preview's task",
    }),
    ...previewFields,
  })
  .openapi("LegacyClarify");

export const LegacySavedSchema = z
  .object({
    success: z.literal(true),
    task_id: z.string(),
    micro_step_ids: z.array(z.string()),
    total_steps: z.number().int(),
    message: z.string(),
    task: TaskSchema,
  })
  .openapi("LegacySaved");

export type LegacyStepInput = z.infer<typeof LegacyStepInputSchema>;
export type LegacyPreviewStep = z.infer<typeof LegacyPreviewStepSchema>;
export type LegacyCapture = z.infer<typeof LegacyCaptureSchema>;
export type LegacyClarify = z.infer<typeof LegacyClarifySchema>;
export type LegacySaveBody = z.infer<typeof LegacySaveBodySchema>;
export type LegacySaved = z.infer<typeof LegacySavedSchema>;
