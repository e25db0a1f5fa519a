import type { z } from "@hono/zod-openapi";
import { and, count, desc, eq, gte, lt, type SQL, sql } from "drizzle-orm";
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
  type XpSource,
  xpLedger,
} from "../../db/schema";
import type { Env } from "../../env";
import { D1Batch } from "../../lib/batch";
import { loggableError } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { newEvent } from "../../lib/events/envelope";
import { writeEvent } from "../../lib/events/outbox";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { type FreezeRules, longestStreak, STREAK_LOOKBACK_DAYS, streakState } from "../../lib/streaks";
import { addDays, type LocalDate, localParts, nowIso } from "../../lib/time";
import { BADGES, type BadgeMetric, badgeProgress } from "./badges";
import { challengesFor } from "./challenges";
import { hideScore, pushScores } from "./leaderboard";
import { levelProgress, THEMES, themesAt } from "./levels";
import { weekStartOf } from "./progress";
import { bonusWindowsQuery, countersOf } from "./queries";
import type {
  BadgesSchema,
  BonusEventBodySchema,
  BonusEventSchema,
  CalculatedXpSchema,
  CalculateXpBodySchema,
  ChallengeSchema,
  LedgerEntrySchema,
  ManualGrantBodySchema,
  ProfileSchema,
  StreakSchema,
} from "./schemas";
import { streakRulesFor } from "./streak-rules";
import { bonusXp, combinedMultiplier, focusXp, stepXp, taskXp } from "./xp";

/**
 * The reads of the user's time zone, progress, recent active days, badge count and pet level (what the
 * profile and the streak rest on), added to `batch`; the answer reads them back from its results. So a
 * caller can put the standing in a batch of its own reads: one round trip for both.
 */
function standingIn(batch: D1Batch, db: Database, userId: string, now: number) {
  const since = addDays(new Date(now).toISOString().slice(0, 10), -STREAK_LOOKBACK_DAYS);
  const owner = batch.add(db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)));
  const progress = batch.add(db.select().from(userProgress).where(eq(userProgress.userId, userId)));
  const days = batch.add(
    db
      .select({ day: activityDays.day })
      .from(activityDays)
      .where(and(eq(activityDays.userId, userId), gte(activityDays.day, since))),
  );
  const unlocked = batch.add(db.select({ n: count() }).from(userBadges).where(eq(userBadges.userId, userId)));
  const pet = batch.add(
    db.select({ level: userPets.level }).from(userPets).where(eq(userPets.userId, userId)),
  );
  return (results: readonly unknown[]) => {
    const timezone = owner(results)[0]?.timezone ?? "UTC";
    return {
      timezone,
      today: localParts(timezone, now).date,
      progress: progress(results)[0],
      days: days(results).map((d) => d.day),
      badges: unlocked(results)[0]?.n ?? 0,
      /** Freeze rules: a pet with Streak Shield lets the user hold one more. */
      rules: streakRulesFor(pet(results)[0]?.level),
    };
  };
}

async function readStanding(db: Database, userId: string, now: number) {
  const batch = new D1Batch();
  const standing = standingIn(batch, db, userId, now);
  return standing(await batch.run(db));
}

/** The streak's reads added to another feature's batch, and the streak read back from its results. */
export function streakIn(batch: D1Batch, db: Database, userId: string, now = Date.now()) {
  const standing = standingIn(batch, db, userId, now);
  return (results: readonly unknown[]) => streakOf(standing(results));
}

function streakOf(standing: {
  timezone: string;
  today: LocalDate;
  days: LocalDate[];
  progress?: { longestStreak: number } | undefined;
  rules: FreezeRules;
}): z.infer<typeof StreakSchema> {
  const state = streakState(standing.days, standing.today, standing.rules);
  // Days are replayed about a year back; the longest streak ever is kept with the user's progress.
  const longest = Math.max(state.longest_days, standing.progress?.longestStreak ?? 0);
  return { ...state, longest_days: longest, today: standing.today, timezone: standing.timezone };
}

export async function profileOf(
  db: Database,
  userId: string,
  now = Date.now(),
): Promise<z.infer<typeof ProfileSchema>> {
  const standing = await readStanding(db, userId, now);
  const p = standing.progress;
  const total = p?.totalXp ?? 0;
  const level = levelProgress(total);
  return {
    ...level,
    week_xp: p && p.weekStart === weekStartOf(now) ? p.weekXp : 0,
    themes: themesAt(level.level),
    next_theme: THEMES.find((t) => t.unlocks_at_level > level.level) ?? null,
    streak: streakOf(standing),
    badges_unlocked: standing.badges,
    leaderboard_opt_in: p?.leaderboardOptIn ?? false,
    leaderboard_name: p?.leaderboardName ?? null,
  };
}

export async function streakFor(db: Database, userId: string, now = Date.now()) {
  return streakOf(await readStanding(db, userId, now));
}

type LedgerEntry = z.infer<typeof LedgerEntrySchema>;

