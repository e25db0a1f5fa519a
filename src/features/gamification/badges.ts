/**
 * Badge definitions: families of bronze, silver and gold tiers, each unlocked when one of the user's
 * counters reaches its threshold. This list is the source of truth; migration 0003 seeds the same rows
 * into D1's `badges` table (a test keeps the two equal). Pure.
 */

/** What a badge counts. Most are counters kept by the gamification event handler. */
export const BADGE_METRICS = [
  "steps_completed",
  "tasks_completed",
  "focus_sessions",
  "long_focus_sessions",
  "morning_steps",
  "night_steps",
  "quick_wins",
  "challenges_completed",
  "pet_feeds",
  "longest_streak",
  "level",
] as const;
export type BadgeMetric = (typeof BADGE_METRICS)[number];

export const BADGE_TIERS = ["bronze", "silver", "gold"] as const;
export type BadgeTier = (typeof BADGE_TIERS)[number];

export interface BadgeDefinition {
  id: string;
  family: string;
  tier: BadgeTier;
  name: string;
  description: string;
  metric: BadgeMetric;
  threshold: number;
}

/** Local hours that count as a morning step (before 9:00) and a night-owl step (22:00–03:59). */
export const MORNING_BEFORE_HOUR = 9;
export const NIGHT_FROM_HOUR = 22;
export const NIGHT_UNTIL_HOUR = 4;
/** A quick win is a task finished within this long of being created. */
export const QUICK_WIN_HOURS = 24;
/** A marathon focus session lasts at least this long. */
export const LONG_FOCUS_MINUTES = 50;

interface Family {
  family: string;
  metric: BadgeMetric;
  names: [string, string, string];
  describe: (threshold: number) => string;
  thresholds: [number, number, number];
}

const FAMILIES: Family[] = [
  {
    family: "streak",
    metric: "longest_streak",
    names: ["Spark", "Steady Flame", "Unstoppable"],
    describe: (n) => `Keep a ${n}-day streak`,
    thresholds: [3, 7, 30],
  },
  {
    family: "steps",
    metric: "steps_completed",
    names: ["First Steps", "Step Climber", "Step Master"],
    describe: (n) => `Complete ${n} micro-steps`,
    thresholds: [10, 100, 500],
  },
  {
    family: "tasks",
    metric: "tasks_completed",
    names: ["Finisher", "Closer", "Completionist"],
    describe: (n) => `Finish ${n} tasks`,
    thresholds: [5, 25, 100],
  },
  {
    family: "focus",
    metric: "focus_sessions",
    names: ["Focused", "In the Zone", "Focus Monk"],
    describe: (n) => `Complete ${n} focus sessions`,
    thresholds: [5, 25, 100],
  },
  {
    family: "marathon",
    metric: "long_focus_sessions",
    names: ["Marathon Runner", "Ultra Runner", "Iron Focus"],
    describe: (n) => `Complete ${n} focus sessions of ${LONG_FOCUS_MINUTES} minutes or more`,
    thresholds: [1, 10, 50],
  },
  {
    family: "morning",
    metric: "morning_steps",
    names: ["Early Bird", "Morning Warrior", "Dawn Legend"],
    describe: (n) => `Complete ${n} steps before ${MORNING_BEFORE_HOUR}:00`,
    thresholds: [5, 25, 100],
  },
  {
    family: "night",
    metric: "night_steps",
    names: ["Night Owl", "Midnight Oil", "Moonlight Maker"],
    describe: (n) => `Complete ${n} steps between ${NIGHT_FROM_HOUR}:00 and ${NIGHT_UNTIL_HOUR}:00`,
    thresholds: [5, 25, 100],
  },
  {
    family: "quick_wins",
    metric: "quick_wins",
    names: ["Quick Win", "Quick-Win Streaker", "Quick-Win Master"],
    describe: (n) => `Finish ${n} tasks within ${QUICK_WIN_HOURS} hours of capturing them`,
    thresholds: [3, 15, 50],
  },
  {
    family: "challenges",
    metric: "challenges_completed",
    names: ["Challenger", "Daily Hero", "Challenge Champion"],
    describe: (n) => `Complete ${n} daily challenges`,
    thresholds: [1, 10, 50],
  },
  {
    family: "pet",
    metric: "pet_feeds",
    names: ["Pet Pal", "Caretaker", "Best Friend"],
    describe: (n) => `Feed your companion ${n} times`,
    thresholds: [5, 25, 100],
  },
  {
    family: "level",
    metric: "level",
    names: ["Rising", "Seasoned", "Veteran"],
    describe: (n) => `Reach level ${n}`,
    thresholds: [5, 10, 25],
  },
];

export const BADGES: readonly BadgeDefinition[] = FAMILIES.flatMap((f) =>
  BADGE_TIERS.map((tier, i) => ({
    id: `${f.family}_${tier}`,
    family: f.family,
    tier,
    name: f.names[i] ?? f.family,
    description: f.describe(f.thresholds[i] ?? 0),
    metric: f.metric,
    threshold: f.thresholds[i] ?? 0,
  })),
);

export interface BadgeProgress {
  family: string;
  metric: BadgeMetric;
  value: number;
  /** The highest tier reached, and the next one to aim for (null once gold). */
  tier: BadgeTier | null;
  next: { id: string; tier: BadgeTier; name: string; threshold: number; remaining: number } | null;
}

/** Per family, where the user stands: the tier reached and how far the next one is. */
export function badgeProgress(values: Partial<Record<BadgeMetric, number>>): BadgeProgress[] {
  return FAMILIES.map((f) => {
    const value = values[f.metric] ?? 0;
    const tiers = BADGES.filter((b) => b.family === f.family);
    const reached = tiers.filter((b) => value >= b.threshold).at(-1);
    const next = tiers.find((b) => value < b.threshold);
    return {
      family: f.family,
      metric: f.metric,
      value,
      tier: reached?.tier ?? null,
      next: next
        ? {
            id: next.id,
            tier: next.tier,
            name: next.name,
            threshold: next.threshold,
            remaining: next.threshold - value,
          }
        : null,
    };
  });
}
