/**
 * A creature's personality, matched to how its person works: steady high output → an energetic
 * companion; little activity → a calm, supportive one; bursts and gaps → a patient one. Written by
 * Workers AI when it is there (JSON-schema output, validated), otherwise by a local generator that is
 * deterministic for the pet (seeded by user and pet ids) and good on its own.
 */
import { z } from "@hono/zod-openapi";
import type { Personality } from "../../db/schema/pets";
import type { Env } from "../../env";
import { askForJson, parseJsonAnswer } from "../../lib/ai";
import { seededRandom } from "../../lib/seeded-random";
import type { LocalDate } from "../../lib/time";
import { addDays } from "../../lib/time";
import type { PetSpecies } from "./growth";

export const PRODUCTIVITY_PATTERNS = ["high_energy", "low_energy", "irregular"] as const;
export type ProductivityPattern = (typeof PRODUCTIVITY_PATTERNS)[number];
export type Temperament = Personality["temperament"];

const TEMPERAMENT: Record<ProductivityPattern, Temperament> = {
  high_energy: "energetic",
  low_energy: "calm",
  irregular: "patient",
};
export const temperamentFor = (pattern: ProductivityPattern) => TEMPERAMENT[pattern];

const PATTERN_DAYS = 28;

/**
 * How the user has been working over the last four weeks, from steps per active local day: fewer
 * than 3 active days or under 4 steps a day is low energy; active on less than 40% of days, or days
 * that swing widely (coefficient of variation over 0.9), is irregular; 8 or more steps a day is high.
 */
export function productivityPattern(
  days: readonly { day: LocalDate; steps: number }[],
  today: LocalDate,
): ProductivityPattern {
  const since = addDays(today, -(PATTERN_DAYS - 1));
  const recent = days.filter((d) => d.day >= since && d.day <= today && d.steps > 0);
  if (recent.length < 3) return "low_energy";
  const steps = recent.map((d) => d.steps);
  const mean = steps.reduce((a, b) => a + b, 0) / steps.length;
  const sd = Math.sqrt(steps.reduce((a, b) => a + (b - mean) ** 2, 0) / steps.length);
  if (recent.length / PATTERN_DAYS < 0.4 || sd / mean > 0.9) return "irregular";
  if (mean >= 8) return "high_energy";
  if (mean < 4) return "low_energy";
  return recent.length / PATTERN_DAYS >= 0.6 ? "high_energy" : "irregular";
}

