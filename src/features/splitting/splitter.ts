import type { SplitResult } from "../../db/schema/splitting";
import { type AiSplitBrief, splitWithAi } from "./ai-splitter";
import { estimateMinutes, findShape, type SplitRequest, splitLocally } from "./local-splitter";
import { MAX_STEPS, MIN_STEPS, scopeOf, targetStepMinutes } from "./sizing";
import { MAX_STEP_PARTS, MIN_STEP_PARTS, type StepSplitRequest, splitStepByPattern } from "./step-splitter";

/** Which splitter may answer: Workers AI first when allowed and bound, the local one always behind it. */
export interface SplitterChoice {
  ai?: Ai;
  useAi: boolean;
  timeoutMs: number;
}

/** Splits a task: Workers AI when it answers well in time, otherwise the local splitter. */
export async function splitTask(choice: SplitterChoice, request: SplitRequest): Promise<SplitResult> {
  if (choice.useAi && choice.ai) {
    const shape = findShape(request.title, request.description);
    const minutes = estimateMinutes(shape, request.title, request.estimatedMinutes);
    const count = request.preferredCount;
    const brief: AiSplitBrief = {
      kind: "task",
      title: request.title,
      description: request.description,
      estimatedMinutes: minutes,
      scope: scopeOf(minutes),
      energy: request.energy,
      difficulty: request.difficulty,
      category: request.category ?? shape.category,
      targetMinutes: targetStepMinutes(request.energy, request.difficulty, request.learned),
      minSteps: count ?? MIN_STEPS,
      maxSteps: count ?? MAX_STEPS,
      learned: request.learned ?? null,
      defaultLeaf: shape.leaf,
    };
    const written = await splitWithAi(choice.ai, brief, choice.timeoutMs);
    if (written) return { ...written, split_method: "ai" };
  }
  return { ...splitLocally(request), split_method: "local" };
}

/** Splits one step further: Workers AI when it answers well in time, otherwise timeboxing it. */
export async function splitStep(choice: SplitterChoice, request: StepSplitRequest): Promise<SplitResult> {
  if (choice.useAi && choice.ai) {
    const count = request.preferredCount
      ? Math.min(MAX_STEP_PARTS, Math.max(MIN_STEP_PARTS, request.preferredCount))
      : null;
    const written = await splitWithAi(
      choice.ai,
      {
        kind: "step",
        title: request.description,
        estimatedMinutes: request.minutes,
        scope: "SIMPLE",
        energy: request.energy,
        difficulty: request.difficulty,
        category: request.category,
        targetMinutes: Math.max(
          1,
          targetStepMinutes(request.energy, request.difficulty, request.learned) / 2,
        ),
        minSteps: count ?? MIN_STEP_PARTS,
        maxSteps: count ?? MAX_STEP_PARTS,
        learned: request.learned ?? null,
        defaultLeaf: request.leafType,
      },
      choice.timeoutMs,
    );
    if (written) return { ...written, scope: scopeOf(request.minutes), split_method: "ai" };
  }
  return { ...splitStepByPattern(request), split_method: "pattern" };
}
