import { and, desc, eq, gte } from "drizzle-orm";
import type { Database } from "../../db";
import { activityDays, users, xpLedger } from "../../db/schema";
import type { Personality } from "../../db/schema/pets";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";
import { notFound } from "../../lib/errors";
import type { IdempotencyContext } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { accepted } from "../../lib/live-refusal";
import { STREAK_LOOKBACK_DAYS, streakState } from "../../lib/streaks";
import { addDays, type LocalDate, localParts } from "../../lib/time";
import { retryingStub } from "../../lib/transient";
import { streakRulesFor } from "../gamification/streak-rules";
import { FULLNESS_PER_HOUR, HAPPINESS_PER_HOUR, moodOf, type PetAction } from "./care";
import { dialogueLine } from "./dialogue";
import { ABILITIES, abilitiesAt, type PetSpecies, perksAt } from "./growth";
import {
  localPersonality,
  type ProductivityPattern,
  productivityPattern,
  temperamentFor,
  writePersonality,
} from "./personality";
import { portraitSvg } from "./portrait";
import { type PetDto, type PetOutcome, type PetSocketAction, petSeed } from "./protocol";
import { storedPetOf } from "./queries";

/**
 * Pet calls safe to send twice: reads, patches, and feeding (once per source); adopting is not (a
 * second adoption is a conflict), nor is an action without an idempotency key.
 */
const PET_IDEMPOTENT = new Set([
  "view",
  "update",
  "setPersonality",
  "setTimezone",
  "nourish",
  "flushed",
  "erase",
]);

/** The user's PetState Durable Object. */
export function petState(env: Env, userId: string) {
  return retryingStub(
    env.PET_STATE.get(env.PET_STATE.idFromName(userId)),
    (method, args) => PET_IDEMPOTENT.has(method) || (method === "act" && args[2] !== undefined),
  );
}

/** Erases the user's live pet (its account is being deleted): sockets closed, storage emptied. */
export async function erasePetState(env: Env, userId: string): Promise<void> {
  await petState(env, userId).erase();
}

/**
 * Resolves once D1's record of the user's pet holds every change its object has answered (the object
 * writes D1 just after answering): for readers of that record who must see a rename or evolution made a
 * moment ago.
 */
export async function petRecordSettled(env: Env, userId: string): Promise<void> {
  await petState(env, userId).flushed();
}

/** `me` or the caller's own id; any other user's id is answered like an unknown one. */
export function ownUserId(principalUserId: string, param: string): string {
  if (param === "me" || param === principalUserId) return principalUserId;
  throw notFound("Pet");
}

/** What the user's recent work says: their zone, today, active days (with steps), when they last earned XP. */
async function readWorkHistory(db: Database, userId: string, now: number) {
  const since = addDays(new Date(now).toISOString().slice(0, 10), -STREAK_LOOKBACK_DAYS);
  const [owner, days, last] = await db.batch([
    db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)),
    db
      .select({ day: activityDays.day, steps: activityDays.steps })
      .from(activityDays)
      .where(and(eq(activityDays.userId, userId), gte(activityDays.day, since))),
    db
      .select({ at: xpLedger.occurredAt })
      .from(xpLedger)
      .where(eq(xpLedger.userId, userId))
      .orderBy(desc(xpLedger.occurredAt))
      .limit(1),
  ]);
  const timezone = owner[0]?.timezone ?? "UTC";
  const today: LocalDate = localParts(timezone, now).date;
  return {
    timezone,
    today,
    days,
    pattern: productivityPattern(days, today),
    lastWorkAt: last[0] ? Date.parse(last[0].at) : null,
  };
}

/** Adopts the user's pet, with a personality fitted to how they have been working (written locally: instant). */
export async function adoptPet(
  env: Env,
  db: Database,
  userId: string,
  body: { species: PetSpecies; name: string },
): Promise<PetDto> {
  const history = await readWorkHistory(db, userId, Date.now());
  const temperament = temperamentFor(history.pattern);
  const petId = newId();
  const written = localPersonality({ seed: petSeed(userId, petId), species: body.species, temperament });
  const personality: Personality = { ...written, temperament, generated_by: "local" };
  return accepted(
    await petState(env, userId).adopt({
      pet_id: petId,
      user_id: userId,
      species: body.species,
      name: body.name,
      timezone: history.timezone,
      personality,
    }),
  ).value;
}

export async function viewPet(env: Env, userId: string): Promise<PetDto> {
  return accepted(await petState(env, userId).view(userId)).value;
}

