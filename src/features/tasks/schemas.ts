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
import { MAX_HOURS } from "../compat/units";
import { MAX_LATE_COMPLETION_DAYS } from "./late-completion";
import { minutesAgree } from "./original-fields";

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

/** The original API's `todo` is our `pending` (its mobile app already said `pending`). */
const todoIsPending = (input: unknown) =>
  typeof input === "string" && input.toLowerCase() === "todo" ? "pending" : input;
const ORIGINAL_STATUS_NOTE = "`todo` (the original API's word) is read as `pending`";

export const TaskStatusSchema = z
  .preprocess(todoIsPending, caseInsensitiveEnum(TASK_STATUSES))
  .openapi({ type: "string", enum: [...TASK_STATUSES, "todo"], description: ORIGINAL_STATUS_NOTE });
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

/** Hours as the original API's clients send them (tasks, assignments); stored as minutes. */
export const HoursSchema = z.number().positive().max(MAX_HOURS);

/** The original API's names for task fields, accepted beside ours (its clients and scripts send them). */
const originalTaskFields = {
  estimated_hours: HoursSchema.optional().openapi({
    description:
      "The original API's estimate in hours: stored as estimated_minutes (they must agree if both are sent)",
  }),
  actual_hours: HoursSchema.optional().openapi({
    description:
      "The original API's time spent in hours: stored as actual_minutes (they must agree if both are sent)",
  }),
  user_id: z
    .string()
    .max(200)
    .optional()
    .openapi({ description: "The original API's owner field; ignored: always you" }),
  estimated_time: z
    .union([z.number(), z.string().max(200)])
    .nullable()
    .optional()
    .openapi({ description: "Sent by the original API's test scripts in an unknown unit; ignored" }),
};

const projectIdDescription =
  "The project (one of your tasks, e.g. made by POST /api/v1/projects) this task belongs to: stored as parent_task_id";

/** Hours and minutes given both ways must say the same, else the hours field is named. */
function hoursAgree(
  body: {
    estimated_minutes?: number | null;
    estimated_hours?: number;
    actual_minutes?: number | null;
    actual_hours?: number;
  },
  ctx: z.RefinementCtx,
) {
  for (const [minutes, hours, field] of [
    [body.estimated_minutes, body.estimated_hours, "estimated_hours"],
    [body.actual_minutes, body.actual_hours, "actual_hours"],
  ] as const) {
    if (!minutesAgree(minutes, hours)) {
      const twin = field === "estimated_hours" ? "estimated_minutes" : "actual_minutes";
      ctx.addIssue({ code: "custom", path: [field], message: `Must agree with ${twin} (send one of them)` });
    }
  }
}

export const CreateTaskBodySchema = z
  .object({
    ...taskFields,
    ...originalTaskFields,
    status: z
      .preprocess(todoIsPending, caseInsensitiveEnum(["pending", "in_progress", "blocked"] as const))
      .optional()
      .openapi({
        type: "string",
        enum: ["pending", "in_progress", "blocked", "todo"],
        description: ORIGINAL_STATUS_NOTE,
      }),
    project_id: Id.optional().openapi({ description: projectIdDescription }),
    micro_steps: z.array(StepInputSchema).max(MAX_STEPS_PER_TASK).optional(),
  })
  .superRefine(hoursAgree)
  .openapi("CreateTaskRequest");

export const UpdateTaskBodySchema = z
  .object({
    ...taskFields,
    ...originalTaskFields,
    title: taskFields.title.optional(),
    status: TaskStatusSchema.optional(),
    project_id: Id.nullable()
      .optional()
      .openapi({ description: `${projectIdDescription}; null takes it out of its project` }),
  })
  .superRefine(hoursAgree)
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
    // The original API's names for the same facts (its mobile app and scripts read them).
    project_id: z
      .string()
      .nullable()
      .openapi({ description: "The original API's name for `parent_task_id`" }),
    estimated_hours: z
      .number()
      .nullable()
      .openapi({ description: "`estimated_minutes` in hours (2 decimals)" }),
    actual_hours: z.number().nullable().openapi({ description: "`actual_minutes` in hours (2 decimals)" }),
    progress_percentage: z
      .number()
      .int()
      .openapi({ description: "The original API's name for `progress.percent`" }),
    is_overdue: z.boolean().openapi({ description: "Open and past its `due_at`" }),
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
