import { and, desc, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { apiTokens } from "../../db/schema";
import { apiTokenWorks } from "../../lib/auth/api-token";
import type { Scope } from "../../lib/auth/principal";
import { newApiToken } from "../../lib/auth/tokens";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import type { ApiTokenDto } from "./schemas";

const DAY_MS = 86_400_000;

/**
 * Active personal API tokens one account may hold (revoked and expired ones do not count). Generous
 * for scripts and devices; small enough that a stolen session cannot fill the table. Agents' own
 * tokens are counted with their agents.
 */
export const MAX_API_TOKENS_PER_USER = 50;

type ApiTokenRow = typeof apiTokens.$inferSelect;

function toApiTokenDto(row: ApiTokenRow): ApiTokenDto {
  return {
    id: row.id,
    name: row.name,
    scopes: row.scopes,
    token_prefix: row.tokenPrefix,
    created_at: row.createdAt,
    expires_at: row.expiresAt,
    last_used_at: row.lastUsedAt,
  };
}

/** The user's own (not agents') tokens that still work at `now`. */
function activePersonalTokens(userId: string, now: number): SQL | undefined {
  return and(eq(apiTokens.userId, userId), isNull(apiTokens.agentId), apiTokenWorks(now));
}

/** Creates a token unless the account already holds the most it may: 409 `too_many_tokens`. */
export async function createApiToken(
  db: Database,
  userId: string,
  input: { name: string; scopes: Scope[]; expires_in_days?: number | undefined },
): Promise<ApiTokenDto & { token: string }> {
  const now = Date.now();
  const { token, hash, displayPrefix } = await newApiToken();
  const row: ApiTokenRow = {
    id: newId(now),
    userId,
    name: input.name,
    tokenHash: hash,
    tokenPrefix: displayPrefix,
    scopes: [...new Set(input.scopes)],
    agentId: null,
    expiresAt: input.expires_in_days ? nowIso(now + input.expires_in_days * DAY_MS) : null,
    lastUsedAt: null,
    createdAt: nowIso(now),
    revokedAt: null,
  };
  // Counting and inserting in one statement: concurrent creates cannot all see room for themselves.
  const underCap = sql`(SELECT count(*) FROM ${apiTokens} WHERE ${activePersonalTokens(userId, now)}) < ${MAX_API_TOKENS_PER_USER}`;
  const inserted = await db
    .insert(apiTokens)
    .select(
      sql`SELECT ${row.id}, ${row.userId}, ${row.name}, ${row.tokenHash}, ${row.tokenPrefix}, ${JSON.stringify(row.scopes)}, NULL, ${row.expiresAt}, NULL, ${row.createdAt}, NULL WHERE ${underCap}`,
    )
    .returning({ id: apiTokens.id });
  if (inserted.length === 0) {
    throw new ApiError(
      409,
      "too_many_tokens",
      `This account already has ${MAX_API_TOKENS_PER_USER} active API tokens; revoke one before creating another.`,
    );
  }
  return { ...toApiTokenDto(row), token };
}

/** One page of the user's active tokens, newest first. */
export async function listApiTokens(
  db: Database,
  userId: string,
  query: { limit: number },
  afterId: string | null,
): Promise<Page<ApiTokenDto>> {
  const rows = await db
    .select()
    .from(apiTokens)
    // Agents' own tokens are managed with their agent (re-registering rotates them).
    .where(
      and(
        eq(apiTokens.userId, userId),
        isNull(apiTokens.revokedAt),
        isNull(apiTokens.agentId),
        afterId ? lt(apiTokens.id, afterId) : undefined,
      ),
    )
    .orderBy(desc(apiTokens.id))
    .limit(rowsToFetch(query.limit))
    .all();
  return pageOf(rows, query.limit, toApiTokenDto, (r) => r.id);
}

export async function revokeApiToken(db: Database, userId: string, tokenId: string): Promise<void> {
  const revoked = await db
    .update(apiTokens)
    .set({ revokedAt: nowIso() })
    .where(
      and(
        eq(apiTokens.id, tokenId),
        eq(apiTokens.userId, userId),
        isNull(apiTokens.revokedAt),
        isNull(apiTokens.agentId),
      ),
    )
    .returning({ id: apiTokens.id });
  if (revoked.length === 0) throw notFound("API token");
}
