/**
 * The gamification handler's one read for a whole delivery: each user's time zone, totals, counters,
 * badges, active days, challenge progress, pet level and the sources already paid, plus the bonus
 * windows around the events. It only spares statements that cannot matter: every threshold is checked
 * again in SQL inside the batch.
 */
import { and, gte, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db";
import {
  activityDays,
  challengeProgress,
  gamificationStats,
  userBadges,
  userPets,
  userProgress,
  users,
} from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import type { DomainEvent } from "../../lib/events/catalog";
import { STREAK_LOOKBACK_DAYS } from "../../lib/streaks";
import { addDays, type LocalDate } from "../../lib/time";
import type { BonusWindow } from "./event-rules";
import { bonusWindowsQuery, type CounterMetric, countersOf } from "./queries";
import { sourceKeyOf } from "./work";

/** Row values per `(user_id, source_key) IN (…)`: two bound parameters each, under D1's 100. */
const PAIRS_PER_STATEMENT = 45;

export interface ChallengeState {
  progress: number;
  completed: boolean;
}

/** What the read learned about one user; kept current as the delivery's events are planned. */
export interface UserContext {
  timezone: string;
  totalXp: number;
  level: number;
  longestStreak: number;
  counters: Record<CounterMetric, number>;
  badges: Set<string>;
  days: Set<LocalDate>;
  challenges: Map<string, ChallengeState>;
  /** Source keys that have paid already (this delivery included). */
  paid: Set<string>;
  /** The pet's level (its abilities boost XP and hold more streak freezes); null without a pet. */
  petLevel: number | null;
}

export async function readContext(db: Database, events: readonly DomainEvent[]) {
  const userIds = [...new Set(events.map((e) => e.user_id))];
  const times = events.map((e) => Date.parse(e.occurred_at)).filter((t) => !Number.isNaN(t));
  const earliest = Math.min(...times, Date.now());
  const latest = Math.max(...times, Date.now());
  // Local dates reach a day either side of UTC ones.
  const firstDate = addDays(new Date(earliest).toISOString().slice(0, 10), -1);
  const lastDate = addDays(new Date(latest).toISOString().slice(0, 10), 1);
  const since = addDays(firstDate, -STREAK_LOOKBACK_DAYS);
  const contexts = new Map<string, UserContext>();
  const windows = new Map<string, BonusWindow>();
  const pairs = events.flatMap((e) => {
    const key = sourceKeyOf(e);
    return key ? [[e.user_id, key] as const] : [];
  });
  const paidRows: { user_id: string; source_key: string }[] = [];
  for (const chunk of chunkList(pairs, PAIRS_PER_STATEMENT)) {
    const values = sql.join(
      chunk.map(([u, k]) => sql`(${u}, ${k})`),
      sql`, `,
    );
    paidRows.push(
      ...(await db.all<{ user_id: string; source_key: string }>(
        sql`SELECT user_id, source_key FROM xp_ledger WHERE (user_id, source_key) IN (VALUES ${values})`,
      )),
    );
  }

  // 90 ids per statement keeps each under D1's 100 bound parameters.
  for (const ids of chunkList(userIds, 90)) {
    const [owners, progress, stats, unlocked, days, progressRows, bonus, pets] = await db.batch([
      db.select({ id: users.id, timezone: users.timezone }).from(users).where(inArray(users.id, ids)),
      db.select().from(userProgress).where(inArray(userProgress.userId, ids)),
      db.select().from(gamificationStats).where(inArray(gamificationStats.userId, ids)),
      db.select().from(userBadges).where(inArray(userBadges.userId, ids)),
      db
        .select({ userId: activityDays.userId, day: activityDays.day })
        .from(activityDays)
        .where(and(inArray(activityDays.userId, ids), gte(activityDays.day, since))),
      db
        .select()
        .from(challengeProgress)
        .where(
          and(
            inArray(challengeProgress.userId, ids),
            sql`${challengeProgress.date} BETWEEN ${firstDate} AND ${lastDate}`,
          ),
        ),
      bonusWindowsQuery(db, new Date(earliest).toISOString(), new Date(latest).toISOString()),
      db
        .select({ userId: userPets.userId, level: userPets.level })
        .from(userPets)
        .where(inArray(userPets.userId, ids)),
    ]);
    for (const owner of owners) {
      const p = progress.find((r) => r.userId === owner.id);
      contexts.set(owner.id, {
        timezone: owner.timezone,
        totalXp: p?.totalXp ?? 0,
        level: p?.level ?? 1,
        longestStreak: p?.longestStreak ?? 0,
        counters: countersOf(stats.find((r) => r.userId === owner.id)),
        badges: new Set(unlocked.filter((b) => b.userId === owner.id).map((b) => b.badgeId)),
        days: new Set(days.filter((d) => d.userId === owner.id).map((d) => d.day)),
        challenges: new Map(
          progressRows
            .filter((r) => r.userId === owner.id)
            .map((r) => [r.challengeId, { progress: r.progress, completed: r.completedAt !== null }]),
        ),
        paid: new Set(paidRows.filter((r) => r.user_id === owner.id).map((r) => r.source_key)),
        petLevel: pets.find((r) => r.userId === owner.id)?.level ?? null,
      });
    }
    for (const row of bonus) {
      windows.set(row.id, {
        id: row.id,
        multiplier: row.multiplier,
        startsAt: Date.parse(row.startsAt),
        endsAt: Date.parse(row.endsAt),
      });
    }
  }
  return { contexts, windows: [...windows.values()] };
}
