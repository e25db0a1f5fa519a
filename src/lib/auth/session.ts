import { and, eq, gt, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { refreshTokens } from "../../db/schema";
import { nowIso } from "../time";

/**
 * Whether a login (a refresh-token family, the access token's `sid`) is still alive: it has a refresh
 * token that is neither revoked nor expired. Logout and reuse detection revoke the whole family, so
 * this is what turns "signed out" into "refused" for the routes that mint or manage credentials.
 * One read on the (user_id, family_id) index.
 */
export async function isLoginAlive(db: Database, userId: string, familyId: string, now = Date.now()) {
  const row = await db
    .select({ id: refreshTokens.id })
    .from(refreshTokens)
    .where(
      and(
        eq(refreshTokens.userId, userId),
        eq(refreshTokens.familyId, familyId),
        isNull(refreshTokens.revokedAt),
        gt(refreshTokens.expiresAt, nowIso(now)),
      ),
    )
    .limit(1)
    .get();
  return row !== undefined;
}
