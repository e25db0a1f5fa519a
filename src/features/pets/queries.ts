/**
 * The pet's durable record in D1: the row the PetState object writes after each change (a snapshot of
 * its state), the interactions log, and reading them back — to restore an object that lost its storage,
 * to draw a picture without waking the object, to list history.
 */
import { and, desc, eq, lt } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { petInteractions, userPets, users } from "../../db/schema";
import { pageOf, rowsToFetch } from "../../lib/pagination";
import type { PetState } from "./care";
import type { Stage } from "./growth";

/** One logged interaction, as the object hands it to D1. */
export interface InteractionWrite {
  id: string;
  pet_id: string;
  user_id: string;
  kind: string;
  xp: number;
  hunger_delta: number;
  happiness_delta: number;
  at: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The statements for pending writes: the latest snapshot (older ones are superseded) and new interactions. */
export function persistStatements(
  db: Database,
  writes: { snapshots: PetState[]; interactions: InteractionWrite[] },
): BatchItem<"sqlite">[] {
  const statements: BatchItem<"sqlite">[] = [];
  const latest = writes.snapshots.at(-1);
  if (latest) {
    const now = iso(Date.now());
    const values = {
      species: latest.species,
      name: latest.name,
      seed: latest.seed,
      level: latest.level,
      xp: latest.xp,
      totalXp: latest.total_xp,
      evolutionStage: latest.stage,
      hunger: latest.fullness,
      happiness: latest.happiness,
      statsAt: iso(latest.stats_at),
      treats: latest.treats,
      needsAttention: latest.needs_attention,
      autoEvolve: latest.auto_evolve,
      personality: latest.personality,
      updatedAt: now,
    };
    statements.push(
      db
        .insert(userPets)
        .values({ id: latest.pet_id, userId: latest.user_id, createdAt: iso(latest.created_at), ...values })
        .onConflictDoUpdate({ target: userPets.id, set: values }),
    );
  }
  for (const w of writes.interactions) {
    statements.push(
      db
        .insert(petInteractions)
        .values({
          id: w.id,
          petId: w.pet_id,
          userId: w.user_id,
          kind: w.kind,
          xp: w.xp,
          hungerDelta: w.hunger_delta,
          happinessDelta: w.happiness_delta,
          at: w.at,
        })
        .onConflictDoNothing(),
    );
  }
  return statements;
}

type PetRow = typeof userPets.$inferSelect;

/** A state rebuilt from the D1 row (cooldowns start afresh: they are minutes long, and kind to reset). */
export function rowToState(row: PetRow, timezone: string): PetState {
  return {
    pet_id: row.id,
    user_id: row.userId,
    species: row.species,
    name: row.name,
    seed: row.seed,
    timezone,
    level: row.level,
    xp: row.xp,
    total_xp: row.totalXp,
    stage: Math.min(3, Math.max(1, row.evolutionStage)) as Stage,
    auto_evolve: row.autoEvolve,
    fullness: row.hunger,
    happiness: row.happiness,
    stats_at: Date.parse(row.statsAt),
    treats: row.treats,
    needs_attention: row.needsAttention,
    play_ready_at: 0,
    pet_ready_at: 0,
    fed_event_ready_at: 0,
    personality: row.personality ?? null,
    created_at: Date.parse(row.createdAt),
  };
}

/** The user's pet as D1 has it, with the user's time zone (only that pet, when `petId` is given). */
export async function storedPetOf(
  db: Database,
  userId: string,
  petId?: string,
): Promise<PetState | undefined> {
  const [row] = await db
    .select({ pet: userPets, timezone: users.timezone })
    .from(userPets)
    .innerJoin(users, eq(users.id, userPets.userId))
    .where(and(eq(userPets.userId, userId), petId === undefined ? undefined : eq(userPets.id, petId)))
    .all();
  return row ? rowToState(row.pet, row.timezone) : undefined;
}

export async function listInteractions(db: Database, userId: string, limit: number, afterId: string | null) {
  const rows = await db
    .select()
    .from(petInteractions)
    .where(and(eq(petInteractions.userId, userId), afterId ? lt(petInteractions.id, afterId) : undefined))
    .orderBy(desc(petInteractions.id))
    .limit(rowsToFetch(limit))
    .all();
  return pageOf(
    rows,
    limit,
    (r) => ({
      id: r.id,
      kind: r.kind,
      xp: r.xp,
      hunger_delta: r.hungerDelta,
      happiness_delta: r.happinessDelta,
      at: r.at,
    }),
    (r) => r.id,
  );
}
