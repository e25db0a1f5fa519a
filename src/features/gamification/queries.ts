/**
 * Gamification's D1 statements: the counters' columns and the bonus windows read (shared by the event
 * handler and the service); the event handler's one read for a whole delivery; and the builders of its
 * guarded statements, one per effect. Every effect is guarded in SQL (the ledger row that pays, a
 * threshold checked against the real values), so what the read believed decides only which statements
 * are sent, never what they change.
 */
import { and, gte, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import {
  activityDays,
  bonusEvents,
  challengeProgress,
  gamificationStats,
  userBadges,
  userPets,
  userProgress,
  users,
} from "../../db/schema";
import { rawStatement } from "../../lib/batch";
import { chunkList } from "../../lib/chunk";
import type { DomainEvent } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { STREAK_LOOKBACK_DAYS } from "../../lib/streaks";
import { addDays, type LocalDate } from "../../lib/time";
import type { BadgeDefinition, BadgeMetric } from "./badges";
import type { DailyChallenge } from "./challenges";
import type { BonusWindow } from "./event-rules";
import { sourceKeyOf } from "./work";
import { BOARD_XP_PER_DAY } from "./xp";

type StatsRow = typeof gamificationStats.$inferSelect;

/** The counters of gamification_stats: badge metric → SQL column and row field. */
export const COUNTERS = {
  steps_completed: { column: "steps_completed", field: "stepsCompleted" },
  tasks_completed: { column: "tasks_completed", field: "tasksCompleted" },
  focus_sessions: { column: "focus_sessions", field: "focusSessions" },
  long_focus_sessions: { column: "long_focus_sessions", field: "longFocusSessions" },
  morning_steps: { column: "morning_steps", field: "morningSteps" },
  night_steps: { column: "night_steps", field: "nightSteps" },
  quick_wins: { column: "quick_wins", field: "quickWins" },
  challenges_completed: { column: "challenges_completed", field: "challengesCompleted" },
  pet_feeds: { column: "pet_feeds", field: "petFeeds" },
} as const satisfies Partial<Record<BadgeMetric, { column: string; field: keyof StatsRow }>>;
export type CounterMetric = keyof typeof COUNTERS;

/** The user's counters from their stats row (all zero without one). */
export function countersOf(row: StatsRow | undefined): Record<CounterMetric, number> {
  const out = {} as Record<CounterMetric, number>;
  for (const [metric, { field }] of Object.entries(COUNTERS) as [
    CounterMetric,
    { field: keyof StatsRow },
  ][]) {
    const value = row?.[field];
    out[metric] = typeof value === "number" ? value : 0;
  }
  return out;
}

/** Bonus windows, not cancelled, that overlap [from, to] (a moment when from = to). */
export function bonusWindowsQuery(db: Database, from: string, to: string) {
  return db
    .select()
    .from(bonusEvents)
    .where(
      and(
        sql`${bonusEvents.cancelledAt} IS NULL`,
        sql`${bonusEvents.startsAt} <= ${to}`,
        sql`${bonusEvents.endsAt} > ${from}`,
      ),
    );
}

// The event handler's one read for a whole delivery.

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

/**
 * The handler's one read for a whole delivery: each user's time zone, totals, counters, badges, active
 * days, challenge progress, pet level and the sources already paid, plus the bonus windows around the
 * events. It only spares statements that cannot matter: every threshold is checked again in SQL.
 */
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

// The event handler's statement builders.

type Statement = BatchItem<"sqlite">;

/** Who and when the statements of one event are about. */
export interface Subject {
  db: Database;
  user: string;
  /** The event being handled (ledger rows name it). */
  eventId: string;
  /** When it happened. */
  atIso: string;
  /** When it is handled. */
  now: string;
}

/** True once the ledger row `id` is in the batch: the guard of everything a grant pays for. */
export const ledgerWritten = (id: string): SQL => sql`EXISTS (SELECT 1 FROM xp_ledger WHERE id = ${id})`;

/** One ledger row, written only when `guard` holds, and once per source key. */
export function ledgerRow(
  s: Subject,
  row: { id: string; source: string; sourceKey: string; amount: number; breakdown: object; guard: SQL },
): Statement {
  return rawStatement(
    s.db,
    sql`INSERT INTO xp_ledger (id, user_id, source, source_key, amount, breakdown, event_id, occurred_at, created_at)
    SELECT ${row.id}, ${s.user}, ${row.source}, ${row.sourceKey}, ${row.amount}, ${JSON.stringify(row.breakdown)},
      ${s.eventId}, ${s.atIso}, ${s.now}
    WHERE ${row.guard}
    ON CONFLICT (user_id, source_key) DO NOTHING`,
  );
}

/**
 * A grant's totals: the user's XP, the week's, and the boards' (at most BOARD_XP_PER_DAY a day, from
 * the room the row had: SQLite evaluates every SET expression on the old row). A grant processed for
 * an older day than the row's (two deliveries racing past midnight) counts against the newer day's
 * room, so no day's count is ever reset or exceeded.
 */
export function progressGrant(s: Subject, total: number, week: LocalDate, written: SQL): Statement {
  const day = s.now.slice(0, 10);
  const firstOfDay = Math.min(total, BOARD_XP_PER_DAY);
  const boardGain = sql`(CASE WHEN board_day >= ${day}
    THEN max(0, min(${total}, ${BOARD_XP_PER_DAY} - board_day_xp)) ELSE ${firstOfDay} END)`;
  return rawStatement(
    s.db,
    sql`INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, board_xp, board_week_xp,
      board_day, board_day_xp, version, leaderboard_opt_in, updated_at)
    SELECT ${s.user}, ${total}, 1, ${week}, ${total}, ${firstOfDay}, ${firstOfDay}, ${day}, ${firstOfDay},
      1, 0, ${s.now} WHERE ${written}
    ON CONFLICT (user_id) DO UPDATE SET
      total_xp = total_xp + excluded.total_xp,
      week_xp = CASE WHEN week_start = excluded.week_start THEN week_xp + excluded.week_xp
                     WHEN week_start < excluded.week_start THEN excluded.week_xp ELSE week_xp END,
      board_xp = board_xp + ${boardGain},
      board_week_xp = CASE WHEN week_start = excluded.week_start THEN board_week_xp + ${boardGain}
                           WHEN week_start < excluded.week_start THEN ${boardGain} ELSE board_week_xp END,
      board_day_xp = CASE WHEN board_day >= ${day} THEN board_day_xp + ${boardGain} ELSE ${firstOfDay} END,
      board_day = max(board_day, ${day}),
      week_start = max(week_start, excluded.week_start),
      version = version + 1,
      updated_at = excluded.updated_at`,
  );
}

/** The counters an event moved, in one upsert, written only if the event counted. */
export function counterUpsert(
  s: Subject,
  increments: Partial<Record<CounterMetric, number>>,
  counted: SQL,
): Statement | null {
  const entries = Object.entries(increments) as [CounterMetric, number][];
  if (entries.length === 0) return null;
  // Column names and amounts come from the constants of the rules, never from input.
  const columns = entries.map(([metric]) => COUNTERS[metric].column).join(", ");
  const amounts = entries.map(([, n]) => String(n)).join(", ");
  const set = entries
    .map(([metric, n]) => `${COUNTERS[metric].column} = ${COUNTERS[metric].column} + ${n}`)
    .join(", ");
  return rawStatement(
    s.db,
    sql`INSERT INTO gamification_stats (user_id, ${sql.raw(columns)}, updated_at)
      SELECT ${s.user}, ${sql.raw(amounts)}, ${s.now} WHERE ${counted}
      ON CONFLICT (user_id) DO UPDATE SET ${sql.raw(set)}, updated_at = excluded.updated_at`,
  );
}

/** The local day joins the user's active days (streaks). */
export function activeDay(s: Subject, date: LocalDate, counted: SQL): Statement {
  return rawStatement(
    s.db,
    sql`INSERT INTO activity_days (user_id, day, steps) SELECT ${s.user}, ${date}, 1 WHERE ${counted}
      ON CONFLICT (user_id, day) DO UPDATE SET steps = steps + 1`,
  );
}

/** A lower bound of the longest streak, from what the read saw: max() keeps it from ever going down. */
export function longestStreakAtLeast(s: Subject, longest: number, counted: SQL): Statement {
  return rawStatement(
    s.db,
    sql`UPDATE user_progress SET longest_streak = max(longest_streak, ${longest})
      WHERE user_id = ${s.user} AND ${counted}`,
  );
}

/** One unit of progress on a challenge. */
export function challengeStep(s: Subject, challenge: DailyChallenge, counted: SQL): Statement {
  return rawStatement(
    s.db,
    sql`INSERT INTO challenge_progress (user_id, challenge_id, date, progress)
      SELECT ${s.user}, ${challenge.challenge_id}, ${challenge.date}, 1 WHERE ${counted}
      ON CONFLICT (user_id, challenge_id) DO UPDATE SET progress = progress + 1`,
  );
}

/** True when the challenge's real progress has reached its target. */
export const challengeReached = (s: Subject, challenge: DailyChallenge): SQL =>
  sql`EXISTS (SELECT 1 FROM challenge_progress WHERE user_id = ${s.user}
    AND challenge_id = ${challenge.challenge_id} AND progress >= ${challenge.target})`;

/** Marks the challenge completed, once its real progress reached the target. */
export function challengeCompletion(s: Subject, challenge: DailyChallenge): Statement {
  return rawStatement(
    s.db,
    sql`UPDATE challenge_progress SET completed_at = ${s.atIso}
      WHERE user_id = ${s.user} AND challenge_id = ${challenge.challenge_id} AND completed_at IS NULL
        AND progress >= ${challenge.target}`,
  );
}

/** One more completed challenge on the counters, when its XP was paid. */
export function challengeCounted(s: Subject, paid: SQL): Statement {
  return rawStatement(
    s.db,
    sql`INSERT INTO gamification_stats (user_id, challenges_completed, updated_at)
      SELECT ${s.user}, 1, ${s.now} WHERE ${paid}
      ON CONFLICT (user_id) DO UPDATE SET challenges_completed = challenges_completed + 1,
        updated_at = excluded.updated_at`,
  );
}

/** The challenge.completed event, written when its XP was paid. Returns the event's id too. */
export function challengeEvent(s: Subject, challenge: DailyChallenge, paid: SQL) {
  const event = newEvent(
    "challenge.completed",
    s.user,
    { challenge_id: challenge.challenge_id, title: challenge.title, date: challenge.date, xp: challenge.xp },
    Date.now(),
    s.atIso,
  );
  return { id: event.id, statement: writeEvent(s.db, event, { where: paid }) };
}

const levelOf = sql`(SELECT max(level) FROM xp_levels WHERE min_xp <= p.total_xp)`;

/**
 * When the real total crossed a level: the level.up event (with the real levels), then the new level.
 * Returns the event's id too.
 */
export function levelUp(s: Subject) {
  const data = sqlData(
    "level.up",
    {
      level: levelOf,
      previous_level: sql`p.level`,
      total_xp: sql`p.total_xp`,
    },
    sql`FROM user_progress p WHERE p.user_id = ${s.user}`,
  );
  const event = sqlEvent("level.up", s.user, data, Date.now(), s.atIso);
  const crossed = sql`EXISTS (SELECT 1 FROM user_progress p WHERE p.user_id = ${s.user} AND ${levelOf} > p.level)`;
  return {
    id: event.id,
    statements: [
      writeEvent(s.db, event, { where: crossed }),
      rawStatement(
        s.db,
        sql`UPDATE user_progress SET level = (SELECT max(level) FROM xp_levels WHERE min_xp <= total_xp)
        WHERE user_id = ${s.user}`,
      ),
    ],
  };
}

/** The badge's real value has reached its threshold. */
function badgeReached(s: Subject, badge: BadgeDefinition): SQL {
  const value =
    badge.metric === "longest_streak"
      ? sql`(SELECT longest_streak FROM user_progress WHERE user_id = ${s.user})`
      : badge.metric === "level"
        ? sql`(SELECT level FROM user_progress WHERE user_id = ${s.user})`
        : sql`(SELECT ${sql.raw(COUNTERS[badge.metric].column)} FROM gamification_stats WHERE user_id = ${s.user})`;
  return sql`${value} >= ${badge.threshold}`;
}

/** The badge, unlocked once with its achievement.unlocked event, if the real value reached it. */
export function badgeUnlock(s: Subject, badge: BadgeDefinition) {
  const reached = badgeReached(s, badge);
  const { id, name, tier, family, description } = badge;
  const event = newEvent(
    "achievement.unlocked",
    s.user,
    { badge_id: id, name, tier, family, description },
    Date.now(),
    s.atIso,
  );
  const notHeld = sql`NOT EXISTS (SELECT 1 FROM user_badges WHERE user_id = ${s.user} AND badge_id = ${badge.id})`;
  return {
    id: event.id,
    statements: [
      writeEvent(s.db, event, { where: sql`${reached} AND ${notHeld}` }),
      rawStatement(
        s.db,
        sql`INSERT INTO user_badges (user_id, badge_id, unlocked_at)
        SELECT ${s.user}, ${badge.id}, ${s.atIso} WHERE ${reached}
        ON CONFLICT (user_id, badge_id) DO NOTHING`,
      ),
    ],
  };
}
