/**
 * The gamification consumer of domain events: XP grants (with bonus windows), levels, counters,
 * badges, active days for streaks, and daily challenge progress — all as D1 statements that run in the
 * event's batch with its receipt.
 *
 * Correctness does not depend on what `prepare` read: every grant is keyed by its source (a retried or
 * repeated completion cannot pay twice), every threshold is checked again in SQL against the real
 * counters inside the batch (D1 runs a batch as one transaction), and statements that depend on an
 * earlier one (a bonus on its grant, a total on its ledger row) are guarded by that row's existence.
 * The read only decides which threshold statements are worth sending; one a concurrent delivery made
 * it miss is sent with the user's next event.
 */
import { and, gte, inArray, type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../../db";
import {
  activityDays,
  bonusEvents,
  challengeProgress,
  dailyChallenges,
  gamificationStats,
  userBadges,
  userProgress,
  users,
  type XpSource,
} from "../../db/schema";
import type { EventHandler, HandlerEffects } from "../../jobs/event-handlers";
import { rawStatement } from "../../lib/batch";
import { chunkRows } from "../../lib/chunk";
import type { EventEnvelope } from "../../lib/events";
import { newId } from "../../lib/ids";
import { addDays, type LocalDate, localParts, nowIso } from "../../lib/time";
import {
  BADGES,
  type BadgeDefinition,
  type BadgeMetric,
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
import { STREAK_LOOKBACK_DAYS, weekStartOf } from "./progress";
import { longestStreak } from "./streaks";
import { bonusXp, combinedMultiplier, focusXp, stepXp, taskXp, type XpBreakdown } from "./xp";

export const GAMIFICATION_EVENTS = [
  "step.completed",
  "task.completed",
  "focus.completed",
  "pet.fed",
  "xp.manual",
] as const;

/** The counters kept in gamification_stats, by badge metric name, with their column. */
const COUNTERS = {
  steps_completed: "steps_completed",
  tasks_completed: "tasks_completed",
  focus_sessions: "focus_sessions",
  long_focus_sessions: "long_focus_sessions",
  morning_steps: "morning_steps",
  night_steps: "night_steps",
  quick_wins: "quick_wins",
  challenges_completed: "challenges_completed",
  pet_feeds: "pet_feeds",
} as const satisfies Partial<Record<BadgeMetric, string>>;
type CounterMetric = keyof typeof COUNTERS;

/** Challenges of the local morning count until 10:00. */
const CHALLENGE_MORNING_BEFORE_HOUR = 10;

interface ChallengeState {
  challenge: DailyChallenge;
  progress: number;
  completed: boolean;
}

/** What the read phase learned about one user; updated as the delivery's events are planned. */
interface UserContext {
  timezone: string;
  totalXp: number;
  level: number;
  counters: Record<CounterMetric, number>;
  badges: Set<string>;
  days: Set<LocalDate>;
  challenges: Map<string, ChallengeState>;
}

interface Window {
  id: string;
  multiplier: number;
  startsAt: number;
  endsAt: number;
}

const numberOf = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0);
const textOf = (value: unknown) => (typeof value === "string" ? value : "");

const zeroCounters = (): Record<CounterMetric, number> =>
  Object.fromEntries(Object.keys(COUNTERS).map((k) => [k, 0])) as Record<CounterMetric, number>;

/** One read for the whole delivery: users, their progress, counters, badges, days and challenges. */
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
  const windows: Window[] = [];
  const stored = new Map<LocalDate, DailyChallenge[]>();

  // 90 ids per statement keeps each under D1's 100 bound parameters.
  for (const ids of chunkRows(userIds, 90)) {
    const [owners, progress, stats, unlocked, days, challenges, progressRows, bonus] = await db.batch([
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
        .from(dailyChallenges)
        .where(sql`${dailyChallenges.date} BETWEEN ${firstDate} AND ${lastDate}`),
      db
        .select()
        .from(challengeProgress)
        .where(
          and(
            inArray(challengeProgress.userId, ids),
            sql`${challengeProgress.date} BETWEEN ${firstDate} AND ${lastDate}`,
          ),
        ),
      db
        .select()
        .from(bonusEvents)
        .where(
          and(
            sql`${bonusEvents.cancelledAt} IS NULL`,
            sql`${bonusEvents.startsAt} <= ${new Date(latest).toISOString()}`,
            sql`${bonusEvents.endsAt} > ${new Date(earliest).toISOString()}`,
          ),
        ),
    ]);
    for (const owner of owners) {
      const p = progress.find((r) => r.userId === owner.id);
      const s = stats.find((r) => r.userId === owner.id);
      const counters = zeroCounters();
      if (s) {
        counters.steps_completed = s.stepsCompleted;
        counters.tasks_completed = s.tasksCompleted;
        counters.focus_sessions = s.focusSessions;
        counters.long_focus_sessions = s.longFocusSessions;
        counters.morning_steps = s.morningSteps;
        counters.night_steps = s.nightSteps;
        counters.quick_wins = s.quickWins;
        counters.challenges_completed = s.challengesCompleted;
        counters.pet_feeds = s.petFeeds;
      }
      contexts.set(owner.id, {
        timezone: owner.timezone,
        totalXp: p?.totalXp ?? 0,
        level: p?.level ?? 1,
        counters,
        badges: new Set(unlocked.filter((b) => b.userId === owner.id).map((b) => b.badgeId)),
        days: new Set(days.filter((d) => d.userId === owner.id).map((d) => d.day)),
        challenges: new Map(),
      });
    }
    for (const row of challenges) {
      const list = stored.get(row.date) ?? [];
      if (!list.some((c) => c.challenge_id === row.id)) {
        list.push({
          challenge_id: row.id,
          date: row.date,
          metric: row.metric as ChallengeMetric,
          target: row.target,
          title: row.title,
          xp: row.xp,
        });
      }
      stored.set(row.date, list);
    }
    for (const row of progressRows) {
      const ctx = contexts.get(row.userId);
      if (!ctx) continue;
      ctx.challenges.set(row.challengeId, {
        // Filled in below once the date's definitions are known.
        challenge: {
          challenge_id: row.challengeId,
          date: row.date,
          metric: "steps",
          target: 0,
          title: "",
          xp: 0,
        },
        progress: row.progress,
        completed: row.completedAt !== null,
      });
    }
    for (const row of bonus) {
      if (windows.some((w) => w.id === row.id)) continue;
      windows.push({
        id: row.id,
        multiplier: row.multiplier,
        startsAt: Date.parse(row.startsAt),
        endsAt: Date.parse(row.endsAt),
      });
    }
  }
  return { contexts, windows, stored };
}

