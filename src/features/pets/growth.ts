/**
 * How a pet grows: the level curve, evolution, and the abilities levels unlock. Pure.
 *
 * The curve is the seed's: the XP from level L to L+1 is 50 × L² (50, 200, 450, 800 … 120,050 at 49).
 * The seed also calls it exponential; it is quadratic — each level costs more, never explosively more,
 * which suits a companion fed by ordinary work. We keep the seed's formula and its true name.
 */

import { PET_SPECIES } from "../../db/schema/pets";

export { PET_SPECIES };
export type PetSpecies = (typeof PET_SPECIES)[number];

export const MAX_PET_LEVEL = 50;
const XP_PER_LEVEL_SQUARED = 50;

/** XP from `level` to the next; null at the top. */
export function xpToNextLevel(level: number): number | null {
  return level >= MAX_PET_LEVEL ? null : XP_PER_LEVEL_SQUARED * level ** 2;
}

/** Adds XP (into the current level) and levels up as many times as it reaches. */
export function addXp(
  level: number,
  xp: number,
  amount: number,
): { level: number; xp: number; leveled: number } {
  let l = level;
  let into = xp + Math.max(0, Math.floor(amount));
  let leveled = 0;
  for (let need = xpToNextLevel(l); need !== null && into >= need; need = xpToNextLevel(l)) {
    into -= need;
    l += 1;
    leveled += 1;
  }
  // At the top level XP stops at the last threshold: nothing is lost, there is just nowhere to go.
  if (l >= MAX_PET_LEVEL) into = 0;
  return { level: l, xp: into, leveled };
}

export const STAGES = [
  { stage: 1, name: "baby", from_level: 1 },
  { stage: 2, name: "teen", from_level: 5 },
  { stage: 3, name: "adult", from_level: 10 },
] as const;
export type Stage = 1 | 2 | 3;

/** The stage a level allows. */
export function stageForLevel(level: number): Stage {
  if (level >= 10) return 3;
  if (level >= 5) return 2;
  return 1;
}

export interface Ability {
  id: string;
  name: string;
  unlocks_at_level: number;
  description: string;
}

/** What levels unlock. The README shows this table; the care loop and the rewards read these values. */
export const ABILITIES: readonly Ability[] = [
  {
    id: "companion",
    name: "Companion",
    unlocks_at_level: 1,
    description: "Keeps you company; grows with your work",
  },
  { id: "sunny", name: "Sunny Disposition", unlocks_at_level: 3, description: "Happiness fades 25% slower" },
  { id: "hearty", name: "Hearty Appetite", unlocks_at_level: 5, description: "Fullness fades 25% slower" },
  {
    id: "playful",
    name: "Playful Spirit",
    unlocks_at_level: 8,
    description: "Can play every 5 minutes instead of 10",
  },
  {
    id: "focus_buddy",
    name: "Focus Buddy",
    unlocks_at_level: 10,
    description: "+5% XP on all completed work",
  },
  {
    id: "streak_shield",
    name: "Streak Shield",
    unlocks_at_level: 15,
    description: "Hold up to 3 streak freezes instead of 2",
  },
  {
    id: "steadfast",
    name: "Steadfast",
    unlocks_at_level: 20,
    description: "Fullness and happiness never fall below 20",
  },
  {
    id: "kindred",
    name: "Kindred Spirit",
    unlocks_at_level: 30,
    description: "+10% XP on all completed work",
  },
];

export const abilitiesAt = (level: number) => ABILITIES.filter((a) => a.unlocks_at_level <= level);
const has = (level: number, id: string) => abilitiesAt(level).some((a) => a.id === id);

/** The numbers a level's abilities change. */
export function perksAt(level: number) {
  return {
    happinessDecayFactor: has(level, "sunny") ? 0.75 : 1,
    fullnessDecayFactor: has(level, "hearty") ? 0.75 : 1,
    playCooldownMinutes: has(level, "playful") ? 5 : 10,
    statFloor: has(level, "steadfast") ? 20 : 10,
    /** Extra XP on the user's completed work, in percent. */
    xpBoostPercent: has(level, "kindred") ? 10 : has(level, "focus_buddy") ? 5 : 0,
    maxStreakFreezes: has(level, "streak_shield") ? 3 : 2,
  };
}
