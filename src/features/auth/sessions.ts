import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { refreshTokens, users } from "../../db/schema";
import type { Env } from "../../env";
import { jwtConfig, refreshTokenTtlDays } from "../../lib/auth/config";
import { successorRefreshToken } from "../../lib/auth/tokens";
import { unauthorized } from "../../lib/errors";
import { newId, sha256Hex } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { type AuthResult, authResult } from "./service";

const DAY_MS = 86_400_000;

/**
 * How long after a rotation the rotated token still answers, with the same new pair: a client that
 * sent its refresh twice (two tabs, a retry after a timeout) stays signed in. Past it, a rotated token
 * means a copy is in someone else's hands.
 */
export const REFRESH_RETRY_GRACE_MS = 30_000;

type RefreshRow = typeof refreshTokens.$inferSelect;

const alreadyUsed = () => unauthorized("This refresh token was already used; sign in again.");

/**
 * Rotates a refresh token: the presented one stops working and its successor is issued in the same
 * family. The successor is derived from the presented token, so every retry within the grace window
 * gets the same pair; presenting a rotated token later revokes the whole family.
 */
export async function refreshSession(db: Database, env: Env, presented: string): Promise<AuthResult> {
  const now = Date.now();
  const current = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(presented)))
    .get();
  if (!current) throw unauthorized("The refresh token is not valid.");
  if (current.revokedAt) return answerRetry(db, env, current, current.revokedAt, presented, now);
  if (Date.parse(current.expiresAt) <= now)
    throw unauthorized("The refresh token has expired; sign in again.");

  const successor = await successorRefreshToken(jwtConfig(env).secret, presented);
  const nextId = newId(now);
  const expiresAt = nowIso(now + refreshTokenTtlDays(env) * DAY_MS);
  // The conditional update wins for exactly one concurrent caller; the insert only follows that win.
  const [rotated, , userRows] = await db.batch([
    db
      .update(refreshTokens)
      .set({ revokedAt: nowIso(now), replacedBy: nextId })
      .where(and(eq(refreshTokens.id, current.id), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id }),
    db.insert(refreshTokens).select(
      db
        .select({
          id: sql<string>`${nextId}`.as("id"),
          userId: sql<string>`${current.userId}`.as("user_id"),
          familyId: sql<string>`${current.familyId}`.as("family_id"),
          tokenHash: sql<string>`${successor.hash}`.as("token_hash"),
          expiresAt: sql<string>`${expiresAt}`.as("expires_at"),
          createdAt: sql<string>`${nowIso(now)}`.as("created_at"),
          revokedAt: sql<string | null>`NULL`.as("revoked_at"),
          replacedBy: sql<string | null>`NULL`.as("replaced_by"),
        })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.id, current.id), eq(refreshTokens.replacedBy, nextId))),
    ),
    db.select().from(users).where(eq(users.id, current.userId)).limit(1),
  ]);
  const user = userRows[0];
  if (rotated.length === 0) {
    // A concurrent refresh with the same token rotated it first: this one is its retry.
    const after = await db.select().from(refreshTokens).where(eq(refreshTokens.id, current.id)).get();
    if (!after?.revokedAt) throw alreadyUsed();
    return answerRetry(db, env, after, after.revokedAt, presented, now);
  }
  if (!user) throw alreadyUsed();
  return authResult(env, user, current.familyId, successor.token, { at: now, jti: nextId }, now);
}

/**
 * A rotated token presented again. Within the grace window, while its successor is still live, the
 * answer is the pair the rotation issued: the successor is derived again from the presented token and
 * the access token rebuilt from the rotation's time and the successor's id. Otherwise it is reuse.
 */
async function answerRetry(
  db: Database,
  env: Env,
  rotated: RefreshRow,
  /** When it was rotated: its `revoked_at`. */
  revokedAt: string,
  presented: string,
  now: number,
): Promise<AuthResult> {
  const rotatedAt = Date.parse(revokedAt);
  if (rotated.replacedBy && now - rotatedAt <= REFRESH_RETRY_GRACE_MS) {
    const [successors, userRows] = await db.batch([
      db
        .select()
        .from(refreshTokens)
        .where(
          and(
            eq(refreshTokens.id, rotated.replacedBy),
            eq(refreshTokens.userId, rotated.userId),
            isNull(refreshTokens.revokedAt),
          ),
        )
        .limit(1),
      db.select().from(users).where(eq(users.id, rotated.userId)).limit(1),
    ]);
    const successor = successors[0];
    const user = userRows[0];
    if (successor && user && Date.parse(successor.expiresAt) > now) {
      const { token } = await successorRefreshToken(jwtConfig(env).secret, presented);
      return authResult(env, user, rotated.familyId, token, { at: rotatedAt, jti: successor.id }, now);
    }
  }
  await revokeFamily(db, rotated.userId, rotated.familyId, now);
  throw alreadyUsed();
}

function revokeFamily(db: Database, userId: string, familyId: string, now: number) {
  return db
    .update(refreshTokens)
    .set({ revokedAt: nowIso(now) })
    .where(
      and(
        eq(refreshTokens.userId, userId),
        eq(refreshTokens.familyId, familyId),
        isNull(refreshTokens.revokedAt),
      ),
    )
    .run();
}

/**
 * Ends the caller's session (or the one a refresh token belongs to, or all of them); answers the
 * logins (refresh families) it ended, whose live sockets must close too.
 */
export async function logout(
  db: Database,
  userId: string,
  sessionFamilyId: string,
  input: { refresh_token?: string | undefined; all?: boolean | undefined },
): Promise<string[]> {
  const now = Date.now();
  if (input.all) {
    const ended = await db
      .update(refreshTokens)
      .set({ revokedAt: nowIso(now) })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
      .returning({ familyId: refreshTokens.familyId });
    return [...new Set([sessionFamilyId, ...ended.map((r) => r.familyId)])];
  }
  let familyId = sessionFamilyId;
  if (input.refresh_token) {
    const row = await db
      .select({ familyId: refreshTokens.familyId })
      .from(refreshTokens)
      .where(
        and(
          eq(refreshTokens.tokenHash, await sha256Hex(input.refresh_token)),
          eq(refreshTokens.userId, userId),
        ),
      )
      .get();
    familyId = row?.familyId ?? familyId;
  }
  await revokeFamily(db, userId, familyId, now);
  return [familyId];
}
