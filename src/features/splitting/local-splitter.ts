import type { SplitPlan, SubtaskPlan, SuggestedStep } from "../../db/schema/splitting";
import type { LeafType, TaskCategory } from "../../db/schema/tasks";
import type { LearnedPreference } from "./learning";
import type { Energy } from "./plan";
import { GENERIC, type Phase, SHAPES, type Shape, type Stage } from "./shapes";
import {
  MAX_STEPS,
  maxStepMinutes,
  PROJECT_OVER_MINUTES,
  scopeOf,
  shareMinutes,
  stepCount,
  targetStepMinutes,
} from "./sizing";
import { capitalise, readTaskWords, shortLabel, type TaskWords } from "./text";

/** Everything a splitter is told about the work. */
export interface SplitRequest {
  title: string;
  description?: string | null;
  /** The task's own estimate, if it has one. */
  estimatedMinutes?: number | null;
  energy: Energy;
  /** Felt difficulty ("spiciness") 1–5: hotter → finer steps. */
  difficulty: number;
  /** An explicit step count (2–10) wins over sizing. */
  preferredCount?: number | null;
  category?: TaskCategory | null;
  learned?: LearnedPreference | null;
}

const BIG =
  /\b(?:garage|attic|basement|house|apartment|flat|whole|entire|everything|all of|full|deep|thesis|dissertation|big|huge|semester|annual|yearly)\b/;
const SMALL = /\b(?:quick|quickly|short|small|little|just|one|single|brief|tiny)\b/;
const MATCHED_CONFIDENCE = 0.8;
/** The last step when the steps are only the start of a long task. */
const STOP_POINT: Phase = {
  text: "Stop here, note where you got to, and split the rest when you are ready",
  weight: 1,
  why: "Stopping on purpose makes starting again easy.",
};
const GENERIC_CONFIDENCE = 0.55;

export function findShape(title: string, description?: string | null): Shape {
  const head = title.toLowerCase();
  // The verb a title starts with says a lot ("book flights" is a booking, "walk the dog" a chore), but
  // a more specific shape named in it, earlier in the list, still wins ("email inbox zero" is the inbox).
  const verb = readTaskWords(title).verb;
  const byVerb = verb ? SHAPES.findIndex((s) => s.verbs?.test(verb)) : -1;
  const byWord = SHAPES.findIndex((s) => s.match.test(head));
  const found = [byVerb, byWord].filter((i) => i >= 0).sort((a, b) => a - b)[0];
  if (found !== undefined) return SHAPES[found] as Shape;
  const body = (description ?? "").toLowerCase().slice(0, 500);
  return SHAPES.find((s) => s.match.test(body)) ?? GENERIC;
}

/** The task's own estimate, else what its shape usually takes, scaled by words like "whole" or "quick". */
export function estimateMinutes(shape: Shape, title: string, estimate?: number | null): number {
  if (estimate && estimate > 0) return estimate;
  const text = title.toLowerCase();
  let minutes = shape.minutes;
  if (BIG.test(text)) minutes *= 3;
  else if (SMALL.test(text)) minutes *= 0.5;
  return Math.max(5, Math.round(minutes / 5) * 5);
}

function fill(text: string, words: TaskWords): string {
  const filled = text.replace(/\{(\w+)(?:\|([^}]*))?\}/g, (_, name: string, fallback?: string) => {
    switch (name) {
      case "object":
        return words.object;
      case "thing":
        return words.thing;
      case "phrase":
        return words.phrase;
      case "do_phrase":
        return words.verb ? words.phrase : `work on ${words.object}`;
      case "for_phrase":
        return words.verb ? `to ${words.phrase}` : `for ${words.object}`;
      case "person":
        return words.person ?? fallback ?? "them";
      case "topic":
        return words.topic ?? fallback ?? "it";
      default:
        return fallback ?? "";
    }
  });
  // "they need" reads right only when no one was named; a named person "needs".
  return capitalise(
    words.person ? filled.replace(new RegExp(`${words.person} need\\b`), `${words.person} needs`) : filled,
  );
}

