import { z } from "@hono/zod-openapi";
import type { Scope, SplitPlan, SuggestedStep } from "../../db/schema/splitting";
import type { LeafType } from "../../db/schema/tasks";
import { askForJson, type ChatMessage } from "../../lib/ai";
import { MAX_STEP_MINUTES, MIN_STEP_MINUTES } from "../tasks/schemas";
import { maxStepMinutes } from "./sizing";
import { shortLabel } from "./text";

const SPLIT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast";
export const DEFAULT_SPLIT_TIMEOUT_MS = 6000;

/** What the model is asked, beyond the task: everything the local sizing already decided. */
export interface AiSplitBrief {
  kind: "task" | "step";
  title: string;
  description?: string | null;
  estimatedMinutes: number;
  scope: Scope;
  energy: string;
  difficulty: number;
  category: string;
  targetMinutes: number;
  minSteps: number;
  maxSteps: number;
  learned?: { step_minutes: number; step_count: number; samples: number } | null;
  defaultLeaf: LeafType;
}

const STEP_SCHEMA = {
  type: "object",
  properties: {
    description: { type: "string", maxLength: 200 },
    estimated_minutes: { type: "integer", minimum: 1, maximum: 10 },
    leaf_type: { type: "string", enum: ["DIGITAL", "HUMAN"] },
    reasoning: { type: "string", maxLength: 160 },
    confidence: { type: "number", minimum: 0, maximum: 1 },
  },
  required: ["description", "estimated_minutes", "leaf_type"],
};

const SPLIT_JSON_SCHEMA = {
  type: "object",
  properties: {
    reasoning: { type: "string", maxLength: 400 },
    steps: { type: "array", items: STEP_SCHEMA, minItems: 2, maxItems: 10 },
    subtasks: {
      type: "array",
      maxItems: 5,
      items: {
        type: "object",
        properties: {
          title: { type: "string", maxLength: 120 },
          steps: { type: "array", items: STEP_SCHEMA },
        },
        required: ["title", "steps"],
      },
    },
  },
  required: ["reasoning", "steps"],
};

// Lenient on purpose: numbers may come as strings, enums in any case; repair happens after parsing.
const RawStep = z.object({
  description: z.string(),
  estimated_minutes: z.coerce.number().finite(),
  leaf_type: z.string().optional(),
  reasoning: z.string().optional(),
  confidence: z.coerce.number().finite().optional(),
});
const RawPlan = z.object({
  reasoning: z.string().optional(),
  steps: z.array(z.unknown()).default([]),
  subtasks: z.array(z.object({ title: z.string(), steps: z.array(z.unknown()) })).optional(),
});

/** "Step 1", "Do the task", "Part 2: …" — what a lazy model writes and a user cannot act on. */
const FILLER =
  /^(?:(?:step|part|phase|task)\s*\d+\b|do (?:the|this) task\b|complete the task\b|work on (?:the|this) task\b)/i;
const NUMBERING = /^\s*(?:\d+[.)]|[-*•])\s*/;

function repairStep(
  raw: unknown,
  fallbackLeaf: LeafType,
  maxMinutes: number,
): Omit<SuggestedStep, "step_order"> | undefined {
  const parsed = RawStep.safeParse(raw);
  if (!parsed.success) return undefined;
  const description = parsed.data.description.replace(NUMBERING, "").replace(/\s+/g, " ").trim();
  if (description.length < 3 || description.length > 500 || FILLER.test(description)) return undefined;
  const leaf = parsed.data.leaf_type?.toUpperCase();
  return {
    description,
    short_label: shortLabel(description),
    // Sized for the person's energy and the task's heat, whatever the model said.
    estimated_minutes: Math.min(
      maxMinutes,
      Math.max(MIN_STEP_MINUTES, Math.round(parsed.data.estimated_minutes)),
    ),
    leaf_type: leaf === "DIGITAL" || leaf === "HUMAN" ? leaf : fallbackLeaf,
    reasoning: (parsed.data.reasoning ?? "").trim().slice(0, 300),
    confidence: Math.min(1, Math.max(0, parsed.data.confidence ?? 0.75)),
  };
}

/** Repaired steps, or undefined when fewer than `min` usable ones remain (more than `max` are cut). */
function repairSteps(raws: unknown[], brief: AiSplitBrief): SuggestedStep[] | undefined {
  const max = Math.min(MAX_STEP_MINUTES, maxStepMinutes(brief.targetMinutes));
  const steps = raws.map((r) => repairStep(r, brief.defaultLeaf, max)).filter((s) => s !== undefined);
  if (steps.length < brief.minSteps) return undefined;
  return steps.slice(0, brief.maxSteps).map((s, i) => ({ ...s, step_order: i + 1 }));
}

