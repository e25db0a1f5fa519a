import { inArray, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { loginThrottles } from "../../db/schema";
import { ApiError } from "../../lib/errors";

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

/** The 429 for an attempt refused because the account or the address is locked. */
export function lockedOut(locks: { lockedUntil: number | null }[], now: number): ApiError {
  const retryAfter = Math.max(1, retryAfterSeconds(locks, now));
  return new ApiError(
    429,
    "too_many_attempts",
    `Too many failed logins; try again in ${retryAfter} seconds.`,
    {
      headers: { "Retry-After": String(retryAfter) },
    },
  );
}

/**
 * Reserves one login attempt on the account and on the address before any password is hashed: each
 * key's count goes up (restarting a lapsed window) and locks at its limit, so a burst of concurrent
 * guesses gets at most the limit evaluated; the rest find the lock. One statement for both keys: its
 * SELECT reads the table before any of its own writes (SQLite computes an INSERT's source first when
 * it reads the target), so the attempt is counted on both keys or on neither. Returns the keys
 * reserved: both, or none when a lock is in force.
 */
export function reserveAttempt(db: Database, keys: ThrottleKeys, now: number) {
  const t = loginThrottles;
  const limitOf = (key: unknown) =>
    sql`CASE WHEN ${key} = ${keys.account} THEN ${MAX_FAILURES_PER_ACCOUNT} ELSE ${MAX_FAILURES_PER_ADDRESS} END`;
  const windowLapsed = sql`${t.windowStartedAt} <= ${now - THROTTLE_WINDOW_MS}`;
  const countAfter = sql`CASE WHEN ${windowLapsed} THEN 1 ELSE ${t.failures} + 1 END`;
  // Fresh rows: both limits are above 1, so a first attempt never locks.
  const source = sql`SELECT k.column1, 1, ${now}, NULL FROM (VALUES (${keys.account}), (${keys.address})) AS k
    WHERE NOT EXISTS (SELECT 1 FROM ${t} WHERE ${t.key} IN (${keys.account}, ${keys.address}) AND ${t.lockedUntil} > ${now})`;
  return db
    .insert(t)
    .select(source)
    .onConflictDoUpdate({
      target: t.key,
      set: {
        failures: countAfter,
        windowStartedAt: sql`CASE WHEN ${windowLapsed} THEN ${now} ELSE ${t.windowStartedAt} END`,
        lockedUntil: sql`CASE WHEN ${countAfter} >= ${limitOf(t.key)} THEN ${now + THROTTLE_LOCK_MS} ELSE ${t.lockedUntil} END`,
      },
    })
    .returning({ key: t.key });
}

/**
 * After a successful login: the account's failures are forgotten (as before reservations), and the
 * address gets its reserved attempt back, lifting a lock only this attempt had brought on.
 */
export function releaseAfterSuccess(db: Database, keys: ThrottleKeys) {
  const t = loginThrottles;
  const countAfter = sql`max(${t.failures} - 1, 0)`;
  return [
    db.delete(t).where(inArray(t.key, [keys.account])),
    db
      .update(t)
      .set({
        failures: countAfter,
        lockedUntil: sql`CASE WHEN ${countAfter} < ${MAX_FAILURES_PER_ADDRESS} THEN NULL ELSE ${t.lockedUntil} END`,
      })
      .where(inArray(t.key, [keys.address])),
  ] as const;
}
