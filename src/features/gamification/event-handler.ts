/**
 * The gamification consumer of domain events: XP grants (with bonus windows), levels, counters,
 * badges, active days for streaks, and daily challenge progress — all as D1 statements that run in the
 * event's batch with its receipt. What an event earns is decided by pure rules (`event-rules.ts`), read
 * once per delivery and written by guarded statements (both in `queries.ts`).
 *
 * A completion counts once, however often it happens: every effect of a step, task or focus session
 * (its XP, counters, active day, challenge progress) rests on its ledger row, whose source key is unique
 * per user — a step reopened and completed again, or an event redelivered, writes no row and so counts
 * for nothing. Correctness does not depend on what the read saw: every threshold (level, badge,
 * challenge) is checked again in SQL against the real values inside the batch (D1 runs a batch as one
 * transaction). The read only spares statements that cannot matter; a threshold a concurrent delivery
 * made it miss is caught by the user's next event.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase } from "../../db";
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler, HandlerEffects } from "../../lib/events/handler";
import { newId } from "../../lib/ids";
import { longestStreak } from "../../lib/streaks";
import { localParts, nowIso } from "../../lib/time";
import { perksAt } from "../pets/growth";
import { challengesFor, type DailyChallenge } from "./challenges";
import {
  activeBonus,
  type BonusWindow,
  badgesWithinReach,
  type Earnings,
  earningsOf,
  type Grant,
} from "./event-rules";
import { pushScores } from "./leaderboard";
import { levelForXp } from "./levels";
import { weekStartOf } from "./progress";
import {
  activeDay,
  badgeUnlock,
  type CounterMetric,
  challengeCompletion,
  challengeCounted,
  challengeEvent,
  challengeReached,
  challengeStep,
  counterUpsert,
  ledgerRow,
  ledgerWritten,
  levelUp,
  longestStreakAtLeast,
  progressGrant,
  readContext,
  type Subject,
  type UserContext,
} from "./queries";
import { streakRulesFor } from "./streak-rules";
import { sourceKeyOf } from "./work";
import { bonusXp } from "./xp";

export const gamificationHandler: EventHandler = {
  name: "gamification",
  types: ["step.completed", "task.completed", "focus.completed", "pet.fed", "xp.manual"],
  prepare: async (db, events) => {
    const { contexts, windows } = await readContext(db, events);
    return (event) => {
      const ctx = contexts.get(event.user_id);
      const planner = ctx
        ? new EventPlanner({ db, user: event.user_id, eventId: event.id }, event, ctx, windows)
        : null;
      return planner?.plan() ?? { statements: [] };
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

/** Builds one event's statements from its earnings, keeping the user's context current for the next. */
class EventPlanner {
  private readonly statements: BatchItem<"sqlite">[] = [];
  private readonly emits: string[] = [];
  private readonly at: number;
  private readonly local: { date: string; hour: number };
  private readonly s: Subject;
  private readonly levelBefore: number;
  /** True once this event's own grant is in the batch: the guard of everything that counts it. */
  private counted: SQL = sql`1`;

  constructor(
    subject: Omit<Subject, "atIso" | "now">,
    private readonly event: DomainEvent,
    private readonly ctx: UserContext,
    private readonly windows: readonly BonusWindow[],
  ) {
    const parsed = Date.parse(event.occurred_at);
    this.at = Number.isNaN(parsed) ? Date.now() : parsed;
    this.local = localParts(ctx.timezone, this.at);
    this.s = { ...subject, atIso: new Date(this.at).toISOString(), now: nowIso() };
    this.levelBefore = ctx.level;
  }

  /** Null when the event pays nothing: the user's source already paid, or it earns nothing at all. */
  plan(): HandlerEffects | null {
    const key = sourceKeyOf(this.event);
    // A source that paid already (a reopened step completed again): nothing, not even its counters.
    if (key !== undefined && this.ctx.paid.has(key)) return null;
    if (key !== undefined) this.ctx.paid.add(key);
    const earned = earningsOf(this.event, this.local.hour, this.at);
    if (!earned) return null;
    if (earned.grant) this.counted = this.grant(earned.grant);
    this.count(earned);
    if (earned.active_day) this.markActiveDay();
    // Challenges are derived from the local date (pure, seeded): nothing to read, nothing to store.
    const challenges = challengesFor(this.local.date).filter((c) => earned.challenges.includes(c.metric));
    for (const challenge of challenges) this.advanceChallenge(challenge);
    const counters = counterUpsert(this.s, earned.counters, this.counted);
    if (counters) this.statements.push(counters);
    this.levelUp();
    this.unlockBadges();
    return { statements: this.statements, emits: this.emits };
  }