/** The user's XP grants, newest first, one page. */
export async function ledgerOf(
  db: Database,
  userId: string,
  query: { limit: number; source?: XpSource | undefined },
  afterId: string | null,
): Promise<Page<LedgerEntry>> {
  const conditions: (SQL | undefined)[] = [eq(xpLedger.userId, userId)];
  if (afterId) conditions.push(lt(xpLedger.id, afterId));
  if (query.source) conditions.push(eq(xpLedger.source, query.source));
  const rows = await db
    .select()
    .from(xpLedger)
    .where(and(...conditions))
    .orderBy(desc(xpLedger.id))
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(
    rows,
    query.limit,
    (r) => ({
      id: r.id,
      source: r.source,
      source_key: r.sourceKey,
      amount: r.amount,
      breakdown: r.breakdown,
      event_id: r.eventId,
      occurred_at: r.occurredAt,
    }),
    (r) => r.id,
  );
}

/** Every badge, with when the user unlocked it, and per family how far the next tier is. */
export async function badgesOf(
  db: Database,
  userId: string,
  now = Date.now(),
): Promise<z.infer<typeof BadgesSchema>> {
  const [unlocked, stats] = await db.batch([
    db.select().from(userBadges).where(eq(userBadges.userId, userId)),
    db.select().from(gamificationStats).where(eq(gamificationStats.userId, userId)),
  ]);
  const standing = await readStanding(db, userId, now);
  const values: Partial<Record<BadgeMetric, number>> = {
    ...countersOf(stats[0]),
    longest_streak: Math.max(
      standing.progress?.longestStreak ?? 0,
      longestStreak(standing.days, standing.rules),
    ),
    level: levelProgress(standing.progress?.totalXp ?? 0).level,
  };
  const when = new Map(unlocked.map((u) => [u.badgeId, u.unlockedAt]));
  return {
    badges: BADGES.map((b) => ({ ...b, unlocked_at: when.get(b.id) ?? null })),
    progress: badgeProgress(values),
  };
}

/** A date's challenges (the user's today by default) with the user's progress on each. */
export async function challengesOf(
  db: Database,
  userId: string,
  date: LocalDate | undefined,
  now = Date.now(),
): Promise<z.infer<typeof ChallengeSchema>[]> {
  let day = date;
  if (!day) {
    const owner = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get();
    day = localParts(owner?.timezone ?? "UTC", now).date;
  }
  const progress = await db
    .select()
    .from(challengeProgress)
    .where(and(eq(challengeProgress.userId, userId), eq(challengeProgress.date, day)))
    .all();
  return challengesFor(day).map((c) => {
    const p = progress.find((r) => r.challengeId === c.challenge_id);
    return {
      challenge_id: c.challenge_id,
      date: c.date,
      metric: c.metric,
      title: c.title,
      target: c.target,
      xp: c.xp,
      progress: Math.min(p?.progress ?? 0, c.target),
      completed: p?.completedAt != null,
      completed_at: p?.completedAt ?? null,
    };
  });
}

/** What a piece of work would earn, bonus windows included, without granting anything. */
export async function calculateXp(
  db: Database,
  input: z.infer<typeof CalculateXpBodySchema>,
): Promise<z.infer<typeof CalculatedXpSchema>> {
  const breakdown =
    input.kind === "task"
      ? taskXp(input.priority, input.estimated_minutes)
      : input.kind === "focus"
        ? focusXp(input.actual_minutes)
        : stepXp(input.priority, input.estimated_minutes);
  const at = input.at ?? nowIso();
  const windows = await bonusWindowsQuery(db, at, at).all();
  const multiplier = combinedMultiplier(windows.map((w) => w.multiplier));
  const bonus = bonusXp(breakdown.total, multiplier);
  return {
    amount: breakdown.total + bonus,
    base: breakdown.base,
    priority_bonus: breakdown.priority_bonus,
    time_bonus: breakdown.time_bonus,
    subtotal: breakdown.total,
    multiplier,
    bonus,
    bonus_events: windows.map((w) => w.id),
  };
}

type BonusEvent = z.infer<typeof BonusEventSchema>;

function bonusDto(row: typeof bonusEvents.$inferSelect, now: number): BonusEvent {
  return {
    id: row.id,
    name: row.name,
    multiplier: row.multiplier,
    starts_at: row.startsAt,
    ends_at: row.endsAt,
    active: Date.parse(row.startsAt) <= now && now < Date.parse(row.endsAt),
  };
}

export async function createBonusEvent(
  db: Database,
  userId: string,
  input: z.infer<typeof BonusEventBodySchema>,
): Promise<BonusEvent> {
  const now = Date.now();
  const [row] = await db
    .insert(bonusEvents)
    .values({
      id: newId(now),
      name: input.name,
      multiplier: input.multiplier,
      startsAt: input.starts_at,
      endsAt: input.ends_at,
      createdBy: userId,
      createdAt: nowIso(now),
    })
    .returning();
  if (!row) throw new Error("insert returned no row");
  return bonusDto(row, now);
}

