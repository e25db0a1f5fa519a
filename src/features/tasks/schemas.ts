import { z } from "@hono/zod-openapi";
import {
  CATEGORY_SOURCES,
  DELEGATION_MODES,
  LEAF_TYPES,
  STEP_STATUSES,
  TASK_CATEGORIES,
  TASK_PRIORITIES,
  TASK_SOURCES,
  TASK_STATUSES,
} from "../../db/schema/tasks";
import { caseInsensitiveEnum, QueryBoolean } from "../../lib/enums";
import { IsoTimestamp } from "../../lib/iso-timestamp";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { MAX_LATE_COMPLETION_DAYS } from "./late-completion";

export const MIN_STEP_MINUTES = 1;
export const MAX_STEP_MINUTES = 10;
export const DEFAULT_STEP_MINUTES = 5;
export const MAX_STEPS_PER_TASK = 50;
export const MAX_DEPENDENCIES = 50;
export const MAX_TAGS = 20;

// A refinement rather than .regex(): the OpenAPI document would print the /u flag into the pattern.
const TAG_PATTERN = /^[\p{L}\p{N}_-]+$/u;
const Id = z.string().min(1).max(64);
export const Tag = z
  .string()
  .trim()
  .min(1)
  .max(32)
  .refine((t) => TAG_PATTERN.test(t), "Tags are letters, digits, '-' and '_'")
  .openapi({ pattern: TAG_PATTERN.source })
  .transform((t) => t.toLowerCase());
const Minutes = z.number().int().min(0).max(100_000);

export const CompleteStepBodySchema = z
  .object({
    completed_at: IsoTimestamp.optional().openapi({
      description: `When it was done, if earlier than now (an offline app syncing late): within the last ${MAX_LATE_COMPLETION_DAYS} days. Streaks and XP count it on that day.`,
      example: "2026-11-24T18:30:00Z",
    }),
  })
  .openapi("CompleteStepRequest");

export const TaskStatusSchema = caseInsensitiveEnum(TASK_STATUSES);
export const TaskPrioritySchema = caseInsensitiveEnum(TASK_PRIORITIES);
export const DelegationModeSchema = caseInsensitiveEnum(DELEGATION_MODES);
export const TaskSourceSchema = caseInsensitiveEnum(TASK_SOURCES);
export const LeafTypeSchema = caseInsensitiveEnum(LEAF_TYPES);
export const TaskCategorySchema = caseInsensitiveEnum(TASK_CATEGORIES).openapi({
  description: "Kind of work: Academic, Work, Personal, Health or Creative",
});

export const StepInputSchema = z
  .object({
    description: z.string().trim().min(1).max(500),
    short_label: z.string().trim().min(1).max(40).nullable().optional(),
    icon: z.string().trim().min(1).max(16).nullable().optional(),
    estimated_minutes: z.number().int().min(MIN_STEP_MINUTES).max(MAX_STEP_MINUTES).optional(),
    leaf_type: LeafTypeSchema.optional(),
  })
  .openapi("MicroStepInput");

export const CreateStepBodySchema = StepInputSchema.extend({
  position: z
    .number()
    .int()
    .min(1)
    .optional()
    .openapi({ description: "1-based; default: after the last step" }),
}).openapi("CreateMicroStepRequest");

export const UpdateStepBodySchema = StepInputSchema.partial()
  .extend({
    status: caseInsensitiveEnum(["pending", "skipped"] as const)
      .optional()
      .openapi({ description: "Reopen or skip a step; complete it with POST …/complete" }),
  })
  .openapi("UpdateMicroStepRequest");

export const ReorderStepsBodySchema = z
  .object({ step_ids: z.array(Id).min(1).max(MAX_STEPS_PER_TASK) })
  .openapi("ReorderMicroStepsRequest");

export const taskFields = {
  title: z.string().trim().min(1).max(300),
  description: z.string().max(10_000).nullable().optional(),
  priority: TaskPrioritySchema.optional(),
  estimated_minutes: Minutes.nullable().optional(),
  actual_minutes: Minutes.nullable().optional(),
  due_at: IsoTimestamp.nullable().optional(),
  tags: z.array(Tag).max(MAX_TAGS).optional(),
  depends_on: z.array(Id).max(MAX_DEPENDENCIES).optional(),
  delegation_mode: DelegationModeSchema.optional(),
  assigned_to: z.string().trim().min(1).max(100).nullable().optional(),
  agent_type: z.string().trim().min(1).max(100).nullable().optional(),
  is_meta_task: z.boolean().optional(),
  task_source: TaskSourceSchema.optional(),
  category: nullableRef(TaskCategorySchema).optional(),
};

