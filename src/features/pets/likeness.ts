/**
 * The creature as others may see it (share cards, a public profile): name, species, level, stage, the
 * mood its face shows now, and the seed its picture is drawn from. Read from D1's record (no need to
 * wake its object) inside another feature's batch.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { userPets, users } from "../../db/schema";
import type { D1Batch } from "../../lib/batch";
import { type Mood, moodOf } from "./care";
import type { PetSpecies, Stage } from "./growth";
import { rowToState } from "./queries";

export interface Likeness {
  name: string;
  species: PetSpecies;
  level: number;
  stage: Stage;
  mood: Mood;
  seed: string;
}

/** The read of the user's creature added to `batch`; the reader answers null when none is adopted. */
export function likenessIn(batch: D1Batch, db: Database, userId: string, now = Date.now()) {
  const read = batch.add(
    db
      .select({ pet: userPets, timezone: users.timezone })
      .from(userPets)
      .innerJoin(users, eq(users.id, userPets.userId))
      .where(eq(userPets.userId, userId))
      .limit(1),
  );
  return (results: readonly unknown[]): Likeness | null => {
    const row = read(results)[0];
    if (!row) return null;
    const state = rowToState(row.pet, row.timezone);
    return {
      name: state.name,
      species: state.species,
      level: state.level,
      stage: state.stage,
      mood: moodOf(state, now),
      seed: state.seed,
    };
  };
}
