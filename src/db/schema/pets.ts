import { sql } from "drizzle-orm";
import { check, index, integer, real, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** A pet's personality, kept as JSON in `user_pets.personality`: written by Workers AI or the local writer. */
export interface Personality {
  name_suggestion: string;
  temperament: "energetic" | "calm" | "patient";
  traits: string[];
  dialogue_style: string;
  backstory: string;
  generated_by: "ai" | "local";
}

export const PET_SPECIES = ["dog", "cat", "dragon", "owl", "fox"] as const;

/**
 * The durable record of each user's pet (one per user). Its live state — stats that fade with time,
 * cooldowns — is kept by the user's PetState Durable Object, which writes this row after every change.
 */
export const userPets = sqliteTable(
  "user_pets",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    species: text("species", { enum: PET_SPECIES }).notNull(),
    name: text("name").notNull(),
    seed: text("seed").notNull(),
    level: integer("level").notNull().default(1),
    xp: integer("xp").notNull().default(0),
    totalXp: integer("total_xp").notNull().default(0),
    evolutionStage: integer("evolution_stage").notNull().default(1),
    /** Fullness (100 = full) and happiness as they were at `stats_at`. */
    hunger: real("hunger").notNull(),
    happiness: real("happiness").notNull(),
    statsAt: text("stats_at").notNull(),
    treats: integer("treats").notNull().default(0),
    needsAttention: integer("needs_attention", { mode: "boolean" }).notNull().default(false),
    autoEvolve: integer("auto_evolve", { mode: "boolean" }).notNull().default(true),
    personality: text("personality", { mode: "json" }).$type<Personality>(),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("user_pets_user_unique").on(t.userId),
    check("user_pets_species_check", sql`${t.species} IN ('dog','cat','dragon','owl','fox')`),
    check("user_pets_level_check", sql`${t.level} BETWEEN 1 AND 50`),
  ],
);

/** Every feed, play, pet, nourishment and evolution, for history and insight. */
export const petInteractions = sqliteTable(
  "pet_interactions",
  {
    id: text("id").primaryKey(),
    petId: text("pet_id").notNull(),
    userId: text("user_id").notNull(),
    kind: text("kind").notNull(),
    xp: integer("xp").notNull().default(0),
    hungerDelta: real("hunger_delta").notNull().default(0),
    happinessDelta: real("happiness_delta").notNull().default(0),
    at: text("at").notNull(),
  },
  (t) => [index("pet_interactions_user_id").on(t.userId, t.id)],
);
