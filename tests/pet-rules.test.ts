import { describe, expect, it } from "vitest";
import { streakRulesFor } from "../src/features/gamification/streak-rules";
import {
  ATTENTION_BELOW,
  awakeAndAsleep,
  moodOf,
  nextAttentionAt,
  type PetAction,
  type PetEffect,
  type PetState,
  statsAt,
  stepPet,
  toPetView,
} from "../src/features/pets/care";
import { abilitiesAt, addXp, perksAt, stageForLevel, xpToNextLevel } from "../src/features/pets/growth";
import { DAILY_FREEZES, streakState } from "../src/lib/streaks";
import { addDays } from "../src/lib/time";
import { petState } from "./helpers/pet-state";

const HOUR = 3_600_000;
// 09:00 UTC on a Wednesday: daytime for a pet in UTC.
const T0 = Date.parse("2026-11-25T09:00:00.000Z");

const pet = (overrides: Partial<PetState> = {}): PetState =>
  petState({ stats_at: T0, created_at: T0, ...overrides });

function act(state: PetState, action: PetAction | null, at: number) {
  const result = stepPet(state, action, at);
  if (result.error) throw new Error(`${action?.type} refused: ${JSON.stringify(result.error)}`);
  return result;
}

const kinds = (effects: PetEffect[]) =>
  effects.flatMap((e) => (e.type === "event" ? [e.event_type] : e.type === "signal" ? [e.signal] : []));

describe("growth", () => {
  it("follows 50 × level² to the next level, up to level 50", () => {
    expect([1, 2, 3, 10, 49].map(xpToNextLevel)).toEqual([50, 200, 450, 5000, 120_050]);
    expect(xpToNextLevel(50)).toBeNull();
  });

  it("levels up as many times as a big feed reaches, keeping the rest", () => {
    expect(addXp(1, 0, 300)).toEqual({ level: 3, xp: 50, leveled: 2 });
    expect(addXp(1, 40, 9)).toEqual({ level: 1, xp: 49, leveled: 0 });
    expect(addXp(49, 0, 10_000_000)).toEqual({ level: 50, xp: 0, leveled: 1 });
  });

  it("evolves baby → teen at level 5 → adult at level 10", () => {
    expect([1, 4, 5, 9, 10, 50].map(stageForLevel)).toEqual([1, 1, 2, 2, 3, 3]);
  });

  it("unlocks abilities by level, which change the care numbers and the rewards", () => {
    expect(abilitiesAt(1).map((a) => a.id)).toEqual(["companion"]);
    expect(abilitiesAt(10).map((a) => a.id)).toEqual([
      "companion",
      "sunny",
      "hearty",
      "playful",
      "focus_buddy",
    ]);
    expect(perksAt(1)).toEqual({
      happinessDecayFactor: 1,
      fullnessDecayFactor: 1,
      playCooldownMinutes: 10,
      statFloor: 10,
      xpBoostPercent: 0,
      maxStreakFreezes: 2,
    });
    expect(perksAt(30)).toMatchObject({
      xpBoostPercent: 10,
      maxStreakFreezes: 3,
      statFloor: 20,
      playCooldownMinutes: 5,
    });
  });
});

describe("fading", () => {
  it("loses 4 fullness and 2 happiness an hour by day, half that at night", () => {
    expect(statsAt(pet(), T0 + HOUR)).toEqual({ fullness: 76, happiness: 78 });
    // 23:00 to 01:00 UTC is night.
    const night = Date.parse("2026-11-25T23:00:00.000Z");
    expect(statsAt(pet({ stats_at: night }), night + 2 * HOUR)).toEqual({ fullness: 76, happiness: 78 });
    expect(
      awakeAndAsleep(Date.parse("2026-11-25T20:30:00Z"), Date.parse("2026-11-25T23:30:00Z"), "UTC"),
    ).toEqual({
      awake: 1.5,
      asleep: 1.5,
    });
  });

  it("follows the user's own night: 23:00 UTC is afternoon in Los Angeles", () => {
    const at = Date.parse("2026-11-25T23:00:00.000Z");
    expect(statsAt(pet({ stats_at: at, timezone: "America/Los_Angeles" }), at + HOUR)).toEqual({
      fullness: 76,
      happiness: 78,
    });
  });

  it("stops at the floor: a week away leaves a sad pet, never a ruined one", () => {
    const week = statsAt(pet({ fullness: 100, happiness: 100 }), T0 + 7 * 24 * HOUR);
    expect(week).toEqual({ fullness: 10, happiness: 10 });
    const steadfast = statsAt(pet({ level: 20, fullness: 100, happiness: 100 }), T0 + 7 * 24 * HOUR);
    expect(steadfast).toEqual({ fullness: 20, happiness: 20 });
  });

  it("fades slower with Sunny Disposition and Hearty Appetite", () => {
    expect(statsAt(pet({ level: 5 }), T0 + 4 * HOUR)).toEqual({ fullness: 68, happiness: 74 });
  });

  it("knows when attention will be needed, and alarms are not needed once it is", () => {
    // Happiness 40 loses 2/h: under 30 after 5 hours (09:00 → 14:00 UTC, all daytime).
    const when = nextAttentionAt(pet({ fullness: 100, happiness: 40 }));
    expect(when).toBeGreaterThan(T0 + 5 * HOUR - 1000);
    expect(when).toBeLessThan(T0 + 5 * HOUR + 1000);
    expect(nextAttentionAt(pet({ fullness: 20, happiness: 90 }))).toBeNull();
  });

  it("shows its mood", () => {
    expect(moodOf(pet({ fullness: 90, happiness: 90 }), T0)).toBe("playful");
    expect(moodOf(pet({ fullness: 30, happiness: 90 }), T0)).toBe("hungry");
    expect(moodOf(pet({ fullness: 90, happiness: 20 }), T0)).toBe("sad");
    expect(moodOf(pet({ fullness: 60, happiness: 55 }), T0)).toBe("happy");
    const midnight = Date.parse("2026-11-26T00:30:00.000Z");
    expect(moodOf(pet({ fullness: 90, happiness: 90, stats_at: midnight }), midnight)).toBe("sleepy");
  });
});

