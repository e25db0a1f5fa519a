/**
 * What each event earns, as pure rules: the grant, the counters it moves, the challenge metrics it
 * advances, whether it makes the day active. No D1 here (tests run them on plain values); the event
 * handler turns the answer into guarded statements.
 */
import type { XpSource } from "../../db/schema";
import type { DomainEvent } from "../../lib/events/catalog";
import {
  BADGES,
  type BadgeDefinition,
  LONG_FOCUS_MINUTES,
  MORNING_BEFORE_HOUR,
  NIGHT_FROM_HOUR,
  NIGHT_UNTIL_HOUR,
  QUICK_WIN_HOURS,
} from "./badges";
import { CHALLENGE_LONG_FOCUS_MINUTES, type ChallengeMetric } from "./challenges";
import type { CounterMetric } from "./queries";
import { finishedWork } from "./work";
import { combinedMultiplier, type XpBreakdown } from "./xp";

/** Challenges of the local morning count until 10:00. */
export const CHALLENGE_MORNING_BEFORE_HOUR = 10;

export interface Grant {
  source: XpSource;
  source_key: string;
  breakdown: XpBreakdown;
  /** Whether bonus windows multiply it (an administrator's grant is exactly what they asked for). */
  bonus: boolean;
  /** Whether the pet's XP boost applies (finished work only). */
  pet: boolean;
}

export interface Earnings {
  grant: Grant | null;
  counters: Partial<Record<CounterMetric, number>>;
  challenges: ChallengeMetric[];
  /** A step done on this local day makes it an active day (streaks). */
  active_day: boolean;
}

/**
 * What `event` earns, at local `hour`; null when it earns nothing at all (not even a counter or a
 * check of badges), as for a focus session stopped in its first minutes.
 */
export function earningsOf(event: DomainEvent, hour: number, at: number): Earnings | null {
  const earned: Earnings = { grant: null, counters: {}, challenges: [], active_day: false };
  const count = (metric: CounterMetric) => {
    earned.counters[metric] = (earned.counters[metric] ?? 0) + 1;
  };
  const work = finishedWork(event);
  if (work)
    earned.grant = {
      source: work.kind,
      source_key: work.source_key,
      breakdown: work.xp,
      bonus: true,
      pet: true,
    };
  switch (event.type) {
    case "step.completed":
      count("steps_completed");
      earned.challenges.push("steps");
      if (hour < MORNING_BEFORE_HOUR) count("morning_steps");
      if (hour >= NIGHT_FROM_HOUR || hour < NIGHT_UNTIL_HOUR) count("night_steps");
      if (hour < CHALLENGE_MORNING_BEFORE_HOUR) earned.challenges.push("morning_steps");
      earned.active_day = true;
      return earned;
    case "task.completed": {
      count("tasks_completed");
      earned.challenges.push("tasks");
      if (event.data.priority === "high" || event.data.priority === "critical")
        earned.challenges.push("priority_tasks");
      const age = at - Date.parse(event.data.created_at);
      if (age >= 0 && age <= QUICK_WIN_HOURS * 3_600_000) count("quick_wins");
      return earned;
    }
    case "focus.completed": {
      if (!work) return null;
      const minutes = event.data.actual_minutes;
      count("focus_sessions");
      earned.challenges.push("focus_sessions");
      if (minutes >= LONG_FOCUS_MINUTES) count("long_focus_sessions");
      if (minutes >= CHALLENGE_LONG_FOCUS_MINUTES) earned.challenges.push("long_focus");
      return earned;
    }
    case "pet.fed":
      // Each feed is its own event (receipts make it count once); no XP, only the counter.
      count("pet_feeds");
      return earned;
    case "xp.manual": {
      const amount = Math.max(0, Math.round(event.data.amount));
      const breakdown = { base: amount, priority_bonus: 0, time_bonus: 0, total: amount };
      if (amount > 0)
        earned.grant = {
          source: "manual",
          source_key: `manual:${event.data.key}`,
          breakdown,
          bonus: false,
          pet: false,
        };
      return earned;
    }
    default:
      return earned;
  }
}

export interface BonusWindow {
  id: string;
  multiplier: number;
  startsAt: number;
  endsAt: number;
}

/** The bonus windows covering `at`, and their combined multiplier. */
export function activeBonus(windows: readonly BonusWindow[], at: number) {
  const active = windows.filter((w) => w.startsAt <= at && at < w.endsAt);
  return { active, multiplier: combinedMultiplier(active.map((w) => w.multiplier)) };
}

/** What the user's values are believed to be, to choose which badges are worth checking in SQL. */
export interface BadgeValues {
  longestStreak: number;
  level: number;
  counters: Record<CounterMetric, number>;
}

/** Badges not yet held whose threshold the believed values reach (each checked again in SQL). */
export function badgesWithinReach(values: BadgeValues, held: ReadonlySet<string>): BadgeDefinition[] {
  const believed = (badge: BadgeDefinition): number => {
    if (badge.metric === "longest_streak") return values.longestStreak;
    if (badge.metric === "level") return values.level;
    return values.counters[badge.metric];
  };
  return BADGES.filter((badge) => !held.has(badge.id) && believed(badge) >= badge.threshold);
}
