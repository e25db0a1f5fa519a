import { partsOf } from "../compat/units";

interface TemplateStepLike {
  description: string;
  short_label: string | null;
  icon: string | null;
  estimated_minutes: number;
  leaf_type: "DIGITAL" | "HUMAN";
}

/**
 * A template's steps as a task's micro-steps, in order: a step over 10 minutes (templates allow up to
 * 60) becomes parts of at most 10, so task steps stay micro. The label and icon mark where a step begins.
 */
export function microStepsOf<T extends TemplateStepLike>(steps: readonly T[]): TemplateStepLike[] {
  return steps.flatMap((step) =>
    partsOf(step.description, step.estimated_minutes).map((part) => ({
      description: part.description,
      short_label: part.first ? step.short_label : null,
      icon: part.first ? step.icon : null,
      estimated_minutes: part.estimated_minutes,
      leaf_type: step.leaf_type,
    })),
  );
}
