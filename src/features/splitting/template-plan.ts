import type { SplitResult } from "../../db/schema/splitting";
import type { TemplateDto } from "../templates/schemas";
import { microStepsOf } from "../templates/steps";
import { MAX_STEPS, MIN_STEPS, PROJECT_OVER_MINUTES, scopeOf } from "./sizing";
import { shortLabel } from "./text";

/**
 * A template can answer a split when the micro-steps it makes (a step over 10 minutes is parts) are as
 * many as a split would give (3–7).
 */
export function fitsASplit(template: TemplateDto): boolean {
  const count = microStepsOf(template.steps).length;
  return count >= MIN_STEPS && count <= MAX_STEPS;
}

/**
 * A template named like the task answers the split with its own steps: the user (or we) wrote them for
 * exactly this. The task's own estimate, when it has one, still decides the scope.
 */
export function planFromTemplate(
  template: TemplateDto,
  options: { taskMinutes?: number | null; category?: SplitResult["category"] } = {},
): SplitResult {
  const steps = microStepsOf(template.steps).map((step, i) => ({
    step_order: i + 1,
    description: step.description,
    short_label: step.short_label ?? shortLabel(step.description),
    estimated_minutes: step.estimated_minutes,
    leaf_type: step.leaf_type,
    reasoning: template.is_mine
      ? `From your template “${template.name}”.`
      : `From the template “${template.name}”.`,
    confidence: 0.9,
  }));
  const total = steps.reduce((t, s) => t + s.estimated_minutes, 0);
  return {
    split_method: "template",
    // Never PROJECT: a template gives steps, not sub-tasks, whatever the task's own estimate says.
    scope: scopeOf(Math.min(options.taskMinutes ?? total, PROJECT_OVER_MINUTES)),
    category: options.category ?? template.category,
    suggested_steps: steps,
    subtasks: [],
    total_estimated_minutes: total,
    task_minutes: options.taskMinutes ?? total,
    reasoning: `The task matches the template “${template.name}”, so its ${steps.length} steps are used as they are.`,
  };
}