/** The part of a personality a writer produces (the temperament comes from the pattern). */
export const WrittenPersonalitySchema = z.object({
  name_suggestion: z
    .string()
    .trim()
    .min(1)
    .max(30)
    .regex(/^[\p{L}\p{M}' -]+$/u, "Letters, spaces, ' and - only"),
  traits: z.array(z.string().trim().min(2).max(30)).length(3),
  dialogue_style: z.string().trim().min(5).max(160),
  backstory: z.string().trim().min(20).max(600),
});
export type WrittenPersonality = z.infer<typeof WrittenPersonalitySchema>;

const pick = <T>(next: () => number, list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;

function pickDistinct<T>(next: () => number, list: readonly T[], n: number): T[] {
  const pool = [...list];
  const out: T[] = [];
  while (out.length < n && pool.length > 0)
    out.push(pool.splice(Math.floor(next() * pool.length), 1)[0] as T);
  return out;
}

const NAMES: Record<PetSpecies, readonly string[]> = {
  dog: ["Biscuit", "Pepper", "Maple", "Scout", "Waffles", "Juniper", "Rocket", "Clover"],
  cat: ["Miso", "Sable", "Pixel", "Marzipan", "Nimbus", "Tofu", "Saffron", "Inkwell"],
  dragon: ["Ember", "Quill", "Cinder", "Mosswing", "Azurel", "Pyrrha", "Fable", "Torchlet"],
  owl: ["Hoot", "Sage", "Lumen", "Parsley", "Oracle", "Twig", "Nocturne", "Willow"],
  fox: ["Rusty", "Sorrel", "Kit", "Ginger", "Vesper", "Tinder", "Bramble", "Sunny"],
};

const TRAITS: Record<Temperament, readonly string[]> = {
  energetic: ["bouncy", "bold", "cheerful", "quick-witted", "adventurous", "upbeat", "spirited", "eager"],
  calm: ["gentle", "steady", "soft-spoken", "reassuring", "cozy", "thoughtful", "warm", "unhurried"],
  patient: ["patient", "forgiving", "curious", "loyal", "easygoing", "hopeful", "kind", "wise"],
};

const STYLES: Record<Temperament, readonly string[]> = {
  energetic: [
    "Short, bright cheers with lots of exclamation marks",
    "Playful pep talks that turn every step into a win",
  ],
  calm: [
    "Soft, unhurried sentences that make the next step feel small",
    "Quiet encouragement, never pushy, always on your side",
  ],
  patient: [
    "Warm welcomes back, however long you were away",
    "Gentle nudges and zero guilt: every restart counts",
  ],
};

const ORIGINS: Record<PetSpecies, readonly string[]> = {
  dog: [
    "a sunny park full of tennis balls",
    "a cozy bakery where it guarded the cookie jar",
    "a lighthouse by the sea",
  ],
  cat: ["a library's warmest windowsill", "a rooftop garden full of moths", "a bookshop that never closed"],
  dragon: [
    "a mossy cave of glowing crystals",
    "a volcano that only ever puffed warm air",
    "a cloud castle above the rain",
  ],
  owl: [
    "an old oak beside a moonlit pond",
    "the rafters of a village observatory",
    "a forest of whispering pines",
  ],
  fox: [
    "a meadow of tall golden grass",
    "the edge of a quiet snowy forest",
    "a hillside den full of treasures",
  ],
};

const HABITS: Record<Temperament, readonly string[]> = {
  energetic: [
    "races to celebrate every finished step",
    "turns to-do lists into games",
    "does a happy spin whenever you start something",
  ],
  calm: [
    "sits beside you while you take the first tiny step",
    "hums softly while you work",
    "reminds you that small steps still move you forward",
  ],
  patient: [
    "waits by the door, tail wagging, whenever you come back",
    "keeps a list of your wins for the days you forget them",
    "never minds a messy week",
  ],
};

/** The local writer: deterministic for a pet, different across pets, fitting species and temperament. */
export function localPersonality(input: {
  seed: string;
  species: PetSpecies;
  temperament: Temperament;
}): WrittenPersonality {
  const next = seededRandom(`personality:${input.seed}`);
  const name = pick(next, NAMES[input.species]);
  const traits = pickDistinct(next, TRAITS[input.temperament], 3);
  const origin = pick(next, ORIGINS[input.species]);
  const habit = pick(next, HABITS[input.temperament]);
  return {
    name_suggestion: name,
    traits,
    dialogue_style: pick(next, STYLES[input.temperament]),
    backstory: `${name} grew up in ${origin}. ${traits[0] ? `${traits[0][0]?.toUpperCase()}${traits[0].slice(1)}` : "Kind"} and ${traits[1] ?? "warm"}, it ${habit}.`,
  };
}

export const CREATURE_MODEL = "@cf/meta/llama-3.1-8b-instruct";
export const AI_TIMEOUT_MS = 8000;

const JSON_SCHEMA = {
  type: "object",
  properties: {
    name_suggestion: { type: "string", maxLength: 30 },
    traits: { type: "array", items: { type: "string", maxLength: 30 }, minItems: 3, maxItems: 3 },
    dialogue_style: { type: "string", maxLength: 160 },
    backstory: { type: "string", maxLength: 600 },
  },
  required: ["name_suggestion", "traits", "dialogue_style", "backstory"],
};

/** Reads a model answer (an object, or JSON text, possibly in a code fence) as a written personality. */
export function parseWritten(answer: unknown): WrittenPersonality | undefined {
  const parsed = WrittenPersonalitySchema.safeParse(parseJsonAnswer(answer));
  return parsed.success ? parsed.data : undefined;
}

/**
 * The creature's personality: Workers AI writes it (one retry after an error or an answer that does not
 * fit the schema; none after a timeout), checked against the schema; otherwise the local writer does.
 */
export async function writePersonality(
  env: Pick<Env, "AI">,
  input: { seed: string; species: PetSpecies; pattern: ProductivityPattern; petName: string },
  options: { timeoutMs?: number } = {},
): Promise<Personality> {
  const temperament = temperamentFor(input.pattern);
  const written = await askForJson(env.AI, {
    model: CREATURE_MODEL,
    messages: [
      {
        role: "system",
        content:
          "You write personalities for virtual pet companions in a task app for people with ADHD. " +
          "Always kind, never guilt-tripping. Answer with JSON only.",
      },
      {
        role: "user",
        content:
          `A ${input.species} named ${JSON.stringify(input.petName)}, temperament ${temperament} ` +
          `(its person's work pattern: ${input.pattern.replace("_", " ")}). Give a name suggestion, ` +
          "exactly three one-or-two-word traits, a dialogue style in one sentence, and a two-sentence backstory.",
      },
    ],
    jsonSchema: JSON_SCHEMA,
    timeoutMs: options.timeoutMs ?? AI_TIMEOUT_MS,
    accept: (value) => {
      const parsed = WrittenPersonalitySchema.safeParse(value);
      return parsed.success ? parsed.data : undefined;
    },
  });
  if (written) return { ...written, temperament, generated_by: "ai" };
  return {
    ...localPersonality({ seed: input.seed, species: input.species, temperament }),
    temperament,
    generated_by: "local",
  };
}
