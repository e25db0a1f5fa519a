/**
 * Micro-steps between the original's capture screens and our tasks. Pure: ids come from the caller.
 * The original's steps may run to 60 minutes; ours stop at 10, so a longer one is saved as parts.
 */
import type { SuggestedStep } from "../../db/schema/splitting";
import type { LeafType } from "../../db/schema/tasks";
import { DEFAULT_STEP_MINUTES, type StepInput } from "../tasks/schemas";
import { delegationModeOf } from "../tasks/statements";
import type { LegacyPreviewStep, LegacyStepInput } from "./capture-schemas";
import { partsOf } from "./units";

function leafOf(step: LegacyStepInput): LeafType {
  if (step.leaf_type) return step.leaf_type;
  return step.delegation_mode === "DELEGATE" ? "DIGITAL" : "HUMAN";
}

/** In the order the client gave them (step_order when sent, else as listed). */
function ordered(steps: LegacyStepInput[]): LegacyStepInput[] {
  return steps
    .map((step, i) => ({ step, order: step.step_order ?? Number.POSITIVE_INFINITY, i }))
    .sort((a, b) => a.order - b.order || a.i - b.i)
    .map((s) => s.step);
}

/** A splitter's suggestion as the original's preview showed it. */
export function previewSteps(suggested: SuggestedStep[], newId: () => string): LegacyPreviewStep[] {
  return suggested.map((s, i) => ({
    step_id: newId(),
    step_order: i + 1,
    description: s.description,
    short_label: s.short_label,
    estimated_minutes: s.estimated_minutes,
    delegation_mode: delegationModeOf(s.leaf_type),
    leaf_type: s.leaf_type,
    icon: null,
    tags: [],
  }));
}

/** Steps sent back by the clarify screen: in order, numbered 1..n, in our spelling. */
export function normalisedSteps(steps: LegacyStepInput[], newId: () => string): LegacyPreviewStep[] {
  return ordered(steps).map((s, i) => {
    const leaf = leafOf(s);
    return {
      step_id: s.step_id || newId(),
      step_order: i + 1,
      description: s.description,
      short_label: s.short_label || null,
      estimated_minutes: s.estimated_minutes ?? DEFAULT_STEP_MINUTES,
      delegation_mode: s.delegation_mode ?? delegationModeOf(leaf),
      leaf_type: leaf,
      icon: s.icon || null,
      tags: s.tags ?? [],
    };
  });
}

/** Steps to store: a step over 10 minutes becomes parts of at most 10, its label and icon on the first. */
export function stepsToSave(steps: LegacyStepInput[]): StepInput[] {
  return ordered(steps).flatMap((s) =>
    partsOf(s.description, s.estimated_minutes ?? DEFAULT_STEP_MINUTES).map((part) => ({
      description: part.description,
      estimated_minutes: part.estimated_minutes,
      leaf_type: leafOf(s),
      short_label: part.first ? s.short_label || null : null,
      icon: part.first ? s.icon || null : null,
    })),
  );
}