const total = (steps: SuggestedStep[]) => steps.reduce((t, s) => t + s.estimated_minutes, 0);

/** Checks and repairs a model answer into a plan, or rejects it (undefined). */
export function acceptAiPlan(value: unknown, brief: AiSplitBrief): SplitPlan | undefined {
  const parsed = RawPlan.safeParse(value);
  if (!parsed.success) return undefined;
  const reasoning = (parsed.data.reasoning ?? "").trim().slice(0, 600) || "Written by Workers AI.";
  if (brief.scope === "PROJECT") {
    const subtasks = (parsed.data.subtasks ?? []).slice(0, 5).map((s) => {
      const steps = repairSteps(s.steps, brief);
      const title = s.title.trim().slice(0, 300);
      return steps && title ? { title, estimated_minutes: total(steps), suggested_steps: steps } : undefined;
    });
    // Each sub-task keeps its share of the whole, by how much work the model gave it.
    const given = subtasks.reduce((t, s) => t + (s?.estimated_minutes ?? 0), 0);
    const shared = subtasks.map((s) =>
      s
        ? {
            ...s,
            estimated_minutes: Math.max(
              s.estimated_minutes,
              Math.round((brief.estimatedMinutes * s.estimated_minutes) / Math.max(1, given)),
            ),
          }
        : s,
    );
    if (shared.length < 2 || shared.some((s) => s === undefined)) return undefined;
    const ok = shared.filter((s) => s !== undefined);

    return {
      scope: brief.scope,
      category: brief.category as SplitPlan["category"],
      suggested_steps: ok[0]?.suggested_steps ?? [],
      subtasks: ok,
      total_estimated_minutes: ok.reduce((t, s) => t + total(s.suggested_steps), 0),
      task_minutes: brief.estimatedMinutes,
      reasoning,
    };
  }
  const steps = repairSteps(parsed.data.steps, brief);
  if (!steps) return undefined;
  return {
    scope: brief.scope,
    category: brief.category as SplitPlan["category"],
    suggested_steps: steps,
    subtasks: [],
    total_estimated_minutes: total(steps),
    task_minutes: brief.estimatedMinutes,
    reasoning,
  };
}

function splitPrompt(brief: AiSplitBrief): ChatMessage[] {
  const learned = brief.learned
    ? `From ${brief.learned.samples} past ratings in ${brief.category}, this person likes steps of about ${brief.learned.step_minutes} minutes and about ${brief.learned.step_count} steps per task.`
    : "No ratings from this person yet.";
  const shape =
    brief.scope === "PROJECT"
      ? `This is a PROJECT (over 2 hours): give 2 to 5 "subtasks" in order, each with ${brief.minSteps}–${brief.maxSteps} steps; put the first sub-task's steps in "steps" too.`
      : `Give ${brief.minSteps}–${brief.maxSteps} steps in "steps" and no subtasks.`;
  return [
    {
      role: "system",
      content:
        "You break tasks into tiny, concrete micro-steps for people with ADHD. Every step starts with a verb, " +
        "names the real thing (never 'Step 1' or 'work on the task'), takes 1–10 minutes, and the first step " +
        "is a tiny get-ready move. leaf_type is DIGITAL for work on a device, HUMAN otherwise. Answer with JSON only.",
    },
    {
      role: "user",
      content: [
        `${brief.kind === "step" ? "Split this step further" : "Split this task"}: ${JSON.stringify(brief.title)}.`,
        brief.description ? `Details: ${JSON.stringify(brief.description.slice(0, 1000))}.` : "",
        `About ${brief.estimatedMinutes} minutes in all; category ${brief.category}.`,
        `Energy right now: ${brief.energy}. It feels ${brief.difficulty}/5 hard — harder means smaller steps; aim for about ${Math.round(brief.targetMinutes)} minutes per step.`,
        learned,
        shape,
      ]
        .filter(Boolean)
        .join(" "),
    },
  ];
}

/** Workers AI's split, checked and repaired; undefined when it is absent, fails, is slow or is unusable. */
export function splitWithAi(
  ai: Ai | undefined,
  brief: AiSplitBrief,
  timeoutMs: number,
): Promise<SplitPlan | undefined> {
  return askForJson(ai, {
    model: SPLIT_MODEL,
    messages: splitPrompt(brief),
    jsonSchema: SPLIT_JSON_SCHEMA,
    timeoutMs,
    maxTokens: 1500,
    accept: (value) => acceptAiPlan(value, brief),
  });
}