export async function actOnPet(
  env: Env,
  userId: string,
  action: Extract<PetAction, { type: PetSocketAction }>,
  idempotency?: IdempotencyContext,
): Promise<{ value: PetOutcome; replayed: boolean }> {
  return accepted(await petState(env, userId).act(userId, action, idempotency));
}

export async function updatePet(
  env: Env,
  userId: string,
  patch: { name?: string | undefined; auto_evolve?: boolean | undefined },
): Promise<PetDto> {
  return accepted(await petState(env, userId).update(userId, patch)).value;
}

/**
 * Tells the user's pet their new time zone. Best effort: the profile change stands either way, and a
 * pet restored from D1 reads the zone afresh.
 */
export async function movePetToTimezone(env: Env, userId: string, timezone: string): Promise<void> {
  try {
    await petState(env, userId).setTimezone(userId, timezone);
  } catch (error) {
    console.warn(
      JSON.stringify({ level: "warn", message: "pet time zone update failed", error: loggableError(error) }),
    );
  }
}

/** The level status (BE-11): progress, stats, stage, abilities unlocked and the numbers they change. */
export function levelStatus(pet: PetDto) {
  const perks = perksAt(pet.level);
  return {
    level: pet.level,
    xp: pet.xp,
    xp_to_next_level: pet.xp_to_next_level,
    xp_for_level: pet.xp_for_level,
    hunger: pet.hunger,
    happiness: pet.happiness,
    evolution_stage: pet.evolution_stage,
    can_evolve: pet.can_evolve,
    needs_attention: pet.needs_attention,
    abilities: abilitiesAt(pet.level).map((a) => ({ ...a })),
    next_ability: ABILITIES.find((a) => a.unlocks_at_level > pet.level) ?? null,
    perks: {
      xp_boost_percent: perks.xpBoostPercent,
      max_streak_freezes: perks.maxStreakFreezes,
      stat_floor: perks.statFloor,
      play_cooldown_minutes: perks.playCooldownMinutes,
      happiness_decay_per_hour: HAPPINESS_PER_HOUR * perks.happinessDecayFactor,
      hunger_decay_per_hour: FULLNESS_PER_HOUR * perks.fullnessDecayFactor,
    },
  };
}

/**
 * A new personality for the pet (BE-12), matched to the user's work over the last four weeks (or the
 * pattern they name): Workers AI writes it when it can, the local writer otherwise.
 */
export async function generatePersonality(
  env: Env,
  db: Database,
  userId: string,
  override: ProductivityPattern | undefined,
): Promise<{ pattern: ProductivityPattern; personality: Personality; pet: PetDto }> {
  const [pet, history] = await Promise.all([viewPet(env, userId), readWorkHistory(db, userId, Date.now())]);
  const pattern = override ?? history.pattern;
  const personality = await writePersonality(env, {
    seed: petSeed(userId, pet.pet_id),
    species: pet.species,
    pattern,
    petName: pet.name,
  });
  const updated = accepted(await petState(env, userId).setPersonality(userId, personality)).value;
  return { pattern, personality, pet: updated };
}

/** What the pet says now, from its mood and the user's day (steps today, streak, time away). */
export async function dialogueOf(env: Env, db: Database, userId: string, now = Date.now()) {
  const [pet, history] = await Promise.all([viewPet(env, userId), readWorkHistory(db, userId, now)]);
  const stepsToday = history.days.find((d) => d.day === history.today)?.steps ?? 0;
  const streak = streakState(
    history.days.map((d) => d.day),
    history.today,
    streakRulesFor(pet.level),
  );
  const context = {
    steps_today: stepsToday,
    streak_days: streak.current_days,
    treats: pet.treats,
    hours_away:
      history.lastWorkAt === null ? null : Math.max(0, Math.floor((now - history.lastWorkAt) / 3_600_000)),
  };
  const line = dialogueLine(petSeed(userId, pet.pet_id), {
    ...context,
    name: pet.name,
    mood: pet.mood,
    temperament: pet.personality?.temperament ?? "patient",
    date: history.today,
  });
  return { line, mood: pet.mood, context };
}

/**
 * The creature's picture, drawn from D1's record (no need to wake its object): species, stage and
 * seed fix the creature, the mood its face. Undefined when the pet is not the user's.
 */
export async function portraitOf(
  db: Database,
  userId: string,
  petId: string,
  now = Date.now(),
): Promise<string | undefined> {
  const pet = await storedPetOf(db, userId, petId);
  if (!pet) return undefined;
  return portraitSvg({ seed: pet.seed, species: pet.species, stage: pet.stage, mood: moodOf(pet, now) });
}