describe("care", () => {
  it("feeds with treats only, levelling up and evolving past the thresholds in one go", () => {
    const refused = stepPet(pet({ treats: 10 }), { type: "feed", xp: 50 }, T0);
    expect(refused.error).toMatchObject({ status: 409, code: "not_enough_treats" });
    const { state, effects } = act(pet({ treats: 2000, level: 4, xp: 700 }), { type: "feed", xp: 2000 }, T0);
    // 700 + 2000 into level 4 (800 to go), level 5 (1250), level 6 (1800): reaches level 6 with 650 in.
    expect(state).toMatchObject({ level: 6, xp: 650, stage: 2, treats: 0, fullness: 100, happiness: 100 });
    expect(kinds(effects)).toEqual([
      "fed",
      "pet.leveled_up",
      "leveled_up",
      "pet.evolved",
      "evolved",
      "pet.fed",
    ]);
  });

  it("says pet.fed at most every 15 minutes, however many snacks", () => {
    let s = pet({ treats: 100 });
    const events: string[] = [];
    for (const minutes of [0, 1, 2, 16]) {
      const r = act(s, { type: "feed", xp: 5 }, T0 + minutes * 60_000);
      s = r.state;
      events.push(...kinds(r.effects).filter((k) => k === "pet.fed"));
    }
    expect(events).toEqual(["pet.fed", "pet.fed"]);
  });

  it("lets play and petting lift happiness, with cooldowns so spamming earns nothing", () => {
    const played = act(pet({ happiness: 50 }), { type: "play" }, T0);
    expect(played.state).toMatchObject({ happiness: 65, fullness: 77, xp: 2 });
    expect(stepPet(played.state, { type: "play" }, T0 + 9 * 60_000).error).toMatchObject({
      code: "cooldown",
      retry_after_seconds: 60,
    });
    expect(act(played.state, { type: "play" }, T0 + 10 * 60_000).state.xp).toBe(4);
    const petted = act(pet(), { type: "pet" }, T0);
    expect(stepPet(petted.state, { type: "pet" }, T0 + 30_000).error).toMatchObject({ code: "cooldown" });
    // Playful Spirit (level 8) halves the play cooldown.
    const playful = act(pet({ level: 8 }), { type: "play" }, T0);
    expect(stepPet(playful.state, { type: "play" }, T0 + 5 * 60_000).error).toBeNull();
  });

  it("is nourished by finished work: treats to feed, and a little care at once", () => {
    const { state } = act(
      pet({ fullness: 50, happiness: 50 }),
      { type: "nourish", kind: "task", xp: 31 },
      T0,
    );
    expect(state).toMatchObject({ treats: 31, fullness: 60, happiness: 55, xp: 0 });
  });

  it("waits for an explicit evolve when automatic evolution is off", () => {
    const s = act(
      pet({ auto_evolve: false, treats: 300, level: 4, xp: 750 }),
      { type: "feed", xp: 100 },
      T0,
    ).state;
    expect(s).toMatchObject({ level: 5, stage: 1 });
    expect(toPetView(s, T0).can_evolve).toBe(true);
    const evolved = act(s, { type: "evolve" }, T0);
    expect(evolved.state.stage).toBe(2);
    expect(kinds(evolved.effects)).toEqual(["pet.evolved", "evolved"]);
    expect(stepPet(evolved.state, { type: "evolve" }, T0).error).toMatchObject({
      status: 409,
      code: "cannot_evolve",
    });
  });

  it("asks for attention once per episode, and again after being cared for and neglected", () => {
    let s = pet({ fullness: 100, happiness: 32 });
    const first = act(s, null, T0 + 2 * HOUR);
    expect(kinds(first.effects)).toEqual(["pet.needs_attention", "needs_attention"]);
    expect(first.state.needs_attention).toBe(true);
    expect(act(first.state, null, T0 + 3 * HOUR).effects).toEqual([]);
    s = act(first.state, { type: "pet" }, T0 + 3 * HOUR).state;
    s = act(s, { type: "play" }, T0 + 3 * HOUR).state;
    expect(s.needs_attention).toBe(false);
    const again = act(s, null, T0 + 20 * HOUR);
    expect(kinds(again.effects)).toContain("pet.needs_attention");
    expect(toPetView(again.state, T0 + 20 * HOUR).happiness).toBeLessThan(ATTENTION_BELOW);
  });
});

describe("a pet's rewards beyond itself", () => {
  it("Streak Shield lets the user hold a third streak freeze from pet level 15", () => {
    expect(streakRulesFor(null)).toEqual(DAILY_FREEZES);
    expect(streakRulesFor(14).max).toBe(2);
    expect(streakRulesFor(15).max).toBe(3);
    // 21 active days earn three freezes; three missed days are then all covered with the shield only.
    const days = Array.from({ length: 21 }, (_, i) => addDays("2026-10-01", i));
    const back = addDays("2026-10-01", 24);
    expect(streakState([...days, back], back, streakRulesFor(15)).current_days).toBe(22);
    expect(streakState([...days, back], back, streakRulesFor(1)).current_days).toBe(1);
  });
});
