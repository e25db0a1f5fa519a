import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, real, sqliteTable, text } from "drizzle-orm/sqlite-core";
import { type LeafType, TASK_CATEGORIES, type TaskCategory } from "./tasks";

export const SPLIT_METHODS = ["ai", "local", "template", "pattern"] as const;
export const STEP_RATINGS = ["too_large", "too_small", "just_right"] as const;
export type StepRating = (typeof STEP_RATINGS)[number];

/** How big a piece of work is, scored before it is split: under 15 minutes, up to 2 hours, or more. */
export const SCOPES = ["SIMPLE", "MULTI", "PROJECT"] as const;
export type Scope = (typeof SCOPES)[number];

export type SplitMethod = (typeof SPLIT_METHODS)[number];

export interface SuggestedStep {
  step_order: number;
  description: string;
  short_label: string;
  estimated_minutes: number;
  leaf_type: LeafType;
  reasoning: string;
  confidence: number;
}

export interface SubtaskPlan {
  title: string;
  estimated_minutes: number;
  suggested_steps: SuggestedStep[];
}

/** What a splitter answers: steps for the task (or, for a project, for its first sub-task) and sub-tasks. */
export interface SplitPlan {
  scope: Scope;
  category: TaskCategory;
  suggested_steps: SuggestedStep[];
  subtasks: SubtaskPlan[];
  total_estimated_minutes: number;
  /** How long the whole task looks (its estimate, or the splitter's); the steps may cover only a start. */
  task_minutes: number;
  reasoning: string;
}

/** A splitter's answer and which one gave it: stored as JSON in `task_splits.result`, to reuse when applied. */
export interface SplitResult extends SplitPlan {
  split_method: SplitMethod;
  /**
   * What the split was sized for (stored with it, so applying it later reports that, not the apply
   * request's); absent on rows written before it was kept.
   */
  sized_for?: {
    energy: "low" | "medium" | "high";
    difficulty: number;
    difficulty_source: "request" | "personal" | "population" | "prior" | "profile";
  };
}

/** Every split asked for (BE-05), suggested or applied: what the splitter said and which one answered. */
export const taskSplits = sqliteTable(
  "task_splits",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    taskId: text("task_id").notNull(),
    /** Set when one step was split again. */
    stepId: text("step_id"),
    method: text("method", { enum: SPLIT_METHODS }).notNull(),
    scope: text("scope").notNull(),
    category: text("category", { enum: TASK_CATEGORIES }).notNull(),
    applied: integer("applied", { mode: "boolean" }).notNull().default(false),
    /** What the user said when asking: their energy and how hard the task felt (1–5). */
    energy: text("energy"),
    difficulty: integer("difficulty"),
    result: text("result", { mode: "json" }).$type<SplitResult>().notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("task_splits_user_task").on(t.userId, t.taskId, t.id)],
);

/** How a step felt (one rating per step; rating again replaces it). Feeds the splitter's learning. */
export const stepFeedback = sqliteTable(
  "step_feedback",
  {
    userId: text("user_id").notNull(),
    stepId: text("step_id").notNull(),
    taskId: text("task_id").notNull(),
    category: text("category", { enum: TASK_CATEGORIES }).notNull(),
    rating: text("rating", { enum: STEP_RATINGS }).notNull(),
    /** The step's estimate when it was rated, and how long it really took (if said). */
    estimatedMinutes: integer("estimated_minutes").notNull(),
    actualMinutes: integer("actual_minutes"),
    energy: text("energy"),
    /** How many steps the task had when the step was rated. */
    stepCount: integer("step_count").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.stepId] }),
    index("step_feedback_user_category").on(t.userId, t.category, t.createdAt),
    check("step_feedback_rating_check", sql`${t.rating} IN ('too_large','too_small','just_right')`),
  ],
);

/**
 * What each user's ratings taught the splitter, per category: kept as running values updated with each
 * rating, so a split reads one small row instead of the rating history.
 */
export const splitPreferences = sqliteTable(
  "split_preferences",
  {
    userId: text("user_id").notNull(),
    category: text("category", { enum: TASK_CATEGORIES }).notNull(),
    stepMinutes: real("step_minutes").notNull(),
    stepCount: real("step_count").notNull(),
    justRight: integer("just_right").notNull().default(0),
    tooLarge: integer("too_large").notNull().default(0),
    tooSmall: integer("too_small").notNull().default(0),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.category] })],
);
