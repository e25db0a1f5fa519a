import type { TemplateDto } from "../templates/schemas";
import type { SplitResult } from "./plan";
import { scopeOf } from "./sizing";
import { shortLabel } from "./text";

/** A template named like the task answers the split with its own steps: the user (or we) wrote them for this. */
export function planFromTemplate(template: TemplateDto): SplitResult {
  const steps = template.steps.map((step, i) => ({
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
    scope: scopeOf(total),
    category: template.category,
    suggested_steps: steps,
    subtasks: [],
    total_estimated_minutes: total,
    task_minutes: total,
    reasoning: `The task matches the template “${template.name}”, so its ${steps.length} steps are used as they are.`,
  };
}