  /**
   * A grant: its ledger row (nothing if its source already paid), a bonus row when bonus windows
   * cover the moment, the pet's boost, and the user's totals — each later statement guarded by the
   * ledger row. Returns that guard. `believed`: whether the read says the guard holds, so that the
   * estimated total (which decides whether to send the level-up) counts only what will be paid.
   */
  private grant(grant: Grant, guard: SQL = sql`1`, believed = true): SQL {
    const id = newId();
    const written = ledgerWritten(id);
    const amount = grant.breakdown.total;
    this.statements.push(
      ledgerRow(this.s, {
        id,
        source: grant.source,
        sourceKey: grant.source_key,
        amount,
        breakdown: grant.breakdown,
        guard,
      }),
    );
    const { active, multiplier } = grant.bonus
      ? activeBonus(this.windows, this.at)
      : activeBonus([], this.at);
    const extra = bonusXp(amount, multiplier);
    if (extra > 0) {
      const breakdown = {
        multiplier,
        bonus_events: active.map((w) => w.id),
        on: grant.source_key,
        base: amount,
        total: extra,
      };
      this.statements.push(
        ledgerRow(this.s, {
          id: newId(),
          source: "event_bonus",
          sourceKey: `bonus:${grant.source_key}`,
          amount: extra,
          breakdown,
          guard: written,
        }),
      );
    }
    const petExtra = grant.pet ? this.petBonus(grant.source_key, amount, written) : 0;
    const total = amount + extra + petExtra;
    this.statements.push(progressGrant(this.s, total, weekStartOf(this.at), written));
    if (believed) this.ctx.totalXp += total;
    return written;
  }

  /** The pet's XP boost on the work's base XP (Focus Buddy 5%, Kindred Spirit 10%): its own ledger row. */
  private petBonus(sourceKey: string, amount: number, written: SQL): number {
    const percent = this.ctx.petLevel === null ? 0 : perksAt(this.ctx.petLevel).xpBoostPercent;
    const extra = Math.round((amount * percent) / 100);
    if (extra <= 0) return 0;
    const breakdown = { percent, pet_level: this.ctx.petLevel, on: sourceKey, base: amount, total: extra };
    this.statements.push(
      ledgerRow(this.s, {
        id: newId(),
        source: "pet_bonus",
        sourceKey: `pet:${sourceKey}`,
        amount: extra,
        breakdown,
        guard: written,
      }),
    );
    return extra;
  }

  private count(earned: Earnings): void {
    for (const [metric, by] of Object.entries(earned.counters) as [CounterMetric, number][])
      this.ctx.counters[metric] += by;
  }

  /** A step completed on this local day: the day joins the active days, and the longest streak is kept. */
  private markActiveDay(): void {
    this.statements.push(activeDay(this.s, this.local.date, this.counted));
    this.ctx.days.add(this.local.date);
    const longest = Math.max(
      this.ctx.longestStreak,
      longestStreak(this.ctx.days, streakRulesFor(this.ctx.petLevel)),
    );
    if (longest > this.ctx.longestStreak) {
      this.ctx.longestStreak = longest;
      this.statements.push(longestStreakAtLeast(this.s, longest, this.counted));
    }
  }

  /** One unit of progress on a challenge; while it is open, its completion and XP (paid once, in SQL). */
  private advanceChallenge(challenge: DailyChallenge): void {
    const key = challenge.challenge_id;
    const state = this.ctx.challenges.get(key) ?? { progress: 0, completed: false };
    state.progress += 1;
    this.ctx.challenges.set(key, state);
    this.statements.push(challengeStep(this.s, challenge, this.counted));
    // Sent whenever the challenge may still be open (not only when the read says the target is met):
    // every statement checks the real progress, so a concurrent delivery cannot leave it unpaid.
    if (state.completed) return;
    if (state.progress >= challenge.target) state.completed = true;
    this.statements.push(challengeCompletion(this.s, challenge));
    const breakdown = { base: challenge.xp, priority_bonus: 0, time_bonus: 0, total: challenge.xp };
    const paid = this.grant(
      { source: "challenge", source_key: `challenge:${key}`, breakdown, bonus: true, pet: false },
      challengeReached(this.s, challenge),
      state.completed,
    );
    this.statements.push(challengeCounted(this.s, paid));
    if (state.completed) this.ctx.counters.challenges_completed += 1;
    const event = challengeEvent(this.s, challenge, paid);
    this.emits.push(event.id);
    this.statements.push(event.statement);
  }

  /** When the new total crosses a level: the level.up event (with the real levels) and the new level. */
  private levelUp(): void {
    const estimated = levelForXp(this.ctx.totalXp);
    if (estimated <= this.levelBefore) return;
    const up = levelUp(this.s);
    this.emits.push(up.id);
    this.statements.push(...up.statements);
    this.ctx.level = estimated;
  }

  /** Badges this event may have earned: unlocked once, each checked in SQL against the real value. */
  private unlockBadges(): void {
    for (const badge of badgesWithinReach(this.ctx, this.ctx.badges)) {
      this.ctx.badges.add(badge.id);
      const unlock = badgeUnlock(this.s, badge);
      this.emits.push(unlock.id);
      this.statements.push(...unlock.statements);
    }
  }
}
