import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  primaryKey,
  real,
  sqliteTable,
  text,
  uniqueIndex,
} from "drizzle-orm/sqlite-core";

export const XP_SOURCES = [
  "step",
  "task",
  "focus",
  "challenge",
  "event_bonus",
  "pet_bonus",
  "manual",
] as const;
export type XpSource = (typeof XP_SOURCES)[number];

/**
 * Append-only: every XP grant, with where it came from. `source_key` names the thing that earned it
 * (`step:<id>`, `focus:<session id>`, `bonus:step:<id>` …) and is unique per user, so the same completion
 * can never pay twice, however often its event is retried or redelivered.
 */
export const xpLedger = sqliteTable(
  "xp_ledger",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    source: text("source", { enum: XP_SOURCES }).notNull(),
    sourceKey: text("source_key").notNull(),
    amount: integer("amount").notNull(),
    /** How the amount came about: base, bonuses, multiplier, the bonus events that applied. */
    breakdown: text("breakdown", { mode: "json" }).$type<Record<string, unknown>>().notNull(),
    /** The domain event that caused the grant, when one did. */
    eventId: text("event_id"),
    occurredAt: text("occurred_at").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    uniqueIndex("xp_ledger_user_source_key").on(t.userId, t.sourceKey),
    index("xp_ledger_user_id").on(t.userId, t.id),
    // Analytics adds up what one event earned (its XP on that local day).
    index("xp_ledger_event").on(t.eventId),
  ],
);

/** A user's running XP, level and week, kept in step with the ledger in the same batches. */
export const userProgress = sqliteTable("user_progress", {
  userId: text("user_id").primaryKey(),
  totalXp: integer("total_xp").notNull().default(0),
  level: integer("level").notNull().default(1),
  /** Monday (UTC) of the week `week_xp` counts; an older week's XP counts as none. */
  weekStart: text("week_start").notNull().default(""),
  weekXp: integer("week_xp").notNull().default(0),
  /**
   * What counts on the leaderboards: at most BOARD_XP_PER_DAY a day (the UTC day the XP arrived), all
   * time and for `week_start`'s week. Your own total and level are never capped.
   */
  boardXp: integer("board_xp").notNull().default(0),
  boardWeekXp: integer("board_week_xp").notNull().default(0),
  boardDay: text("board_day").notNull().default(""),
  boardDayXp: integer("board_day_xp").notNull().default(0),
  /** The longest streak ever reached: kept, because active days are only replayed a year and a bit back. */
  longestStreak: integer("longest_streak").notNull().default(0),
  /** Bumped with every change, so leaderboard copies can ignore an older total arriving late. */
  version: integer("version").notNull().default(0),
  /** Shown on the leaderboards only after opting in (off by default); the alias shown there. */
  leaderboardOptIn: integer("leaderboard_opt_in", { mode: "boolean" }).notNull().default(false),
  leaderboardName: text("leaderboard_name"),
  updatedAt: text("updated_at").notNull(),
});

/** Counters that badges are earned on. */
export const gamificationStats = sqliteTable("gamification_stats", {
  userId: text("user_id").primaryKey(),
  stepsCompleted: integer("steps_completed").notNull().default(0),
  tasksCompleted: integer("tasks_completed").notNull().default(0),
  focusSessions: integer("focus_sessions").notNull().default(0),
  longFocusSessions: integer("long_focus_sessions").notNull().default(0),
  morningSteps: integer("morning_steps").notNull().default(0),
  nightSteps: integer("night_steps").notNull().default(0),
  quickWins: integer("quick_wins").notNull().default(0),
  challengesCompleted: integer("challenges_completed").notNull().default(0),
  petFeeds: integer("pet_feeds").notNull().default(0),
  updatedAt: text("updated_at").notNull(),
});

/** The local days on which a user completed at least one step: streaks are replayed from these. */
export const activityDays = sqliteTable(
  "activity_days",
  {
    userId: text("user_id").notNull(),
    day: text("day").notNull(),
    steps: integer("steps").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.userId, t.day] })],
);

/** Badge definitions, seeded by the migration from the gamification feature's badges.ts. */
export const badges = sqliteTable("badges", {
  id: text("id").primaryKey(),
  family: text("family").notNull(),
  tier: text("tier").notNull(),
  name: text("name").notNull(),
  description: text("description").notNull(),
  metric: text("metric").notNull(),
  threshold: integer("threshold").notNull(),
});

export const userBadges = sqliteTable(
  "user_badges",
  {
    userId: text("user_id").notNull(),
    badgeId: text("badge_id").notNull(),
    unlockedAt: text("unlocked_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.badgeId] })],
);

/** The level curve as rows (seeded from the gamification feature's levels.ts), so a batch can level up in SQL. */
export const xpLevels = sqliteTable("xp_levels", {
  level: integer("level").primaryKey(),
  minXp: integer("min_xp").notNull(),
});

/** Progress on a date's challenges, which are not stored: `challengesFor(date)` derives them. */
export const challengeProgress = sqliteTable(
  "challenge_progress",
  {
    userId: text("user_id").notNull(),
    challengeId: text("challenge_id").notNull(),
    date: text("date").notNull(),
    progress: integer("progress").notNull().default(0),
    completedAt: text("completed_at"),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.challengeId] }),
    index("challenge_progress_user_date").on(t.userId, t.date),
  ],
);

/** Bonus XP windows ("double XP this weekend"), created by admins. */
export const bonusEvents = sqliteTable(
  "bonus_events",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    multiplier: real("multiplier").notNull(),
    startsAt: text("starts_at").notNull(),
    endsAt: text("ends_at").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: text("created_at").notNull(),
    cancelledAt: text("cancelled_at"),
  },
  (t) => [
    index("bonus_events_window").on(t.endsAt, t.startsAt),
    // An erased administrator is no longer named (src/features/account/erase-plan.ts).
    index("bonus_events_created_by").on(t.createdBy),
    check("bonus_events_multiplier_check", sql`${t.multiplier} > 1 AND ${t.multiplier} <= 3`),
  ],
);