export const CreateTaskBodySchema = z
  .object({
    ...taskFields,
    status: caseInsensitiveEnum(["pending", "in_progress", "blocked"] as const).optional(),
    micro_steps: z.array(StepInputSchema).max(MAX_STEPS_PER_TASK).optional(),
  })
  .openapi("CreateTaskRequest");

export const UpdateTaskBodySchema = z
  .object({
    ...taskFields,
    title: taskFields.title.optional(),
    status: TaskStatusSchema.optional(),
  })
  .openapi("UpdateTaskRequest");

export const MicroStepSchema = z
  .object({
    step_id: z.string(),
    task_id: z.string(),
    position: z.number().int(),
    description: z.string(),
    short_label: z.string().nullable(),
    icon: z.string().nullable(),
    estimated_minutes: z.number().int(),
    leaf_type: z.enum(LEAF_TYPES),
    status: z.enum(STEP_STATUSES),
    completed_at: z.string().nullable(),
    created_at: z.string(),
    // The original API's names for the same facts (its mobile app and scripts read them).
    step_order: z.number().int().openapi({ description: "The original API's name for `position`" }),
    step_number: z.number().int().openapi({ description: "The original API's name for `position`" }),
    is_completed: z.boolean().openapi({ description: "`status` is completed (the original API's flag)" }),
    delegation_mode: z.enum(["DO", "DELEGATE"]).openapi({
      description: "Who does it, as the original API says: DELEGATE for DIGITAL steps, DO for HUMAN ones",
    }),
  })
  .openapi("MicroStep");

export const ProgressSchema = z
  .object({ completed_steps: z.number().int(), total_steps: z.number().int(), percent: z.number().int() })
  .openapi("TaskProgress");

export const TaskSchema = z
  .object({
    task_id: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.enum(TASK_STATUSES),
    priority: z.enum(TASK_PRIORITIES),
    estimated_minutes: z.number().int().nullable(),
    actual_minutes: z.number().int().nullable(),
    due_at: z.string().nullable(),
    tags: z.array(z.string()),
    depends_on: z.array(z.string()),
    delegation_mode: z.enum(DELEGATION_MODES),
    assigned_to: z.string().nullable(),
    agent_type: z.string().nullable(),
    is_meta_task: z.boolean(),
    task_source: z.enum(TASK_SOURCES),
    category: z.enum(TASK_CATEGORIES).nullable(),
    category_source: z
      .enum(CATEGORY_SOURCES)
      .nullable()
      .optional()
      .openapi({
        description:
          "Who filed the task under its category: user (given or changed by hand, or a template's), local " +
          "(the local categoriser, when the task was created without one) or ai (Workers AI refined the local " +
          "choice). Null for tasks older than this field.",
      }),
    parent_task_id: z
      .string()
      .nullable()
      .openapi({ description: "The project this task is a sub-task of (made by splitting a project)" }),
    progress: ProgressSchema,
    micro_steps: z
      .array(MicroStepSchema)
      .optional()
      .openapi({ description: "Ordered steps (on lists: with include=micro_steps)" }),
    completed_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Task");

export const ListTasksQuerySchema = PaginationQuerySchema.extend({
  status: TaskStatusSchema.optional(),
  priority: TaskPrioritySchema.optional(),
  tag: Tag.optional(),
  is_meta_task: QueryBoolean.optional(),
  delegation_mode: DelegationModeSchema.optional(),
  category: TaskCategorySchema.optional(),
  parent_task_id: Id.optional().openapi({ description: "Only the sub-tasks of this project" }),
  assigned_to: z.string().max(100).optional(),
  due_before: IsoTimestamp.optional(),
  ready: QueryBoolean.optional().openapi({
    description: "Only open tasks whose dependencies are all completed",
  }),
  q: z.string().trim().min(1).max(200).optional().openapi({ description: "Search in title and description" }),
  include: z.enum(["micro_steps"]).optional(),
});

export const TaskIdParamsSchema = z.object({
  task_id: Id.openapi({ param: { name: "task_id", in: "path" } }),
});
export const StepIdParamsSchema = TaskIdParamsSchema.extend({
  step_id: Id.openapi({ param: { name: "step_id", in: "path" } }),
});

export const NextStepSchema = z
  .object({
    task: nullableRef(TaskSchema),
    step: nullableRef(MicroStepSchema),
    reason: z.string().openapi({ description: "Why this is the one to do now" }),
  })
  .openapi("NextStep");

export type TaskDto = z.infer<typeof TaskSchema>;
export type MicroStepDto = z.infer<typeof MicroStepSchema>;
export type NextStepDto = z.infer<typeof NextStepSchema>;
export type CreateTaskInput = z.infer<typeof CreateTaskBodySchema>;
export type UpdateTaskInput = z.infer<typeof UpdateTaskBodySchema>;
export type ListTasksQuery = z.infer<typeof ListTasksQuerySchema>;
export type StepInput = z.infer<typeof StepInputSchema>;