/** Windows that have not ended (or, with `includePast`, all), soonest first. */
export async function listBonusEvents(db: Database, includePast: boolean): Promise<BonusEvent[]> {
  const now = Date.now();
  const rows = await db
    .select()
    .from(bonusEvents)
    .where(
      and(
        sql`${bonusEvents.cancelledAt} IS NULL`,
        includePast ? undefined : sql`${bonusEvents.endsAt} > ${nowIso(now)}`,
      ),
    )
    .orderBy(bonusEvents.startsAt)
    .limit(100)
    .all();
  return rows.map((r) => bonusDto(r, now));
}

export async function cancelBonusEvent(db: Database, id: string): Promise<void> {
  const rows = await db
    .update(bonusEvents)
    .set({ cancelledAt: nowIso() })
    .where(and(eq(bonusEvents.id, id), sql`${bonusEvents.cancelledAt} IS NULL`))
    .returning({ id: bonusEvents.id });
  if (rows.length === 0) throw notFound("Bonus event");
}

/**
 * A manual grant goes through the event bus like any other: an `xp.manual` event the gamification
 * handler turns into a ledger row keyed by `key`, so the same grant never pays twice.
 */
export async function requestManualGrant(
  db: Database,
  input: z.infer<typeof ManualGrantBodySchema>,
  grantedBy: string,
) {
  const owner = await db.select({ id: users.id }).from(users).where(eq(users.id, input.user_id)).get();
  if (!owner) throw notFound("User");
  const event = newEvent("xp.manual", input.user_id, {
    amount: input.amount,
    reason: input.reason,
    key: input.key,
    granted_by: grantedBy,
  });
  await writeEvent(db, event).run();
  return event;
}

/** Whether the user chose to appear on the leaderboards (off until they opt in). */
export async function isOptedIn(db: Database, userId: string): Promise<boolean> {
  const row = await db
    .select({ optIn: userProgress.leaderboardOptIn })
    .from(userProgress)
    .where(eq(userProgress.userId, userId))
    .get();
  return row?.optIn ?? false;
}

/** A leave that lost the race with the user's own XP grants this many times answers 503. */
const OPT_OUT_TRIES = 3;

/** Runs a call to the leaderboard shards; a failure is a 503 whose detail says what `state` is now. */
async function onBoards(call: () => Promise<void>, state: string): Promise<void> {
  try {
    await call();
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "leaderboard shard call failed",
        error: loggableError(error),
      }),
    );
    throw new ApiError(503, "leaderboard_unavailable", `The leaderboards could not be reached; ${state}`);
  }
}

/** Joins or leaves the leaderboards; the boards learn it before the answer. */
export async function setLeaderboardOptIn(
  env: Env,
  db: Database,
  userId: string,
  input: { opt_in: boolean; display_name?: string | undefined },
): Promise<{ opt_in: boolean; display_name: string | null }> {
  const name = input.display_name ?? null;
  const nameSet = input.display_name !== undefined ? { leaderboardName: name } : {};
  if (input.opt_in) {
    // D1 first: a push that fails leaves an opted-in user off the boards until the retry (or their next
    // XP), never the other way round.
    const [row] = await db
      .insert(userProgress)
      .values({ userId, leaderboardOptIn: true, leaderboardName: name, version: 1, updatedAt: nowIso() })
      .onConflictDoUpdate({
        target: userProgress.userId,
        set: {
          leaderboardOptIn: true,
          ...nameSet,
          version: sql`${userProgress.version} + 1`,
          updatedAt: nowIso(),
        },
      })
      .returning();
    if (!row)
      throw new ApiError(503, "unavailable", "The leaderboard setting could not be saved; try again.");
    await onBoards(
      () => pushScores(env, db, [userId]),
      "your choice is saved, and you will appear once you try again or earn XP.",
    );
    return { opt_in: row.leaderboardOptIn, display_name: row.leaderboardName };
  }
  // Leaving hides first, then records: a failure in between leaves the user hidden (and still opted in,
  // so the retry finishes it), never opted out yet listed. The tombstone carries the version D1 is about
  // to write, and D1 writes it only if no grant moved the version meanwhile (else: read, hide, again).
  for (let attempt = 0; attempt < OPT_OUT_TRIES; attempt++) {
    const current = await db.select().from(userProgress).where(eq(userProgress.userId, userId)).get();
    if (current) {
      await onBoards(() => hideScore(env, current, current.version + 1), "you are still on them; try again.");
    }
    const [row] = current
      ? await db
          .update(userProgress)
          .set({ leaderboardOptIn: false, ...nameSet, version: current.version + 1, updatedAt: nowIso() })
          .where(and(eq(userProgress.userId, userId), eq(userProgress.version, current.version)))
          .returning()
      : await db
          .insert(userProgress)
          .values({ userId, leaderboardOptIn: false, leaderboardName: name, version: 1, updatedAt: nowIso() })
          .onConflictDoNothing()
          .returning();
    if (row) return { opt_in: row.leaderboardOptIn, display_name: row.leaderboardName };
  }
  throw new ApiError(
    503,
    "busy",
    "Your XP changed while you were leaving the leaderboards; you are hidden from them, so try again to finish.",
  );
}
