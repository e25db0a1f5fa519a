import { inArray, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { loginThrottles } from "../../db/schema";

/** Failed logins counted per account and per client address, each in a sliding 15-minute window. */
export const THROTTLE_WINDOW_MS = 15 * 60_000;
export const THROTTLE_LOCK_MS = 15 * 60_000;
export const MAX_FAILURES_PER_ACCOUNT = 5;
// An address may be shared (an office NAT), so it gets more room than one account.
export const MAX_FAILURES_PER_ADDRESS = 30;

export interface ThrottleKeys {
  account: string;
  address: string;
}

export function throttleKeys(email: string, address: string): ThrottleKeys {
  return { account: `account:${email}`, address: `address:${address}` };
}

export function lockQuery(db: Database, keys: ThrottleKeys) {
  return db
    .select({ key: loginThrottles.key, lockedUntil: loginThrottles.lockedUntil })
    .from(loginThrottles)
    .where(inArray(loginThrottles.key, [keys.account, keys.address]));
}

/** Seconds until the latest lock among `rows` ends, or 0 when none is in force. */
export function retryAfterSeconds(rows: { lockedUntil: number | null }[], now: number): number {
  const until = Math.max(0, ...rows.map((r) => r.lockedUntil ?? 0));
  return until > now ? Math.ceil((until - now) / 1000) : 0;
}

/** One statement per key: count the failure, restarting the window if it lapsed, and lock at the limit. */
function recordFailureStatement(db: Database, key: string, limit: number, now: number) {
  const windowLapsed = sql`${loginThrottles.windowStartedAt} <= ${now - THROTTLE_WINDOW_MS}`;
  const failuresAfter = sql`CASE WHEN ${windowLapsed} THEN 1 ELSE ${loginThrottles.failures} + 1 END`;
  return db
    .insert(loginThrottles)
    .values({
      key,
      failures: 1,
      windowStartedAt: now,
      lockedUntil: limit <= 1 ? now + THROTTLE_LOCK_MS : null,
    })
    .onConflictDoUpdate({
      target: loginThrottles.key,
      set: {
        failures: failuresAfter,
        windowStartedAt: sql`CASE WHEN ${windowLapsed} THEN ${now} ELSE ${loginThrottles.windowStartedAt} END`,
        lockedUntil: sql`CASE WHEN ${failuresAfter} >= ${limit} THEN ${now + THROTTLE_LOCK_MS} ELSE ${loginThrottles.lockedUntil} END`,
      },
    });
}

export async function recordLoginFailure(db: Database, keys: ThrottleKeys, now = Date.now()): Promise<void> {
  await db.batch([
    recordFailureStatement(db, keys.account, MAX_FAILURES_PER_ACCOUNT, now),
    recordFailureStatement(db, keys.address, MAX_FAILURES_PER_ADDRESS, now),
  ]);
}

export function clearAccountFailures(db: Database, keys: ThrottleKeys) {
  return db.delete(loginThrottles).where(inArray(loginThrottles.key, [keys.account]));
}
