import { z } from "@hono/zod-openapi";
import { LEAF_TYPES, TASK_CATEGORIES } from "../../db/schema/tasks";
import { QueryBoolean } from "../../lib/enums";
import { IsoTimestamp } from "../../lib/iso-timestamp";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { MAX_TAGS, StepInputSchema, Tag, TaskCategorySchema, TaskPrioritySchema } from "../tasks/schemas";
import { TemplateShareInfoSchema } from "./share-schemas";

export const MIN_TEMPLATE_STEPS = 1;
export const MAX_TEMPLATE_STEPS = 10;
export const MAX_TEMPLATE_NAME = 200;
export const MAX_TEMPLATE_DESCRIPTION = 2000;

/** Client-chosen template ids are opaque strings ("tpl_homework_assignment"), not UUIDs. */
export const TEMPLATE_ID_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;

/** Ids a template cannot have: GET /templates/popular would hide the template's own GET. */
const RESERVED_TEMPLATE_IDS = new Set(["popular"]);

const TemplateId = z
  .string()
  .regex(TEMPLATE_ID_PATTERN, "Use 1–64 letters, digits and . _ : -")
  .refine((id) => !RESERVED_TEMPLATE_IDS.has(id), "This id is reserved; choose another one")
  .openapi({ example: "tpl_weekly_review" });
const Name = z.string().trim().min(1).max(MAX_TEMPLATE_NAME);
const Description = z.string().trim().max(MAX_TEMPLATE_DESCRIPTION).nullable();
const Icon = z.string().trim().min(1).max(32).nullable().openapi({ example: "📚" });

/** A template step may be a longer block of work than a micro-step (the original API's templates): applied, it becomes ≤10-minute parts. */
export const MAX_TEMPLATE_STEP_MINUTES = 60;

/**
 * A template's step is a task's step, waiting to be applied. Its minutes may reach an hour (the
 * original API's templates, such as the mobile app's Homework one, have steps of 15 and 25 minutes).
 */
export const TemplateStepInputSchema = StepInputSchema.extend({
  estimated_minutes: z
    .number()
    .int()
    .min(1)
    .max(MAX_TEMPLATE_STEP_MINUTES)
    .optional()
    .openapi({ description: "1–60; applied, a step over 10 minutes becomes parts of at most 10" }),
  step_order: z.number().int().min(1).optional().openapi({
    description:
      "Where the step goes (the original API's field): steps are sorted by it; give it on every step or on none",
  }),
}).openapi("TemplateStepInput");

type StepOrdered = { step_order?: number };

/** step_order is on every step or on none, and never twice the same (422 naming the step). */
function checkStepOrder(steps: readonly StepOrdered[], ctx: z.RefinementCtx) {
  const given = steps.filter((s) => s.step_order !== undefined).length;
  if (given === 0) return;
  const seen = new Set<number>();
  steps.forEach((step, i) => {
    if (step.step_order === undefined) {
      ctx.addIssue({
        code: "custom",
        path: [i, "step_order"],
        message: "Give step_order on every step or on none",
      });
    } else if (seen.has(step.step_order)) {
      ctx.addIssue({
        code: "custom",
        path: [i, "step_order"],
        message: `Another step already has step_order ${step.step_order}`,
      });
    } else seen.add(step.step_order);
  });
}

/** The steps in the order the client meant: by step_order when given, else as sent. */
function inStepOrder<T extends StepOrdered>(steps: T[]): T[] {
  return steps.every((s) => s.step_order !== undefined)
    ? [...steps].sort((a, b) => (a.step_order ?? 0) - (b.step_order ?? 0))
    : steps;
}

const Steps = z
  .array(TemplateStepInputSchema)
  .min(MIN_TEMPLATE_STEPS, `A template needs at least ${MIN_TEMPLATE_STEPS} step`)
  .max(MAX_TEMPLATE_STEPS, `A template holds at most ${MAX_TEMPLATE_STEPS} steps`)
  .superRefine(checkStepOrder)
  .transform(inStepOrder)
  .openapi({
    description: `${MIN_TEMPLATE_STEPS}–${MAX_TEMPLATE_STEPS} steps, in order (or each with its step_order)`,
  });