export const gamificationHandler: EventHandler = {
  name: "gamification",
  handles: (type) => (GAMIFICATION_EVENTS as readonly string[]).includes(type),
  // Absolute, versioned copies: pushing again on a redelivery changes nothing.
  after: (env, events) =>
    pushScores(
      env,
      createDatabase(env.DB),
      events.map((e) => e.user_id),
    ),
  prepare: async (db, events) => {
    const { contexts, windows, stored } = await readContext(db, events);
    const ensuredDates = new Set<LocalDate>();
    /** A date's challenges: as the daily job stored them, or generated now (the same ones). */
    const challengesOn = (date: LocalDate): { list: DailyChallenge[]; generated: boolean } => {
      const rows = stored.get(date);
      if (rows && rows.length > 0) return { list: rows, generated: false };
      const list = challengesFor(date);
      stored.set(date, list);
      return { list, generated: true };
    };
    return (event) => {
      const ctx = contexts.get(event.user_id);
      // The user is gone: nothing to give.
      if (!ctx) return { statements: [] };
      const planner = new EventPlanner(db, event, ctx, windows);
      const { list, generated } = challengesOn(planner.local.date);
      if (generated && !ensuredDates.has(planner.local.date)) {
        ensuredDates.add(planner.local.date);
        planner.storeChallenges(list);
      }
      planner.plan(list);
      return planner.effects();
    };
  },
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

  plan(challenges: readonly DailyChallenge[]): void {
    const data = this.event.data;
    const matched: ChallengeMetric[] = [];
    switch (this.event.type) {
      case "step.completed": {
        this.grant(
          "step",
          `step:${textOf(data.step_id)}`,
          stepXp(data.task_priority, data.estimated_minutes),
        );
        this.count("steps_completed");
        matched.push("steps");
        if (this.local.hour < MORNING_BEFORE_HOUR) this.count("morning_steps");
        if (this.local.hour >= NIGHT_FROM_HOUR || this.local.hour < NIGHT_UNTIL_HOUR)
          this.count("night_steps");
        if (this.local.hour < CHALLENGE_MORNING_BEFORE_HOUR) matched.push("morning_steps");
        this.statements.push(
          this.db
            .insert(activityDays)
            .values({ userId: this.event.user_id, day: this.local.date, steps: 1 })
            .onConflictDoUpdate({
              target: [activityDays.userId, activityDays.day],
              set: { steps: sql`${activityDays.steps} + 1` },
            }),
        );
        this.ctx.days.add(this.local.date);
        break;
      }
      case "task.completed": {
        this.grant("task", `task:${textOf(data.task_id)}`, taskXp(data.priority, data.estimated_minutes));
        this.count("tasks_completed");
        matched.push("tasks");
        if (data.priority === "high" || data.priority === "critical") matched.push("priority_tasks");
        const created = Date.parse(textOf(data.created_at));
        if (!Number.isNaN(created) && this.at - created <= QUICK_WIN_HOURS * 3_600_000)
          this.count("quick_wins");
        break;
      }
      case "focus.completed": {
        const minutes = numberOf(data.actual_minutes);
        this.grant("focus", `focus:${textOf(data.session_id)}`, focusXp(minutes));
        this.count("focus_sessions");
        matched.push("focus_sessions");
        if (minutes >= LONG_FOCUS_MINUTES) this.count("long_focus_sessions");
        if (minutes >= CHALLENGE_LONG_FOCUS_MINUTES) matched.push("long_focus");
        break;
      }
      case "pet.fed":
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

  /** Writes the date's challenges when the daily job has not (yet): the same rows it would write. */
  storeChallenges(list: readonly DailyChallenge[]): void {
    for (const c of list) {
      this.statements.push(
        this.db
          .insert(dailyChallenges)
          .values({
            id: c.challenge_id,
            date: c.date,
            metric: c.metric,
            target: c.target,
            title: c.title,
            xp: c.xp,
            createdAt: this.now,
          })
          .onConflictDoNothing(),
      );
    }
  }

  private ledgerExists = (id: string) => sql`EXISTS (SELECT 1 FROM xp_ledger WHERE id = ${id})`;

  /**
   * A grant: its ledger row (nothing if its source already paid), a bonus row when bonus windows
   * cover the moment, and the user's totals — each later statement guarded by the ledger row.
   */
  private grant(
    source: XpSource,
    sourceKey: string,
    breakdown: XpBreakdown,
    options: { guard?: SQL; bonus?: boolean } = {},
  ): void {
    const { guard, bonus: withBonus = true } = options;
    const userId = this.event.user_id;
    const occurredAt = new Date(this.at).toISOString();
    const id = newId();
    const amount = breakdown.total;
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO xp_ledger (id, user_id, source, source_key, amount, breakdown, event_id, occurred_at, created_at)
        SELECT ${id}, ${userId}, ${source}, ${sourceKey}, ${amount}, ${JSON.stringify(breakdown)}, ${this.event.id},
          ${occurredAt}, ${this.now}
        WHERE ${guard ?? sql`1`}
        ON CONFLICT (user_id, source_key) DO NOTHING`,
      ),
    );
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
      this.statements.push(
        rawStatement(
          this.db,
          sql`INSERT INTO xp_ledger (id, user_id, source, source_key, amount, breakdown, event_id, occurred_at, created_at)
          SELECT ${newId()}, ${userId}, 'event_bonus', ${`bonus:${sourceKey}`}, ${extra}, ${JSON.stringify(bonus)},
            ${this.event.id}, ${occurredAt}, ${this.now}
          WHERE ${this.ledgerExists(id)}
          ON CONFLICT (user_id, source_key) DO NOTHING`,
        ),
      );
    }
    const total = amount + extra;
    const week = weekStartOf(this.at);
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO user_progress (user_id, total_xp, level, week_start, week_xp, version, leaderboard_opt_in, updated_at)
        SELECT ${userId}, ${total}, 1, ${week}, ${total}, 1, 0, ${this.now} WHERE ${this.ledgerExists(id)}
        ON CONFLICT (user_id) DO UPDATE SET
          total_xp = total_xp + excluded.total_xp,
          week_xp = CASE WHEN week_start = excluded.week_start THEN week_xp + excluded.week_xp
                         WHEN week_start < excluded.week_start THEN excluded.week_xp ELSE week_xp END,
          week_start = max(week_start, excluded.week_start),
          version = version + 1,
          updated_at = excluded.updated_at`,
      ),
    );
    this.ctx.totalXp += total;
  }

  private count(metric: CounterMetric, by = 1): void {
    this.increments[metric] = (this.increments[metric] ?? 0) + by;
    this.ctx.counters[metric] += by;
  }

  private flushCounters(): void {
    const entries = Object.entries(this.increments) as [CounterMetric, number][];
    if (entries.length === 0) return;
    const columns = entries.map(([metric]) => COUNTERS[metric]);
    const set = entries.map(([metric, n]) => `${COUNTERS[metric]} = ${COUNTERS[metric]} + ${n}`).join(", ");
    // Column names and amounts come from the constants above, never from input.
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO gamification_stats (user_id, ${sql.raw(columns.join(", "))}, updated_at)
          VALUES (${this.event.user_id}, ${sql.raw(entries.map(([, n]) => String(n)).join(", "))}, ${this.now})
          ON CONFLICT (user_id) DO UPDATE SET ${sql.raw(set)}, updated_at = excluded.updated_at`,
      ),
    );
  }

  /** One unit of progress on a challenge; when it reaches its target, its completion and XP. */
  private advanceChallenge(challenge: DailyChallenge): void {
    const userId = this.event.user_id;
    const key = challenge.challenge_id;
    const state = this.ctx.challenges.get(key) ?? { challenge, progress: 0, completed: false };
    state.challenge = challenge;
    state.progress += 1;
    this.ctx.challenges.set(key, state);
    this.statements.push(
      this.db
        .insert(challengeProgress)
        .values({ userId, challengeId: key, date: challenge.date, progress: 1 })
        .onConflictDoUpdate({
          target: [challengeProgress.userId, challengeProgress.challengeId],
          set: { progress: sql`${challengeProgress.progress} + 1` },
        }),
    );
    if (state.completed || state.progress < challenge.target) return;
    state.completed = true;
    const reached = sql`EXISTS (SELECT 1 FROM challenge_progress WHERE user_id = ${userId}
      AND challenge_id = ${key} AND progress >= ${challenge.target})`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`UPDATE challenge_progress SET completed_at = ${new Date(this.at).toISOString()}
        WHERE user_id = ${userId} AND challenge_id = ${key} AND completed_at IS NULL AND progress >= ${challenge.target}`,
      ),
    );
    const ledgerKey = `challenge:${key}`;
    this.grant(
      "challenge",
      ledgerKey,
      { base: challenge.xp, priority_bonus: 0, time_bonus: 0, total: challenge.xp },
      { guard: reached },
    );
    // Paid by this event: the counter and the event follow only then (a challenge pays once).
    const paid = sql`EXISTS (SELECT 1 FROM xp_ledger WHERE user_id = ${userId} AND source_key = ${ledgerKey}
        AND event_id = ${this.event.id})`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO gamification_stats (user_id, challenges_completed, updated_at)
        SELECT ${userId}, 1, ${this.now} WHERE ${paid}
        ON CONFLICT (user_id) DO UPDATE SET challenges_completed = challenges_completed + 1,
          updated_at = excluded.updated_at`,
      ),
    );
    this.ctx.counters.challenges_completed += 1;
    const eventId = newId();
    this.emits.push(eventId);
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
        SELECT ${eventId}, ${userId}, 'challenge.completed',
          ${JSON.stringify({ challenge_id: key, title: challenge.title, date: challenge.date, xp: challenge.xp })},
          ${new Date(this.at).toISOString()}, 0
        WHERE ${paid}`,
      ),
    );
  }

  /** When the new total crosses a level: the level.up event (with the real levels) and the new level. */
  private levelUp(): void {
    const estimated = levelForXp(this.ctx.totalXp);
    if (estimated <= this.levelBefore) return;
    const userId = this.event.user_id;
    const eventId = newId();
    this.emits.push(eventId);
    const levelOf = sql`(SELECT max(level) FROM xp_levels WHERE min_xp <= p.total_xp)`;
    this.statements.push(
      rawStatement(
        this.db,
        sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
        SELECT ${eventId}, p.user_id, 'level.up',
          json_object('level', ${levelOf}, 'previous_level', p.level, 'total_xp', p.total_xp),
          ${new Date(this.at).toISOString()}, 0
        FROM user_progress p WHERE p.user_id = ${userId} AND ${levelOf} > p.level`,
      ),
      rawStatement(
        this.db,
        sql`UPDATE user_progress SET level = (SELECT max(level) FROM xp_levels WHERE min_xp <= total_xp)
        WHERE user_id = ${userId}`,
      ),
    );
    this.ctx.level = estimated;
  }

  /** Badges this event may have earned: unlocked once, each checked in SQL against the real value. */
  private unlockBadges(): void {
    const userId = this.event.user_id;
    const longest = longestStreak(this.ctx.days);
    const estimate = (badge: BadgeDefinition): number => {
      if (badge.metric === "longest_streak") return longest;
      if (badge.metric === "level") return this.ctx.level;
      return this.ctx.counters[badge.metric];
    };
    const actual = (badge: BadgeDefinition): SQL => {
      if (badge.metric === "longest_streak") return sql`1`;
      if (badge.metric === "level") {
        return sql`(SELECT level FROM user_progress WHERE user_id = ${userId}) >= ${badge.threshold}`;
      }
      return sql`(SELECT ${sql.raw(COUNTERS[badge.metric])} FROM gamification_stats WHERE user_id = ${userId}) >= ${badge.threshold}`;
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
      const at = new Date(this.at).toISOString();
      this.statements.push(
        rawStatement(
          this.db,
          sql`INSERT INTO events (id, user_id, type, data, occurred_at, send_attempts)
          SELECT ${eventId}, ${userId}, 'achievement.unlocked', ${payload}, ${at}, 0
          WHERE ${actual(badge)}
            AND NOT EXISTS (SELECT 1 FROM user_badges WHERE user_id = ${userId} AND badge_id = ${badge.id})`,
        ),
        rawStatement(
          this.db,
          sql`INSERT INTO user_badges (user_id, badge_id, unlocked_at)
          SELECT ${userId}, ${badge.id}, ${at} WHERE ${actual(badge)}
          ON CONFLICT (user_id, badge_id) DO NOTHING`,
        ),
      );
    }
  }
}
