/**
 * The gamification consumer of domain events: XP grants (with bonus windows), levels, counters,
 * badges, active days for streaks, and daily challenge progress — all as D1 statements that run in the
 * event's batch with its receipt.
 *
 * A completion counts once, however often it happens: every effect of a step, task or focus session
 * (its XP, counters, active day, challenge progress) rests on its ledger row, whose source key is unique
 * per user — a step reopened and completed again, or an event redelivered, writes no row and so counts
 * for nothing. Correctness does not depend on what `prepare` read: every threshold (level, badge,
 * challenge) is checked again in SQL against the real values inside the batch (D1 runs a batch as one
 * transaction). The read only spares statements that cannot matter; a threshold a concurrent delivery
 * made it miss is caught by the user's next event.
 */
import { and, gte, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../../db";
import {
  activityDays,
  challengeProgress,
  gamificationStats,
  userBadges,
  userPets,
  userProgress,
  users,
  type XpSource,
} from "../../db/schema";
import type { EventHandler, HandlerEffects } from "../../jobs/event-handlers";
import { rawStatement } from "../../lib/batch";
import { chunkList } from "../../lib/chunk";
import type { EventEnvelope } from "../../lib/events";
import { newId } from "../../lib/ids";
import { longestStreak, STREAK_LOOKBACK_DAYS } from "../../lib/streaks";
import { addDays, type LocalDate, localParts, nowIso } from "../../lib/time";
import { perksAt } from "../pets/growth";
import {
  BADGES,
  type BadgeDefinition,
  LONG_FOCUS_MINUTES,
  MORNING_BEFORE_HOUR,
  NIGHT_FROM_HOUR,
  NIGHT_UNTIL_HOUR,
  QUICK_WIN_HOURS,
} from "./badges";
import {
  CHALLENGE_LONG_FOCUS_MINUTES,
  type ChallengeMetric,
  challengesFor,
  type DailyChallenge,
} from "./challenges";
import { pushScores } from "./leaderboard";
import { levelForXp } from "./levels";
import { weekStartOf } from "./progress";
import { bonusWindowsQuery, COUNTERS, type CounterMetric, countersOf } from "./store";
import { streakRulesFor } from "./streak-rules";
import {
  BOARD_XP_PER_DAY,
  bonusXp,
  combinedMultiplier,
  focusXp,
  MIN_REWARDED_FOCUS_MINUTES,
  stepXp,
  taskXp,
  type XpBreakdown,
} from "./xp";

export const GAMIFICATION_EVENTS = [
  "step.completed",
  "task.completed",
  "focus.completed",
  "pet.fed",
  "xp.manual",
] as const;

/** Challenges of the local morning count until 10:00. */
const CHALLENGE_MORNING_BEFORE_HOUR = 10;
/** Row values per `(user_id, source_key) IN (…)`: two bound parameters each, under D1's 100. */
const PAIRS_PER_STATEMENT = 45;

interface ChallengeState {
  progress: number;
  completed: boolean;
}

/** What the read phase learned about one user; updated as the delivery's events are planned. */
interface UserContext {
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

interface Window {
  id: string;
  multiplier: number;
  startsAt: number;
  endsAt: number;
}

const numberOf = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const textOf = (value: unknown) => (typeof value === "string" ? value : "");

/** The ledger key a rewarded event pays under, if it pays at all. */
function sourceKeyOf(event: EventEnvelope): string | undefined {
  const d = event.data;
  switch (event.type) {
    case "step.completed":
      return `step:${textOf(d.step_id)}`;
    case "task.completed":
      return `task:${textOf(d.task_id)}`;
    case "focus.completed":
      return `focus:${textOf(d.session_id)}`;
    case "xp.manual":
      return `manual:${textOf(d.key)}`;
    default:
      return undefined;
  }
}

/** One read for the whole delivery: users, their progress, counters, badges, days, challenges, paid sources. */
async function readContext(db: Database, events: readonly EventEnvelope[]) {
  const userIds = [...new Set(events.map((e) => e.user_id))];
  const times = events.map((e) => Date.parse(e.occurred_at)).filter((t) => !Number.isNaN(t));
  const earliest = Math.min(...times, Date.now());
  const latest = Math.max(...times, Date.now());
  // Local dates reach a day either side of UTC ones.
  const firstDate = addDays(new Date(earliest).toISOString().slice(0, 10), -1);
  const lastDate = addDays(new Date(latest).toISOString().slice(0, 10), 1);
  const since = addDays(firstDate, -STREAK_LOOKBACK_DAYS);
  const contexts = new Map<string, UserContext>();
  const windows = new Map<string, Window>();
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

export const gamificationHandler: EventHandler = {
  name: "gamification",
  handles: (type) => (GAMIFICATION_EVENTS as readonly string[]).includes(type),
  prepare: async (db, events) => {
    const { contexts, windows } = await readContext(db, events);
    return (event) => {
      const ctx = contexts.get(event.user_id);
      const key = sourceKeyOf(event);
      // The user is gone, or this source has paid already (a reopened step completed again): nothing.
      if (!ctx || (key !== undefined && ctx.paid.has(key))) return { statements: [] };
      if (key !== undefined) ctx.paid.add(key);
      const planner = new EventPlanner(db, event, ctx, windows);
      // Challenges are derived from the local date (pure, seeded): nothing to read, nothing to store.
      planner.plan(challengesFor(planner.local.date));
      return planner.effects();
    };
  },
  // Absolute, versioned copies: pushing again on a redelivery changes nothing.
  after: (env, events) =>
    pushScores(
      env,
      createDatabase(env.DB),
      events.map((e) => e.user_id),
    ),
};

/** Builds one event's statements, keeping the user's context current for the next event. */
class EventPlanner {
  private readonly statements: BatchItem<"sqlite">[] = [];
  private readonly emits: string[] = [];
  private readonly increments: Partial<Record<CounterMetric, number>> = {};
  readonly at: number;
  readonly local: { date: LocalDate; hour: number };
  private readonly now = nowIso();
  private readonly levelBefore: number;
  /** True once this event's own grant is in the batch: the guard of everything that counts it. */
  private counted: SQL = sql`1`;

  constructor(
    private readonly db: Database,
    private readonly event: EventEnvelope,
    private readonly ctx: UserContext,
    private readonly windows: readonly Window[],
  ) {
    const parsed = Date.parse(event.occurred_at);
    this.at = Number.isNaN(parsed) ? Date.now() : parsed;
    this.local = localParts(ctx.timezone, this.at);
    this.levelBefore = ctx.level;
  }

  private get user() {
    return this.event.user_id;
  }

  private get atIso() {
    return new Date(this.at).toISOString();
  }

  plan(challenges: readonly DailyChallenge[]): void {
    const data = this.event.data;
    const matched: ChallengeMetric[] = [];
    switch (this.event.type) {
      case "step.completed": {
        this.counted = this.grant(
          "step",
          `step:${textOf(data.step_id)}`,
          stepXp(data.task_priority, data.estimated_minutes),
          { pet: true },
        );
        this.count("steps_completed");
        matched.push("steps");
        if (this.local.hour < MORNING_BEFORE_HOUR) this.count("morning_steps");
        if (this.local.hour >= NIGHT_FROM_HOUR || this.local.hour < NIGHT_UNTIL_HOUR)
          this.count("night_steps");
        if (this.local.hour < CHALLENGE_MORNING_BEFORE_HOUR) matched.push("morning_steps");
        this.markActiveDay();
        break;
      }
      case "task.completed": {
        this.counted = this.grant(
          "task",
          `task:${textOf(data.task_id)}`,
          taskXp(data.priority, data.estimated_minutes),
          { pet: true },
        );
        this.count("tasks_completed");
        matched.push("tasks");
        if (data.priority === "high" || data.priority === "critical") matched.push("priority_tasks");
        const age = this.at - Date.parse(textOf(data.created_at));
        if (age >= 0 && age <= QUICK_WIN_HOURS * 3_600_000) this.count("quick_wins");
        break;
      }
      case "focus.completed": {
        const minutes = numberOf(data.actual_minutes);
        // A session stopped within its first minutes is a misclick, not focus: it earns nothing.
        if (minutes < MIN_REWARDED_FOCUS_MINUTES) return;
        this.counted = this.grant("focus", `focus:${textOf(data.session_id)}`, focusXp(minutes), {
          pet: true,
        });
        this.count("focus_sessions");
        matched.push("focus_sessions");
        if (minutes >= LONG_FOCUS_MINUTES) this.count("long_focus_sessions");
        if (minutes >= CHALLENGE_LONG_FOCUS_MINUTES) matched.push("long_focus");
        break;
      }
      case "pet.fed":
        // Each feed is its own event (receipts make it count once); no XP, only the counter.
        this.count("pet_feeds");
        break;
      case "xp.manual": {
        const amount = Math.max(0, Math.round(numberOf(data.amount)));
        const breakdown = { base: amount, priority_bonus: 0, time_bonus: 0, total: amount };
        // An administrator's grant is exactly what they asked for: no bonus window applies.
        if (amount > 0) this.grant("manual", `manual:${textOf(data.key)}`, breakdown, { bonus: false });
        break;
      }
    }
    for (const challenge of challenges.filter((c) => matched.includes(c.metric)))
      this.advanceChallenge(challenge);
    this.flushCounters();
    this.levelUp();
    this.unlockBadges();
  }

  effects(): HandlerEffects {
    return { statements: this.statements, emits: this.emits };
  }

  /**
   * A grant: its ledger row (nothing if its source already paid), a bonus row when bonus windows
   * cover the moment, and the user's totals — each later statement guarded by the ledger row. Returns
   * that guard.
   */
  private grant(
    source: XpSource,
    sourceKey: string,
    breakdown: XpBreakdown,
    options: { guard?: SQL; bonus?: boolean; pet?: boolean } = {},
  ): SQL {
    const { guard, bonus: withBonus = true, pet: withPet = false } = options;
    const id = newId();
    const written = sql`EXISTS (SELECT 1 FROM xp_ledger WHERE id = ${id})`;
    const amount = breakdown.total;
    this.ledgerRow(id, source, sourceKey, amount, breakdown, guard ?? sql`1`);
    const active = withBonus ? this.windows.filter((w) => w.startsAt <= this.at && this.at < w.endsAt) : [];
    const multiplier = combinedMultiplier(active.map((w) => w.multiplier));
    const extra = bonusXp(amount, multiplier);
    if (extra > 0) {
      const bonus = {
        multiplier,
        bonus_events: active.map((w) => w.id),
        on: sourceKey,
        base: amount,
        total: extra,
      };
      this.ledgerRow(newId(), "event_bonus", `bonus:${sourceKey}`, extra, bonus, written);
    }
    const petExtra = withPet ? this.petBonus(sourceKey, amount, written) : 0;
    const total = amount + extra + petExtra;
    const week = weekStartOf(this.at);
    // The boards count at most BOARD_XP_PER_DAY a day: what is left of today's room, computed from the
    // row as it was (SQLite evaluates every SET expression on the old row).
    const day = this.now.slice(0, 10);
    const firstOfDay = Math.min(total, BOARD_XP_PER_DAY);
    // A grant processed for an older day than the row's (two deliveries racing past midnight) counts
    // against the newer day's room, so no day's count is ever reset or exceeded.
    const boardGain = sql`(CASE WHEN board_day >= ${day}
      THEN max(0, min(${total}, ${BOARD_XP_PER_DAY} - board_day_xp)) ELSE ${firstOfDay} END)`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, board_xp, board_week_xp,
          board_day, board_day_xp, version, leaderboard_opt_in, updated_at)
        SELECT ${this.user}, ${total}, 1, ${week}, ${total}, ${firstOfDay}, ${firstOfDay}, ${day}, ${firstOfDay},
          1, 0, ${this.now} WHERE ${written}
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
      ),
    );
    this.ctx.totalXp += total;
    return written;
  }

  /** The pet's XP boost on the work's base XP (Focus Buddy 5%, Kindred Spirit 10%): its own ledger row. */
  private petBonus(sourceKey: string, amount: number, written: SQL): number {
    const percent = this.ctx.petLevel === null ? 0 : perksAt(this.ctx.petLevel).xpBoostPercent;
    const extra = Math.round((amount * percent) / 100);
    if (extra <= 0) return 0;
    const breakdown = { percent, pet_level: this.ctx.petLevel, on: sourceKey, base: amount, total: extra };
    this.ledgerRow(newId(), "pet_bonus", `pet:${sourceKey}`, extra, breakdown, written);
    return extra;
  }

  /** One ledger row for this event, written only when `guard` holds, and once per source key. */
  private ledgerRow(
    id: string,
    source: string,
    sourceKey: string,
    amount: number,
    breakdown: object,
    guard: SQL,
  ): void {
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO xp_ledger (id, user_id, source, source_key, amount, breakdown, event_id, occurred_at, created_at)
        SELECT ${id}, ${this.user}, ${source}, ${sourceKey}, ${amount}, ${JSON.stringify(breakdown)}, ${this.event.id},
          ${this.atIso}, ${this.now}
        WHERE ${guard}
        ON CONFLICT (user_id, source_key) DO NOTHING`,
      ),
    );
  }

  private count(metric: CounterMetric, by = 1): void {
    this.increments[metric] = (this.increments[metric] ?? 0) + by;
    this.ctx.counters[metric] += by;
  }

  /** The counters this event moved, in one upsert, written only if the event counted. */
  private flushCounters(): void {
    const entries = Object.entries(this.increments) as [CounterMetric, number][];
    if (entries.length === 0) return;
    // Column names and amounts come from the constants above, never from input.
    const columns = entries.map(([metric]) => COUNTERS[metric].column).join(", ");
    const amounts = entries.map(([, n]) => String(n)).join(", ");
    const set = entries
      .map(([metric, n]) => `${COUNTERS[metric].column} = ${COUNTERS[metric].column} + ${n}`)
      .join(", ");
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO gamification_stats (user_id, ${sql.raw(columns)}, updated_at)
          SELECT ${this.user}, ${sql.raw(amounts)}, ${this.now} WHERE ${this.counted}
          ON CONFLICT (user_id) DO UPDATE SET ${sql.raw(set)}, updated_at = excluded.updated_at`,
      ),
    );
  }

  /** A step completed on this local day: the day joins the active days, and the longest streak is kept. */
  private markActiveDay(): void {
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO activity_days (user_id, day, steps) SELECT ${this.user}, ${this.local.date}, 1 WHERE ${this.counted}
          ON CONFLICT (user_id, day) DO UPDATE SET steps = steps + 1`,
      ),
    );
    this.ctx.days.add(this.local.date);
    const longest = Math.max(
      this.ctx.longestStreak,
      longestStreak(this.ctx.days, streakRulesFor(this.ctx.petLevel)),
    );
    if (longest > this.ctx.longestStreak) {
      this.ctx.longestStreak = longest;
      // A lower bound from what the read saw: max() keeps it from ever going down.
      this.statements.push(
        rawStatement(
          this.db,
          sql`UPDATE user_progress SET longest_streak = max(longest_streak, ${longest})
            WHERE user_id = ${this.user} AND ${this.counted}`,
        ),
      );
    }
  }

  /** One unit of progress on a challenge; while it is open, its completion and XP (paid once, in SQL). */
  private advanceChallenge(challenge: DailyChallenge): void {
    const key = challenge.challenge_id;
    const state = this.ctx.challenges.get(key) ?? { progress: 0, completed: false };
    state.progress += 1;
    this.ctx.challenges.set(key, state);
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO challenge_progress (user_id, challenge_id, date, progress)
          SELECT ${this.user}, ${key}, ${challenge.date}, 1 WHERE ${this.counted}
          ON CONFLICT (user_id, challenge_id) DO UPDATE SET progress = progress + 1`,
      ),
    );
    // Sent whenever the challenge may still be open (not only when the read says the target is met):
    // every statement checks the real progress, so a concurrent delivery cannot leave it unpaid.
    if (state.completed) return;
    if (state.progress >= challenge.target) state.completed = true;
    const reached = sql`EXISTS (SELECT 1 FROM challenge_progress WHERE user_id = ${this.user}
      AND challenge_id = ${key} AND progress >= ${challenge.target})`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`UPDATE challenge_progress SET completed_at = ${this.atIso}
          WHERE user_id = ${this.user} AND challenge_id = ${key} AND completed_at IS NULL AND progress >= ${challenge.target}`,
      ),
    );
    const paid = this.grant(
      "challenge",
      `challenge:${key}`,
      { base: challenge.xp, priority_bonus: 0, time_bonus: 0, total: challenge.xp },
      { guard: reached },
    );
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO gamification_stats (user_id, challenges_completed, updated_at)
          SELECT ${this.user}, 1, ${this.now} WHERE ${paid}
          ON CONFLICT (user_id) DO UPDATE SET challenges_completed = challenges_completed + 1,
            updated_at = excluded.updated_at`,
      ),
    );
    if (state.completed) this.ctx.counters.challenges_completed += 1;
    const eventId = newId();
    this.emits.push(eventId);
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
          SELECT ${eventId}, ${this.user}, 'challenge.completed',
            ${JSON.stringify({ challenge_id: key, title: challenge.title, date: challenge.date, xp: challenge.xp })},
            ${this.atIso}, 0
          WHERE ${paid}`,
      ),
    );
  }

  /** When the new total crosses a level: the level.up event (with the real levels) and the new level. */
  private levelUp(): void {
    const estimated = levelForXp(this.ctx.totalXp);
    if (estimated <= this.levelBefore) return;
    const eventId = newId();
    this.emits.push(eventId);
    const levelOf = sql`(SELECT max(level) FROM xp_levels WHERE min_xp <= p.total_xp)`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
        SELECT ${eventId}, p.user_id, 'level.up',
          json_object('level', ${levelOf}, 'previous_level', p.level, 'total_xp', p.total_xp),
          ${this.atIso}, 0
        FROM user_progress p WHERE p.user_id = ${this.user} AND ${levelOf} > p.level`,
      ),
      rawStatement(
        this.db,
        sql`UPDATE user_progress SET level = (SELECT max(level) FROM xp_levels WHERE min_xp <= total_xp)
        WHERE user_id = ${this.user}`,
      ),
    );
    this.ctx.level = estimated;
  }

  /** Badges this event may have earned: unlocked once, each checked in SQL against the real value. */
  private unlockBadges(): void {
    const estimate = (badge: BadgeDefinition): number => {
      if (badge.metric === "longest_streak") return this.ctx.longestStreak;
      if (badge.metric === "level") return this.ctx.level;
      return this.ctx.counters[badge.metric];
    };
    const actual = (badge: BadgeDefinition): SQL => {
      const value =
        badge.metric === "longest_streak"
          ? sql`(SELECT longest_streak FROM user_progress WHERE user_id = ${this.user})`
          : badge.metric === "level"
            ? sql`(SELECT level FROM user_progress WHERE user_id = ${this.user})`
            : sql`(SELECT ${sql.raw(COUNTERS[badge.metric].column)} FROM gamification_stats WHERE user_id = ${this.user})`;
      return sql`${value} >= ${badge.threshold}`;
    };
    for (const badge of BADGES) {
      if (this.ctx.badges.has(badge.id) || estimate(badge) < badge.threshold) continue;
      this.ctx.badges.add(badge.id);
      const eventId = newId();
      this.emits.push(eventId);
      const payload = JSON.stringify({
        badge_id: badge.id,
        name: badge.name,
        tier: badge.tier,
        family: badge.family,
        description: badge.description,
      });
      this.statements.push(
        rawStatement(
          this.db,
          sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
          SELECT ${eventId}, ${this.user}, 'achievement.unlocked', ${payload}, ${this.atIso}, 0
          WHERE ${actual(badge)}
            AND NOT EXISTS (SELECT 1 FROM user_badges WHERE user_id = ${this.user} AND badge_id = ${badge.id})`,
        ),
        rawStatement(
          this.db,
          sql`INSERT INTO user_badges (user_id, badge_id, unlocked_at)
          SELECT ${this.user}, ${badge.id}, ${this.atIso} WHERE ${actual(badge)}
          ON CONFLICT (user_id, badge_id) DO NOTHING`,
        ),
      );
    }
  }
}