export const CreateTemplateBodySchema = z
  .object({
    template_id: TemplateId.optional().openapi({
      description: "Your own id for it (409 if taken); default: a new random id",
    }),
    name: Name,
    description: Description.optional(),
    category: TaskCategorySchema,
    icon: Icon.optional(),
    is_public: z
      .boolean()
      .optional()
      .openapi({ description: "Let everyone find and apply it; default false" }),
    steps: Steps,
    created_by: z.string().max(200).optional().openapi({
      description: "The original API's field, ignored: the template is always yours",
    }),
    estimated_minutes: z.number().int().min(0).max(100_000).optional().openapi({
      description: "The original API's field, ignored: the total is the steps' minutes added up",
    }),
  })
  .openapi("CreateTemplateRequest");

export const UpdateTemplateBodySchema = z
  .object({
    name: Name.optional(),
    description: Description.optional(),
    category: TaskCategorySchema.optional(),
    icon: Icon.optional(),
    is_public: z.boolean().optional(),
  })
  .openapi("UpdateTemplateRequest");

export const ReplaceTemplateStepsBodySchema = z
  .object({ steps: Steps })
  .openapi("ReplaceTemplateStepsRequest");

export const ApplyTemplateBodySchema = z
  .object({
    title: z
      .string()
      .trim()
      .min(1)
      .max(300)
      .optional()
      .openapi({ description: "Default: the template's name" }),
    description: z.string().max(10_000).nullable().optional(),
    due_at: IsoTimestamp.nullable().optional(),
    priority: TaskPrioritySchema.optional(),
    tags: z.array(Tag).max(MAX_TAGS).optional(),
  })
  .openapi("ApplyTemplateRequest");

export const SaveAsTemplateBodySchema = z
  .object({
    name: Name.optional().openapi({ description: "Default: the task's title" }),
    description: Description.optional(),
    category: TaskCategorySchema.optional().openapi({ description: "Default: the task's category" }),
    icon: Icon.optional(),
    is_public: z.boolean().optional(),
  })
  .openapi("SaveAsTemplateRequest");

export const TemplateStepSchema = z
  .object({
    step_id: z.string().openapi({ description: "The step's id (the original API's field)" }),
    template_id: z.string().openapi({ description: "The template's id, as you see it" }),
    step_order: z.number().int().openapi({ description: "Same as position (the original API's name)" }),
    position: z.number().int(),
    description: z.string(),
    short_label: z.string().nullable(),
    estimated_minutes: z.number().int(),
    leaf_type: z.enum(LEAF_TYPES),
    icon: z.string().nullable(),
  })
  .openapi("TemplateStep");

export const TemplateSchema = z
  .object({
    template_id: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    category: z.enum(TASK_CATEGORIES),
    icon: z.string().nullable(),
    is_public: z.boolean(),
    is_mine: z.boolean().openapi({ description: "You own it, so you may change it" }),
    is_default: z.boolean().openapi({ description: "One of the platform's own templates" }),
    times_applied: z.number().int().openapi({ description: "Tasks made from it, by anyone" }),
    step_count: z.number().int(),
    total_estimated_minutes: z.number().int(),
    steps: z.array(TemplateStepSchema),
    share: nullableRef(TemplateShareInfoSchema).openapi({
      description:
        "Its active share code and how many people imported it: shown to its owner only, else null",
    }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("TaskTemplate");

export const ListTemplatesQuerySchema = PaginationQuerySchema.extend({
  category: TaskCategorySchema.optional(),
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Search in the name" }),
  mine: QueryBoolean.optional().openapi({ description: "Only your own templates" }),
});

export const TemplateIdParamsSchema = z.object({
  template_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "template_id", in: "path" }, example: "tpl_homework_assignment" }),
});

export type TemplateDto = z.infer<typeof TemplateSchema>;
export type TemplateStepDto = z.infer<typeof TemplateStepSchema>;
export type TemplateStepInput = z.infer<typeof TemplateStepInputSchema>;
export type CreateTemplateInput = z.infer<typeof CreateTemplateBodySchema>;
export type UpdateTemplateInput = z.infer<typeof UpdateTemplateBodySchema>;
export type ApplyTemplateInput = z.infer<typeof ApplyTemplateBodySchema>;
export type SaveAsTemplateInput = z.infer<typeof SaveAsTemplateBodySchema>;
export type ListTemplatesQuery = z.infer<typeof ListTemplatesQuerySchema>;
