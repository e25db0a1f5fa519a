import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { focusSettings } from "../../db/schema";
import { type FocusSettings, normalizeSettings } from "./kinds";

type SettingsRow = typeof focusSettings.$inferSelect;

const COLUMNS = {
  pomodoro_work_minutes: "pomodoroWorkMinutes",
  short_break_minutes: "shortBreakMinutes",
  long_break_minutes: "longBreakMinutes",
  long_break_every: "longBreakEvery",
  deep_work_minutes: "deepWorkMinutes",
  short_burst_minutes: "shortBurstMinutes",
  flowtime_break_percent: "flowtimeBreakPercent",
} as const satisfies Record<keyof FocusSettings, keyof SettingsRow>;

/** Settings from a stored row (or the defaults when there is none). */
function settingsFromRow(row: SettingsRow | undefined): FocusSettings {
  if (!row) return normalizeSettings(null);
  const partial: Partial<FocusSettings> = {};
  for (const [key, column] of Object.entries(COLUMNS) as [keyof FocusSettings, keyof SettingsRow][]) {
    const value = row[column];
    if (typeof value === "number") partial[key] = value;
  }
  return normalizeSettings(partial);
}

export async function getSettings(db: Database, userId: string): Promise<FocusSettings> {
  return settingsFromRow(await db.select().from(focusSettings).where(eq(focusSettings.userId, userId)).get());
}

/** The statement that stores a user's settings in D1 (the FocusTimer sends it through its outbox). */
export function settingsUpsert(db: Database, userId: string, settings: FocusSettings, updatedAt: string) {
  const values: Partial<SettingsRow> = {};
  for (const [key, column] of Object.entries(COLUMNS) as [keyof FocusSettings, keyof SettingsRow][]) {
    Object.assign(values, { [column]: settings[key] });
  }
  return db
    .insert(focusSettings)
    .values({ userId, ...values, updatedAt })
    .onConflictDoUpdate({ target: focusSettings.userId, set: { ...values, updatedAt } });
}
