import { z } from "@hono/zod-openapi";
import { caseInsensitiveEnum } from "../../lib/enums";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { MAX_FEED_XP, MOODS } from "./care";
import { MAX_PET_LEVEL, PET_SPECIES } from "./growth";
import { PRODUCTIVITY_PATTERNS } from "./personality";

/** `me`, or your own user id (anyone else's answers 404, like any id that is not yours). */
export const UserIdParamsSchema = z.object({
  user_id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "user_id", in: "path" }, example: "me", description: "`me` or your user id" }),
});

export const PetIdParamsSchema = z.object({
  pet_id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "pet_id", in: "path" }, description: "The pet's id" }),
});

/** The longest pet name (the restore of an exported pet holds it to it too). */
export const PET_NAME_CHARS = 100;

const PetName = z
  .string()
  .trim()
  .min(1, "Give your pet a name")
  .max(PET_NAME_CHARS, `At most ${PET_NAME_CHARS} characters`);

export const PersonalitySchema = z
  .object({
    name_suggestion: z.string(),
    temperament: z.enum(["energetic", "calm", "patient"]),
    traits: z.array(z.string()),
    dialogue_style: z.string(),
    backstory: z.string(),
    generated_by: z.enum(["ai", "local"]),
  })
  .openapi("PetPersonality");

export const PetSchema = z
  .object({
    seq: z.number().int().openapi({ description: "Sequence number of the pet's live state (WebSocket)" }),
    pet_id: z.string(),
    species: z.enum(PET_SPECIES),
    name: z.string(),
    level: z.number().int().min(1).max(MAX_PET_LEVEL),
    xp: z.number().int().openapi({ description: "XP into the current level" }),
    total_xp: z.number().int(),
    xp_to_next_level: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "XP still needed for the next level; null at level 50" }),
    xp_for_level: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "XP this level needs in all: 50 × level²; null at level 50" }),
    hunger: z.number().openapi({ description: "Fullness, 0–100: 100 = full (it fades 4/hour awake)" }),
    happiness: z.number().openapi({ description: "0–100 (it fades 2/hour awake)" }),
    evolution_stage: z
      .number()
      .int()
      .openapi({ description: "1 baby, 2 teen (level 5), 3 adult (level 10)" }),
    can_evolve: z.boolean(),
    auto_evolve: z.boolean().openapi({ description: "Evolve by itself on reaching a stage's level" }),
    needs_attention: z.boolean().openapi({ description: "Fullness or happiness is under 30" }),
    mood: z.enum(MOODS),
    treats: z
      .number()
      .int()
      .openapi({ description: "XP earned by your work and not yet fed: what POST …/feed may spend" }),
    play_ready_at: z.string().nullable().openapi({ description: "When it can play again; null: now" }),
    pet_ready_at: z.string().nullable().openapi({ description: "When petting counts again; null: now" }),
    personality: nullableRef(PersonalitySchema),
    image_url: z.string(),
    created_at: z.string(),
    user_id: z.string().openapi({ description: "Your user id (for clients of the original API)" }),
    last_fed_at: z.string().nullable().openapi({ description: "When it was last fed; null: not yet" }),
  })
  .openapi("Pet");

export const CreatePetBodySchema = z
  .object({
    species: caseInsensitiveEnum(PET_SPECIES),
    name: PetName,
  })
  .strict()
  .openapi("CreatePet");

export const UpdatePetBodySchema = z
  .object({
    name: PetName.optional(),
    auto_evolve: z.boolean().optional(),
  })
  .strict()
  .refine((b) => b.name !== undefined || b.auto_evolve !== undefined, {
    message: "Send name and/or auto_evolve",
  })
  .openapi("UpdatePet");

export const FeedBodySchema = z
  .object({
    xp_amount: z
      .number()
      .int("Feed whole XP")
      .min(1, "Feed at least 1 XP")
      .max(MAX_FEED_XP, `Feed at most ${MAX_FEED_XP} XP at once`)
      .openapi({ description: "XP of treats to feed (from `treats`, earned by your work)", example: 25 }),
  })
  .strict()
  .openapi("FeedPet");

export const PetOutcomeSchema = z
  .object({
    pet: PetSchema,
    leveled_up: z.boolean(),
    evolved: z.boolean(),
    xp_to_next_level: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "XP still needed for the next level; null at level 50" }),
  })
  .openapi("PetOutcome");

export const AbilitySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    unlocks_at_level: z.number().int(),
    description: z.string(),
  })
  .openapi("PetAbility");

export const AbilityTableSchema = z
  .object({
    abilities: z.array(AbilitySchema),
    stages: z.array(z.object({ stage: z.number().int(), name: z.string(), from_level: z.number().int() })),
    curve: z.string(),
  })
  .openapi("PetAbilityTable");

export const LevelStatusSchema = z
  .object({
    level: z.number().int(),
    xp: z.number().int(),
    xp_to_next_level: z.number().int().nullable().openapi({ description: "XP still needed" }),
    xp_for_level: z.number().int().nullable().openapi({ description: "50 × level²" }),
    hunger: z.number(),
    happiness: z.number(),
    evolution_stage: z.number().int(),
    can_evolve: z.boolean(),
    needs_attention: z.boolean(),
    abilities: z.array(AbilitySchema).openapi({ description: "Unlocked so far" }),
    next_ability: nullableRef(AbilitySchema),
    perks: z
      .object({
        xp_boost_percent: z.number().int(),
        max_streak_freezes: z.number().int(),
        stat_floor: z.number().int(),
        play_cooldown_minutes: z.number().int(),
        happiness_decay_per_hour: z.number(),
        hunger_decay_per_hour: z.number(),
      })
      .openapi({ description: "The numbers the abilities change" }),
  })
  .openapi("PetLevelStatus");

export const GeneratePersonalityBodySchema = z
  .object({
    pattern: caseInsensitiveEnum(PRODUCTIVITY_PATTERNS)
      .optional()
      .openapi({ description: "Override the pattern read from your last four weeks of work" }),
  })
  .strict()
  .openapi("GeneratePersonality");

export const GeneratedPersonalitySchema = z
  .object({
    pattern: z.enum(PRODUCTIVITY_PATTERNS),
    personality: PersonalitySchema,
    pet: PetSchema,
  })
  .openapi("GeneratedPersonality");

export const DialogueSchema = z
  .object({
    line: z.string(),
    mood: z.enum(MOODS),
    context: z.object({
      steps_today: z.number().int(),
      streak_days: z.number().int(),
      treats: z.number().int(),
      hours_away: z.number().nullable(),
    }),
  })
  .openapi("PetDialogue");

export const InteractionSchema = z
  .object({
    id: z.string(),
    kind: z.string().openapi({
      example: "feed",
      description: "adopt, feed, play, pet, evolve, nourish:step, nourish:task, nourish:focus",
    }),
    xp: z.number().int(),
    hunger_delta: z.number(),
    happiness_delta: z.number(),
    at: z.string(),
  })
  .openapi("PetInteraction");

export const InteractionsQuerySchema = PaginationQuerySchema;

export type InteractionDto = z.infer<typeof InteractionSchema>;
export type LevelStatusDto = z.infer<typeof LevelStatusSchema>;
export type AbilityTableDto = z.infer<typeof AbilityTableSchema>;
export type GeneratedPersonalityDto = z.infer<typeof GeneratedPersonalitySchema>;
export type DialogueDto = z.infer<typeof DialogueSchema>;
