import { and, eq, gt, isNull, or, type SQL } from "drizzle-orm";
import type { Database } from "../../db";
import { apiTokens } from "../../db/schema";
import { nowIso } from "../time";

/**
 * When an API token stops working: once revoked, or from the moment its expiry is reached. Every check
 * of a token — each request, a socket ticket, a socket's long life, the per-user cap — uses this rule.
 */
export function apiTokenEnded(
  token: { revokedAt: string | null; expiresAt: string | null },
  now: number,
): "revoked" | "expired" | null {
  if (token.revokedAt !== null) return "revoked";
  if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return "expired";
  return null;
}

/** The same rule as a condition on `api_tokens`, for queries that count or pick working tokens. */
export function apiTokenWorks(now: number): SQL | undefined {
  return and(
    isNull(apiTokens.revokedAt),
    or(isNull(apiTokens.expiresAt), gt(apiTokens.expiresAt, nowIso(now))),
  );
}

/** Whether the user's API token still works: for long-lived uses of one check (sockets, tickets). */
export async function isApiTokenActive(
  db: Database,
  userId: string,
  tokenId: string,
  now?: number,
): Promise<boolean> {
  const row = await db
    .select({ revokedAt: apiTokens.revokedAt, expiresAt: apiTokens.expiresAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId)))
    .get();
  return row !== undefined && apiTokenEnded(row, now ?? Date.now()) === null;
}
