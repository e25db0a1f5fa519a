import { createDatabase } from "../db";
import type { Env } from "../env";
import { storeChallenges } from "../features/gamification/service";
import { addDays } from "../lib/time";

/**
 * Cron, daily at 00:00 UTC: writes the challenges of today and tomorrow (UTC dates), so every time
 * zone finds its local day's challenges stored (UTC+14 is already in tomorrow). Challenges are
 * deterministic per date, so running the job twice — or the event handler writing a date first —
 * changes nothing.
 */
export async function generateDailyChallenges(env: Env, now = Date.now()): Promise<number> {
  const today = new Date(now).toISOString().slice(0, 10);
  return storeChallenges(createDatabase(env.DB), [today, addDays(today, 1)]);
}
