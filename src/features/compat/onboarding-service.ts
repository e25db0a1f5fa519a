import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { onboardingProfiles, users } from "../../db/schema";
import { notFound } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import type { OnboardingDto, OnboardingInput } from "./onboarding-schemas";

type ProfileRow = typeof onboardingProfiles.$inferSelect;
type ProfileChange = Partial<Omit<ProfileRow, "userId" | "createdAt">>;

export function toOnboardingDto(row: ProfileRow): OnboardingDto {
  return {
    user_id: row.userId,
    work_preference: row.workPreference,
    adhd_support_level: row.adhdSupportLevel,
    adhd_challenges: row.adhdChallenges,
    daily_schedule: row.dailySchedule,
    productivity_goals: row.productivityGoals,
    chatgpt_export_prompt: null,
    chatgpt_exported_at: null,
    onboarding_completed: row.completedAt !== null,
    onboarding_skipped: row.skippedAt !== null,
    completed_at: row.completedAt,
    skipped_at: row.skippedAt,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** The columns a body changes: only the fields it sends (a PUT is partial, as in the original). */
function changeOf(input: OnboardingInput): ProfileChange {
  const change: ProfileChange = {};
  if (input.work_preference !== undefined) change.workPreference = input.work_preference;
  if (input.adhd_support_level !== undefined) change.adhdSupportLevel = input.adhd_support_level;
  if (input.adhd_challenges !== undefined) change.adhdChallenges = input.adhd_challenges ?? [];
  if (input.daily_schedule !== undefined) change.dailySchedule = input.daily_schedule;
  if (input.productivity_goals !== undefined) change.productivityGoals = input.productivity_goals ?? [];
  return change;
}

/** Creates the profile or changes it, in one statement: two first calls at once cannot both insert. */
async function upsert(db: Database, userId: string, change: ProfileChange): Promise<OnboardingDto> {
  const now = nowIso();
  const row = await db
    .insert(onboardingProfiles)
    .values({ userId, ...change, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: onboardingProfiles.userId, set: { ...change, updatedAt: now } })
    .returning()
    .get();
  return toOnboardingDto(row);
}

export const saveOnboarding = (db: Database, userId: string, input: OnboardingInput) =>
  upsert(db, userId, changeOf(input));

/** Finished (true) or skipped (false): the one that happened last is what the profile says. */
export function finishOnboarding(db: Database, userId: string, completed: boolean) {
  const now = nowIso();
  return upsert(
    db,
    userId,
    completed ? { completedAt: now, skippedAt: null } : { completedAt: null, skippedAt: now },
  );
}

export async function getOnboarding(db: Database, userId: string): Promise<OnboardingDto> {
  const row = await db.select().from(onboardingProfiles).where(eq(onboardingProfiles.userId, userId)).get();
  // The app reads 404 as "not started yet".
  if (!row) throw notFound("Onboarding");
  return toOnboardingDto(row);
}

export async function deleteOnboarding(db: Database, userId: string): Promise<void> {
  const gone = await db
    .delete(onboardingProfiles)
    .where(eq(onboardingProfiles.userId, userId))
    .returning({ id: onboardingProfiles.userId })
    .get();
  if (!gone) throw notFound("Onboarding");
}

/**
 * What the splitter reads of a profile, with the user's time zone (their hours are local), as one
 * batchable statement; the profile's fields are null when there is none.
 */
export function onboardingForSplitQuery(db: Database, userId: string) {
  return db
    .select({
      adhd_support_level: onboardingProfiles.adhdSupportLevel,
      daily_schedule: onboardingProfiles.dailySchedule,
      time_zone: users.timezone,
    })
    .from(users)
    .leftJoin(onboardingProfiles, eq(onboardingProfiles.userId, users.id))
    .where(eq(users.id, userId));
}
