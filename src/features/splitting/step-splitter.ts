import type { SplitPlan, SuggestedStep } from "../../db/schema/splitting";
import type { LeafType, TaskCategory } from "../../db/schema/tasks";
import type { LearnedPreference } from "./learning";
import type { Energy } from "./plan";
import { scopeOf, shareMinutes, stepCount, targetStepMinutes } from "./sizing";
import { actionsIn, capitalise, readTaskWords, shortLabel } from "./text";

export interface StepSplitRequest {
  description: string;
  minutes: number;
  leafType: LeafType;
  energy: Energy;
  difficulty: number;
  category: TaskCategory;
  preferredCount?: number | null;
  learned?: LearnedPreference | null;
}

const MAX_DESCRIPTION = 500;
const clip = (text: string, max: number) =>
  text.length <= max ? text : `${text.slice(0, max - 1).trimEnd()}…`;

export const MIN_STEP_PARTS = 2;
export const MAX_STEP_PARTS = 5;

const lowerFirst = (text: string) =>
  /^\p{Lu}\p{Ll}/u.test(text) ? text.charAt(0).toLowerCase() + text.slice(1) : text;

/**
 * A step that still feels too big, made smaller by timeboxing: get ready, then the step itself in
 * short rounds, then a check. Every part names the step, so none reads as filler.
 */
export function splitStepByPattern(request: StepSplitRequest): SplitPlan {
  const target = Math.max(1, targetStepMinutes(request.energy, request.difficulty, request.learned) / 2);
  const preferred = request.preferredCount
    ? Math.min(MAX_STEP_PARTS, Math.max(MIN_STEP_PARTS, request.preferredCount))
    : null;
  const n = stepCount(request.minutes, target, { preferred, min: MIN_STEP_PARTS, max: MAX_STEP_PARTS });
  const actions = actionsIn(request.description);
  if (actions && actions.length <= n) return splitIntoActions(request, actions, n);
  const words = readTaskWords(request.description);
  const action = lowerFirst(words.phrase);
  const label = request.description.length <= 60 ? request.description : shortLabel(request.description);
  const rounds = Math.max(0, n - 2);
  const weights = [1, ...Array.from({ length: Math.max(1, rounds) }, () => 3), ...(n > 2 ? [1] : [])].slice(
    0,
    n,
  );
  const minutes = shareMinutes(Math.max(request.minutes, n), weights, Math.max(2, request.minutes));
  const texts: { text: string; why: string }[] = [
    {
      text: `Get ready to ${action}: have what it needs within reach`,
      why: "Setting up is the smallest way in.",
    },
  ];
  for (let round = 0; round < Math.max(1, rounds); round++) {
    const m = minutes[round + 1] ?? 1;
    texts.push(
      round === 0
        ? {
            text: `${capitalise(action)}, for ${m} minute${m === 1 ? "" : "s"} only`,
            why: "A short timebox makes it safe to start.",
          }
        : {
            text: `Keep going for ${m} more minute${m === 1 ? "" : "s"}: ${action}`,
            why: "Another short round; stop after it if you need to.",
          },
    );
  }
  if (n > 2)
    texts.push({ text: `Check it is done, then tick off “${label}”`, why: "Ticking it off is the reward." });
  return planOf(
    request,
    texts.slice(0, n),
    minutes,
    `A ${request.minutes}-minute step split into ${Math.min(n, texts.length)} smaller ones: a get-ready move, the step itself in short timeboxes, and a check.`,
  );
}

/** A step that joins actions ("Wash and chop the vegetables") becomes those actions, framed by a get-ready move and a check when there is room. */
function splitIntoActions(request: StepSplitRequest, actions: string[], n: number): SplitPlan {
  const texts = actions.map((text) => ({ text, why: "One action at a time." }));
  const first = actions[0] ?? request.description;
  if (n > texts.length)
    texts.unshift({
      text: `Get ready to ${lowerFirst(first)}: have what it needs within reach`,
      why: "Setting up is the smallest way in.",
    });
  if (n > texts.length)
    texts.push({ text: "Check it is all done, then tick it off", why: "Ticking it off is the reward." });
  const weights = texts.map((t) => (actions.includes(t.text) ? 3 : 1));
  const minutes = shareMinutes(
    Math.max(request.minutes, texts.length),
    weights,
    Math.max(2, request.minutes),
  );
  return planOf(
    request,
    texts,
    minutes,
    `A ${request.minutes}-minute step that joins ${actions.length} actions, split into them.`,
  );
}

function planOf(
  request: StepSplitRequest,
  texts: { text: string; why: string }[],
  minutes: number[],
  reasoning: string,
): SplitPlan {
  const steps: SuggestedStep[] = texts.map((t, i) => ({
    step_order: i + 1,
    // A step may hold 500 characters; its parts say a little more, so they are clipped to fit.
    description: clip(t.text, MAX_DESCRIPTION),
    short_label: shortLabel(t.text),
    estimated_minutes: minutes[i] ?? 1,
    leaf_type: request.leafType,
    reasoning: t.why,
    confidence: 0.7,
  }));
  const total = steps.reduce((sum, s) => sum + s.estimated_minutes, 0);
  return {
    scope: scopeOf(request.minutes),
    category: request.category,
    suggested_steps: steps,
    subtasks: [],
    total_estimated_minutes: total,
    task_minutes: request.minutes,
    reasoning,
  };
}
