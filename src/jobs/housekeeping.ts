import { and, isNull, lt, or } from "drizzle-orm";
import { createDatabase } from "../db";
import { idempotencyKeys, loginThrottles } from "../db/schema";
import type { Env } from "../env";
import { THROTTLE_WINDOW_MS } from "../features/auth/throttle";
import { nowIso } from "../lib/time";

/** Clients retry within minutes; a day covers any sane retry policy (Stripe keeps keys 24 h too). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/**
 * Cron: forgets stored idempotent answers older than a day and login counters whose window and
 * lock have both lapsed. Each run is idempotent: it only deletes what is already expired.
 */
export async function cleanUpExpired(env: Env, now = Date.now()): Promise<void> {
  const db = createDatabase(env.DB);
  await db.batch([
    db.delete(idempotencyKeys).where(lt(idempotencyKeys.createdAt, nowIso(now - IDEMPOTENCY_TTL_MS))),
    db
      .delete(loginThrottles)
      .where(
        and(
          lt(loginThrottles.windowStartedAt, now - THROTTLE_WINDOW_MS),
          or(isNull(loginThrottles.lockedUntil), lt(loginThrottles.lockedUntil, now)),
        ),
      ),
  ]);
}
