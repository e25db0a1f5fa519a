import { sql } from "drizzle-orm";
import { check, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const WORK_PREFERENCES = ["remote", "hybrid", "office", "flexible"] as const;
export type WorkPreference = (typeof WORK_PREFERENCES)[number];

/** The days and hours a person said they like to work, in the keys the client sent them. */
export type DailySchedule = Record<string, unknown>;

/**
 * What a person told the original mobile app's onboarding screens: kept so the app shows it again,
 * and read by the splitter where it means what the splitter's own inputs mean (energy, step size).
 */
export const onboardingProfiles = sqliteTable(
  "onboarding_profiles",
  {
    userId: text("user_id").primaryKey(),
    workPreference: text("work_preference", { enum: WORK_PREFERENCES }),
    adhdSupportLevel: integer("adhd_support_level"),
    adhdChallenges: text("adhd_challenges", { mode: "json" }).$type<string[]>().notNull().default(sql`'[]'`),
    dailySchedule: text("daily_schedule", { mode: "json" }).$type<DailySchedule>(),
    productivityGoals: text("productivity_goals", { mode: "json" })
      .$type<string[]>()
      .notNull()
      .default(sql`'[]'`),
    completedAt: text("completed_at"),
    skippedAt: text("skipped_at"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
  },
  (t) => [check("onboarding_support_level_check", sql`${t.adhdSupportLevel} BETWEEN 1 AND 10`)],
);