interface Pick {
  phase: Phase;
  repeat: boolean;
}

/**
 * Chooses `n` phases in order: always the first (get ready) and the last (finish); in between the
 * essential ones, then the weightiest, and rounds of repeatable work when more steps are wanted than
 * the shape has.
 */
export function pickPhases(
  phases: readonly Phase[],
  n: number,
  innerPreps: ReadonlySet<Phase> = new Set(),
): Pick[] {
  const first = phases[0];
  const last = phases.length > 1 ? phases[phases.length - 1] : undefined;
  if (!first) return [];
  const middle = phases.slice(1, last ? -1 : undefined).filter((p) => !innerPreps.has(p));
  const need = Math.max(0, n - (last ? 2 : 1));
  const ranked = middle
    .map((phase, i) => ({ phase, i }))
    .sort(
      (a, b) =>
        Number(b.phase.essential ?? false) - Number(a.phase.essential ?? false) ||
        b.phase.weight - a.phase.weight ||
        a.i - b.i,
    )
    .slice(0, need)
    .sort((a, b) => a.i - b.i)
    .map(({ phase }) => ({ phase, repeat: false }));
  const chosen: Pick[] = [...ranked];
  const repeatable = ranked.filter((p) => p.phase.repeat).sort((a, b) => b.phase.weight - a.phase.weight);
  for (let k = 0; chosen.length < need && repeatable.length > 0; k++) {
    const source = repeatable[k % repeatable.length] as Pick;
    // A repeat goes right after its source's last round.
    let at = chosen.lastIndexOf(source);
    while (chosen[at + 1]?.repeat && chosen[at + 1]?.phase === source.phase) at++;
    chosen.splice(at + 1, 0, { phase: source.phase, repeat: true });
  }
  return [{ phase: first, repeat: false }, ...chosen, ...(last ? [{ phase: last, repeat: false }] : [])];
}

function stepsFrom(
  picks: Pick[],
  minutes: number,
  target: number,
  words: TaskWords,
  leaf: LeafType,
  confidence: number,
): SuggestedStep[] {
  const weights = picks.map((p, i) => (i === 0 ? 1 : p.phase.weight));
  const shares = shareMinutes(minutes, weights, maxStepMinutes(target));
  const rounds = new Map<Phase, number>();
  return picks.map(({ phase, repeat }, i) => {
    // Rounds of the same work are numbered, so no two steps read the same.
    const round = repeat ? (rounds.get(phase) ?? 1) + 1 : 1;
    if (repeat) rounds.set(phase, round);
    const text = fill(repeat && phase.repeat ? phase.repeat : phase.text, words);
    const description = repeat ? `${text} (round ${round})` : text;
    return {
      step_order: i + 1,
      description,
      short_label: shortLabel(description),
      estimated_minutes: shares[i] ?? 1,
      leaf_type: phase.leaf ?? leaf,
      reasoning: repeat ? "Another round of the same work, kept small." : phase.why,
      confidence: repeat ? Math.round(confidence * 85) / 100 : confidence,
    };
  });
}

const sum = (steps: SuggestedStep[]) => steps.reduce((total, s) => total + s.estimated_minutes, 0);

/** A project-sized task: one sub-task per stage (a one-stage shape is framed by getting going and finishing). */
function projectStages(shape: Shape): Stage[] {
  if (shape.stages.length > 1) return shape.stages;
  const [start, , finish] = GENERIC.stages;
  return [start, shape.stages[0], finish].filter((s): s is Stage => s !== undefined);
}

