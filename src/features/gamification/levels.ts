/**
 * The level curve, Habitica's: the XP from level L to L+1 is round((L²/4 + 10L + 139.75) / 10) × 10,
 * so level 2 takes 150 XP, level 10 a total of 1,780 and level 50 29,200. Early levels come
 * within a day or two of ordinary work; later ones slow down without ever stalling. Pure.
 */
export const MAX_LEVEL = 100;

export function xpToNextLevel(level: number): number {
  return Math.round((level ** 2 * 0.25 + 10 * level + 139.75) / 10) * 10;
}

/** LEVEL_THRESHOLDS[L - 1] is the total XP at which level L begins (level 1 at 0). */
export const LEVEL_THRESHOLDS: readonly number[] = (() => {
  const thresholds = [0];
  for (let level = 1; level < MAX_LEVEL; level++) {
    thresholds.push((thresholds[level - 1] ?? 0) + xpToNextLevel(level));
  }
  return thresholds;
})();

export function levelForXp(totalXp: number): number {
  let level = 1;
  while (level < MAX_LEVEL && totalXp >= (LEVEL_THRESHOLDS[level] ?? Number.POSITIVE_INFINITY)) level++;
  return level;
}

export interface LevelProgress {
  level: number;
  total_xp: number;
  /** Total XP at which the current level began, and at which the next begins (null at the top). */
  current_level_xp: number;
  next_level_xp: number | null;
  xp_into_level: number;
  xp_to_next_level: number | null;
  percent: number;
}

export function levelProgress(totalXp: number): LevelProgress {
  const level = levelForXp(totalXp);
  const current = LEVEL_THRESHOLDS[level - 1] ?? 0;
  const next = level < MAX_LEVEL ? (LEVEL_THRESHOLDS[level] ?? null) : null;
  return {
    level,
    total_xp: totalXp,
    current_level_xp: current,
    next_level_xp: next,
    xp_into_level: totalXp - current,
    xp_to_next_level: next === null ? null : next - totalXp,
    percent: next === null ? 100 : Math.floor(((totalXp - current) / (next - current)) * 100),
  };
}

export interface Theme {
  id: string;
  name: string;
  unlocks_at_level: number;
}

/** Colour themes for the apps, unlocked by level: something new to look forward to early on. */
export const THEMES: readonly Theme[] = [
  { id: "slate", name: "Calm Slate", unlocks_at_level: 1 },
  { id: "sunrise", name: "Sunrise", unlocks_at_level: 2 },
  { id: "forest", name: "Forest", unlocks_at_level: 5 },
  { id: "ocean", name: "Deep Ocean", unlocks_at_level: 10 },
  { id: "aurora", name: "Aurora", unlocks_at_level: 15 },
  { id: "galaxy", name: "Galaxy", unlocks_at_level: 20 },
  { id: "golden-hour", name: "Golden Hour", unlocks_at_level: 30 },
  { id: "legend", name: "Legend", unlocks_at_level: 50 },
];

export const themesAt = (level: number) => THEMES.filter((t) => t.unlocks_at_level <= level);
