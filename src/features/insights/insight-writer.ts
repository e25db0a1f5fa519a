/**
 * Who writes an insight's words: Workers AI rephrasing the local text more warmly, or the local
 * templates as they are. The facts never come from the model: it may only reword what the local
 * writer wrote, keeping every number and adding none, in words free of judgement. Any insight whose
 * rephrasing is missing, late, malformed or breaks those rules keeps its local text.
 */
import { z } from "@hono/zod-openapi";
import { askForJson, type ChatMessage } from "../../lib/ai";
import type { LocalInsight } from "./insight-kinds";
import { FORBIDDEN_WORDS, forbiddenWordIn } from "./words";

export const PHRASED_BY = ["ai", "local"] as const;
export type PhrasedBy = (typeof PHRASED_BY)[number];

export interface Insight extends LocalInsight {
  phrased_by: PhrasedBy;
}

export interface InsightWriter {
  readonly name: PhrasedBy;
  write(insights: readonly LocalInsight[]): Promise<Insight[]>;
}

/** The local templates, as insights.ts wrote them. */
export const localWriter: InsightWriter = {
  name: "local",
  write: async (insights) => insights.map((i) => ({ ...i, phrased_by: "local" })),
};

const INSIGHT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";
export const DEFAULT_INSIGHTS_AI_TIMEOUT_MS = 4000;
const MAX_TITLE = 100;
const MAX_BODY = 500;

const REPHRASE_JSON_SCHEMA = {
  type: "object",
  properties: {
    insights: {
      type: "array",
      items: {
        type: "object",
        properties: {
          insight_id: { type: "string" },
          title: { type: "string", maxLength: MAX_TITLE },
          body: { type: "string", maxLength: MAX_BODY },
        },
        required: ["insight_id", "title", "body"],
      },
    },
  },
  required: ["insights"],
};

const Rephrasing = z.object({
  insights: z.array(z.unknown()),
});
const RephrasedInsight = z.object({
  insight_id: z.string(),
  title: z.string().trim().min(3).max(MAX_TITLE),
  body: z.string().trim().min(10).max(MAX_BODY),
});

type Words = { title: string; body: string };

/** The numbers a text states ("85%" → 85, "1.5×" → 1.5), as a sorted multiset. */
export function numbersIn(text: string): string[] {
  return (text.match(/\d+(?:\.\d+)?/g) ?? []).map((n) => String(Number(n))).sort();
}

const sameNumbers = (a: string[], b: string[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/**
 * The acceptable rephrasings of a model's answer, by insight id: each must keep exactly the numbers
 * of its local text, and use none of the forbidden words. Undefined when none is acceptable.
 */
export function acceptRephrasing(
  value: unknown,
  insights: readonly LocalInsight[],
): Map<string, Words> | undefined {
  const parsed = Rephrasing.safeParse(value);
  if (!parsed.success) return undefined;
  const byId = new Map(insights.map((i) => [i.insight_id, i]));
  const accepted = new Map<string, Words>();
  for (const raw of parsed.data.insights) {
    const item = RephrasedInsight.safeParse(raw);
    if (!item.success) continue;
    const local = byId.get(item.data.insight_id);
    if (!local || accepted.has(local.insight_id)) continue;
    const { title, body } = item.data;
    if (forbiddenWordIn(`${title}\n${body}`) !== undefined) continue;
    if (!sameNumbers(numbersIn(`${title} ${body}`), numbersIn(`${local.title} ${local.body}`))) continue;
    accepted.set(local.insight_id, { title, body });
  }
  return accepted.size > 0 ? accepted : undefined;
}

function rephrasePrompt(insights: readonly LocalInsight[]): ChatMessage[] {
  return [
    {
      role: "system",
      content:
        "You rewrite short insights a person with ADHD reads about their own days. Make each one warm, plain " +
        "and encouraging, like a kind friend: never judge, never compare them with what they ought to have done. " +
        "Keep every number exactly as written and add no new facts or numbers. Keep titles under 80 characters " +
        `and bodies under 300. Never use these words: ${FORBIDDEN_WORDS.join(", ")}. ` +
        'Answer with JSON only: {"insights": [{"insight_id", "title", "body"}]}, one entry per insight, same ids.',
    },
    {
      role: "user",
      content: JSON.stringify(
        insights.map((i) => ({ insight_id: i.insight_id, kind: i.kind, title: i.title, body: i.body })),
      ),
    },
  ];
}

/** Workers AI rephrasing the local text; each insight it did not rephrase well keeps the local words. */
export function aiWriter(ai: Ai, timeoutMs: number): InsightWriter {
  return {
    name: "ai",
    async write(insights) {
      if (insights.length === 0) return [];
      const rephrased = await askForJson(ai, {
        model: INSIGHT_MODEL,
        messages: rephrasePrompt(insights),
        jsonSchema: REPHRASE_JSON_SCHEMA,
        timeoutMs,
        maxTokens: 2000,
        accept: (value) => acceptRephrasing(value, insights),
      });
      return insights.map((i) => {
        const words = rephrased?.get(i.insight_id);
        return words ? { ...i, ...words, phrased_by: "ai" } : { ...i, phrased_by: "local" };
      });
    },
  };
}

/** Which writer may answer: Workers AI when allowed and bound, the local templates otherwise. */
export interface WriterChoice {
  ai?: Ai | undefined;
  useAi: boolean;
  timeoutMs: number;
}

export function chooseWriter(choice: WriterChoice): InsightWriter {
  return choice.useAi && choice.ai ? aiWriter(choice.ai, choice.timeoutMs) : localWriter;
}
