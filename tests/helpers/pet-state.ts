import type { PetState } from "../../src/features/pets/care";

/**
 * A pet's stored state for the pure rules (no runtime here: pure tests may name dates): a level-1 fox in
 * UTC at 80/80, as of `stats_at`.
 */
export function petState(overrides: Partial<PetState> = {}): PetState {
  const at = overrides.stats_at ?? Date.parse("2026-11-25T09:00:00.000Z");
  return {
    pet_id: "p1",
    user_id: "u1",
    species: "fox",
    name: "Ember",
    seed: "seed",
    timezone: "UTC",
    level: 1,
    xp: 0,
    total_xp: 0,
    stage: 1,
    auto_evolve: true,
    fullness: 80,
    happiness: 80,
    stats_at: at,
    treats: 0,
    needs_attention: false,
    play_ready_at: 0,
    pet_ready_at: 0,
    fed_event_ready_at: 0,
    personality: null,
    created_at: at,
    ...overrides,
  };
}