function describe(
  shape: Shape,
  request: SplitRequest,
  minutes: number,
  target: number,
  covered: number,
): string {
  const kind =
    shape === GENERIC
      ? "a task of its own kind"
      : `${/^[aeiou]/.test(shape.label) ? "an" : "a"} ${shape.label} task`;
  const parts = [
    `Read as ${kind}, about ${minutes} minutes (${scopeOf(minutes)}).`,
    `${capitalise(request.energy)} energy and spiciness ${request.difficulty}/5 → steps of about ${Math.round(target)} minutes, starting with a tiny get-ready step.`,
  ];
  if (request.learned && request.learned.confidence > 0)
    parts.push(`Sized to what your ratings taught (${request.learned.step_minutes} min steps).`);
  if (covered < minutes * 0.9)
    parts.push(`These steps cover the first ${covered} minutes; split again when they are done.`);
  return parts.join(" ");
}

/** The local splitter: deterministic, offline, and built from what the task actually is. */
export function splitLocally(request: SplitRequest): SplitPlan {
  const shape = findShape(request.title, request.description);
  const words = readTaskWords(request.title);
  const minutes = estimateMinutes(shape, request.title, request.estimatedMinutes);
  const scope = scopeOf(minutes);
  const target = targetStepMinutes(request.energy, request.difficulty, request.learned);
  const confidence = shape === GENERIC ? GENERIC_CONFIDENCE : MATCHED_CONFIDENCE;
  const category = request.category ?? shape.category;

  if (scope !== "PROJECT") {
    const n = stepCount(minutes, target, { preferred: request.preferredCount, learned: request.learned });
    // When these few small steps can cover less than half the work, they are the start of it (the first
    // stage, then a stop point), not thin slices of every stage ("wipe all the surfaces" in 2 minutes).
    const [firstStage] = shape.stages;
    const onlyAStart = shape.stages.length > 1 && firstStage && n * maxStepMinutes(target) < minutes / 2;
    const phases = onlyAStart ? [...firstStage.phases, STOP_POINT] : shape.stages.flatMap((s) => s.phases);
    const innerPreps = new Set(
      (onlyAStart ? [] : shape.stages.slice(1)).map((s) => s.phases[0]).filter((p): p is Phase => !!p),
    );
    const steps = stepsFrom(
      pickPhases(phases, n, innerPreps),
      minutes,
      target,
      words,
      shape.leaf,
      confidence,
    );
    return {
      scope,
      category,
      suggested_steps: steps,
      subtasks: [],
      total_estimated_minutes: sum(steps),
      task_minutes: minutes,
      reasoning: describe(shape, request, minutes, target, sum(steps)),
    };
  }

  const stages = projectStages(shape);
  const stageWeights = stages.map((s) => s.phases.reduce((t, p) => t + p.weight, 0));
  const allWeight = stageWeights.reduce((a, b) => a + b, 0);
  const subtasks: SubtaskPlan[] = stages.map((stage, i) => {
    const share = Math.max(5, Math.round((minutes * (stageWeights[i] ?? 1)) / allWeight));
    const n = stepCount(share, target, {
      preferred: request.preferredCount,
      learned: request.learned,
      max: Math.min(MAX_STEPS, Math.max(3, stage.phases.length + 2)),
    });
    const steps = stepsFrom(pickPhases(stage.phases, n), share, target, words, shape.leaf, confidence);
    // The sub-task keeps its share of the project; its steps are the way in.
    return { title: fill(stage.title, words), estimated_minutes: share, suggested_steps: steps };
  });
  const covered = subtasks.reduce((t, s) => t + sum(s.suggested_steps), 0);
  return {
    scope,
    category,
    suggested_steps: subtasks[0]?.suggested_steps ?? [],
    subtasks,
    total_estimated_minutes: covered,
    task_minutes: minutes,
    reasoning: `${describe(shape, request, minutes, target, minutes)} Over ${PROJECT_OVER_MINUTES} minutes, so it is split into ${subtasks.length} sub-tasks first; the steps shown are the first sub-task's.`,
  };
}
