/**
 * What a person may choose to show others of their progress (share cards, a public profile): level,
 * streak, unlocked badges and lifetime totals. Read inside another feature's batch (one round trip
 * with its own reads); nothing here is private by itself, and nothing is shown unless chosen.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { gamificationStats, userBadges, userProgress } from "../../db/schema";
import type { D1Batch } from "../../lib/batch";
import { BADGES, type BadgeDefinition } from "./badges";
import { levelProgress } from "./levels";
import { countersOf } from "./queries";
import { streakIn } from "./service";

export interface UnlockedBadge extends Pick<BadgeDefinition, "id" | "name" | "description" | "tier"> {
  unlocked_at: string;
}

export interface PublicStanding {
  level: number;
  total_xp: number;
  streak: { current_days: number; longest_days: number };
  /** Newest first. */
  badges: UnlockedBadge[];
  totals: { tasks_completed: number; steps_completed: number; focus_sessions: number };
}

/** The reads of the standing added to `batch`, and the standing read back from its results. */
export function publicStandingIn(batch: D1Batch, db: Database, userId: string, now = Date.now()) {
  const streak = streakIn(batch, db, userId, now);
  const progress = batch.add(
    db.select({ totalXp: userProgress.totalXp }).from(userProgress).where(eq(userProgress.userId, userId)),
  );
  const unlocked = batch.add(
    db
      .select({ badgeId: userBadges.badgeId, unlockedAt: userBadges.unlockedAt })
      .from(userBadges)
      .where(eq(userBadges.userId, userId)),
  );
  const stats = batch.add(db.select().from(gamificationStats).where(eq(gamificationStats.userId, userId)));
  return (results: readonly unknown[]): PublicStanding => {
    const totalXp = progress(results)[0]?.totalXp ?? 0;
    const { current_days, longest_days } = streak(results);
    const when = new Map(unlocked(results).map((u) => [u.badgeId, u.unlockedAt]));
    const counters = countersOf(stats(results)[0]);
    return {
      level: levelProgress(totalXp).level,
      total_xp: totalXp,
      streak: { current_days, longest_days },
      badges: BADGES.flatMap((b) => {
        const at = when.get(b.id);
        return at === undefined
          ? []
          : [{ id: b.id, name: b.name, description: b.description, tier: b.tier, unlocked_at: at }];
      }).sort((a, b) => b.unlocked_at.localeCompare(a.unlocked_at) || a.id.localeCompare(b.id)),
      totals: {
        tasks_completed: counters.tasks_completed,
        steps_completed: counters.steps_completed,
        focus_sessions: counters.focus_sessions,
      },
    };
  };
}
