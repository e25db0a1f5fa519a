import type { LeafType, TaskCategory } from "../../db/schema/tasks";

/** How big a piece of work is, scored before it is split: under 15 minutes, up to 2 hours, or more. */
export const SCOPES = ["SIMPLE", "MULTI", "PROJECT"] as const;
export type Scope = (typeof SCOPES)[number];

export const ENERGY_LEVELS = ["low", "medium", "high"] as const;
export type Energy = (typeof ENERGY_LEVELS)[number];

export type SplitMethod = "ai" | "local" | "template" | "pattern";

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

export interface SplitResult extends SplitPlan {
  split_method: SplitMethod;
}
