import { z } from "@hono/zod-openapi";
import { TASK_CATEGORIES, type TaskCategory } from "../../db/schema/tasks";
import { askForJson, type ChatMessage } from "../../lib/ai";
import type { Categorised, CategoriseInput, Categoriser } from "./categoriser";
import { localCategoriser } from "./local-categoriser";

// Choosing one of five labels needs no large model: the small fast one answers well within the timeout.
const CATEGORISE_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast";
export const DEFAULT_CATEGORISE_TIMEOUT_MS = 3000;
/** An answer the model itself is less sure of than this leaves the local category in place. */
export const MIN_AI_CONFIDENCE = 0.5;

const CATEGORY_JSON_SCHEMA = {
  type: "object",
  properties: {
    category: { type: "string", enum: [...TASK_CATEGORIES] },
    confidence: { type: "number", minimum: 0, maximum: 1 },
  },
  required: ["category", "confidence"],
};

const BY_NAME = new Map<string, TaskCategory>(TASK_CATEGORIES.map((c) => [c.toLowerCase(), c]));

// Lenient on the form (any letter case, a number as text), strict on the meaning (one of the five).
const RawAnswer = z.object({
  category: z
    .string()
    .transform((name) => BY_NAME.get(name.trim().toLowerCase()))
    .pipe(z.enum(TASK_CATEGORIES)),
  confidence: z.coerce.number().finite().min(0).max(1),
});

/** A model answer as a category and confidence, or undefined when it is not one. */
export function acceptAiCategory(value: unknown): { category: TaskCategory; confidence: number } | undefined {
  const parsed = RawAnswer.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

function categorisePrompt(input: CategoriseInput): ChatMessage[] {
  const tags = (input.tags ?? []).slice(0, 20);
  return [
    {
      role: "system",
      content:
        "You file a person's to-do item under exactly one category. Academic: school, university, " +
        "studying, courses, exams. Work: a job or business, clients, colleagues, job hunting. Personal: " +
        "home, family, friends, errands, money, travel, pets. Health: the body and mind, exercise, " +
        "sleep, food for health, doctors, therapy, medicine. Creative: making things for their own " +
        "sake: art, music, writing stories or songs, crafts, photos, video. Give your confidence from 0 " +
        "to 1. Answer with JSON only.",
    },
    {
      role: "user",
      content: [
        `Task: ${JSON.stringify(input.title.slice(0, 300))}.`,
        input.description ? `Details: ${JSON.stringify(input.description.slice(0, 500))}.` : "",
        tags.length > 0 ? `Tags: ${tags.join(", ")}.` : "",
      ]
        .filter(Boolean)
        .join(" "),
    },
  ];
}

/**
 * Workers AI's category when it answers well, in time and sure enough; otherwise `fallback`'s (the
 * local categoriser). What answered is in `by`.
 */
export function aiCategoriser(
  ai: Ai | undefined,
  timeoutMs: number,
  fallback: Categoriser = localCategoriser,
): Categoriser {
  return {
    categorise: async (input): Promise<Categorised> => {
      const answer = await askForJson(ai, {
        model: CATEGORISE_MODEL,
        messages: categorisePrompt(input),
        jsonSchema: CATEGORY_JSON_SCHEMA,
        timeoutMs,
        maxTokens: 60,
        accept: acceptAiCategory,
      });
      if (answer && answer.confidence >= MIN_AI_CONFIDENCE) return { ...answer, by: "ai" };
      return fallback.categorise(input);
    },
  };
}
