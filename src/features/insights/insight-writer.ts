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

export type Words = { title: string; body: string };

/**
 * The numbers a text states ("85%" → 85, "1.5×" → 1.5), in the order it states them: "85% against
 * 45%" and "45% against 85%" hold the same numbers and say opposite things.
 */
export function numbersIn(text: string): string[] {
  return (text.match(/\d+(?:\.\d+)?/g) ?? []).map((n) => String(Number(n)));
}

const sameNumbers = (a: string[], b: string[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/** Whether a rephrasing states the same numbers, in the same order, as the local words: title and body apart. */
export function keepsNumbers(rephrased: Words, local: Words): boolean {
  return (
    sameNumbers(numbersIn(rephrased.title), numbersIn(local.title)) &&
    sameNumbers(numbersIn(rephrased.body), numbersIn(local.body))
  );
}

/** Whether words may stand for the local ones: the same numbers in order, and no forbidden word. */
export function acceptable(words: Words, local: Words): boolean {
  return forbiddenWordIn(`${words.title}\n${words.body}`) === undefined && keepsNumbers(words, local);
}

/**
 * The acceptable rephrasings of a model's answer, by insight id: each must keep exactly the numbers
 * of its local text (in order, title and body each), and use none of the forbidden words. Undefined
 * when none is acceptable.
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
    if (!acceptable({ title, body }, local)) continue;
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
        "Keep every number exactly as written, in the same order, the title's in the title and the body's in " +
        "the body, and add no new facts or numbers. Keep titles under 80 characters " +
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

/**
 * Who rewords: for each insight it was asked about, its words, or `null` when it answered but not
 * acceptably (the local words stand); undefined when it gave no usable answer at all (late, nonsense).
 */
export interface Rephraser {
  /** Names the model: words remembered from one model are not another's. */
  readonly id: string;
  rephrase(insights: readonly LocalInsight[]): Promise<Map<string, Words | null> | undefined>;
}

/** Workers AI as the rephraser. */
export function aiRephraser(ai: Ai, timeoutMs: number): Rephraser {
  return {
    id: `ai:${INSIGHT_MODEL}`,
    async rephrase(insights) {
      if (insights.length === 0) return new Map();
      // An answer in the right shape whose every rephrasing was refused is still an answer: the local
      // words stand for those insights, and asking again soon would most likely be refused again.
      let answered = false;
      const rephrased = await askForJson(ai, {
        model: INSIGHT_MODEL,
        messages: rephrasePrompt(insights),
        jsonSchema: REPHRASE_JSON_SCHEMA,
        timeoutMs,
        maxTokens: 2000,
        accept: (value) => {
          if (Rephrasing.safeParse(value).success) answered = true;
          return acceptRephrasing(value, insights);
        },
      });
      if (!rephrased && !answered) return undefined;
      return new Map(insights.map((i) => [i.insight_id, rephrased?.get(i.insight_id) ?? null]));
    },
  };
}

/** The insights in the words given, by id; the local words (and `phrased_by: "local"`) for the rest. */
export function phrase(
  insights: readonly LocalInsight[],
  words: (insight: LocalInsight, index: number) => Words | null | undefined,
): Insight[] {
  return insights.map((i, k) => {
    const w = words(i, k);
    return w ? { ...i, title: w.title, body: w.body, phrased_by: "ai" } : { ...i, phrased_by: "local" };
  });
}

/** Workers AI rephrasing the local text, asked every time; each insight it did not rephrase well keeps the local words. */
export function aiWriter(ai: Ai, timeoutMs: number): InsightWriter {
  const rephraser = aiRephraser(ai, timeoutMs);
  return {
    name: "ai",
    async write(insights) {
      const rephrased = await rephraser.rephrase(insights);
      return phrase(insights, (i) => rephrased?.get(i.insight_id));
    },
  };
}
