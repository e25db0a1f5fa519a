import { and, desc, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { apiTokens, refreshTokens, users } from "../../db/schema";
import type { Env } from "../../env";
import { accessTokenTtlSeconds, jwtConfig, refreshTokenTtlDays } from "../../lib/auth/config";
import { signJwt } from "../../lib/auth/jwt";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../lib/auth/password";
import type { Scope } from "../../lib/auth/principal";
import { newApiToken, newRefreshToken } from "../../lib/auth/tokens";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, unauthorized } from "../../lib/errors";
import { newId, sha256Hex } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { ApiTokenDto, UserDto } from "./schemas";
import { lockQuery, releaseAfterSuccess, reserveAttempt, retryAfterSeconds, throttleKeys } from "./throttle";

const DAY_MS = 86_400_000;

type UserRow = typeof users.$inferSelect;

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    display_name: row.displayName,
    timezone: row.timezone,
    created_at: row.createdAt,
  };
}

export interface AuthResult {
  user: UserDto;
  access_token: string;
  refresh_token: string;
  token_type: "Bearer";
  expires_in: number;
}

interface IssuedRefresh {
  id: string;
  token: string;
  row: typeof refreshTokens.$inferInsert;
}

async function issueRefreshToken(
  env: Env,
  userId: string,
  familyId: string,
  now: number,
): Promise<IssuedRefresh> {
  const { token, hash } = await newRefreshToken();
  const id = newId(now);
  return {
    id,
    token,
    row: {
      id,
      userId,
      familyId,
      tokenHash: hash,
      createdAt: nowIso(now),
      expiresAt: nowIso(now + refreshTokenTtlDays(env) * DAY_MS),
    },
  };
}

async function authResult(env: Env, user: UserRow, familyId: string, refreshToken: string, now: number) {
  const ttl = accessTokenTtlSeconds(env);
  const config = jwtConfig(env);
  const iat = Math.floor(now / 1000);
  const accessToken = await signJwt(
    {
      sub: user.id,
      iss: config.issuer,
      aud: config.audience,
      iat,
      exp: iat + ttl,
      jti: newId(now),
      sid: familyId,
    },
    config.secret,
  );
  return {
    user: toUserDto(user),
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: "Bearer" as const,
    expires_in: ttl,
  } satisfies AuthResult;
}

export async function registerUser(
  db: Database,
  env: Env,
  input: {
    email: string;
    password: string;
    display_name?: string | undefined;
    timezone?: string | undefined;
  },
): Promise<AuthResult> {
  const now = Date.now();
  const user: UserRow = {
    id: newId(now),
    email: input.email,
    passwordHash: await hashPassword(input.password),
    displayName: input.display_name ?? null,
    timezone: input.timezone ?? "UTC",
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  };
  const familyId = newId(now);
  const refresh = await issueRefreshToken(env, user.id, familyId, now);
  try {
    await db.batch([db.insert(users).values(user), db.insert(refreshTokens).values(refresh.row)]);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError(409, "email_taken", "An account with this email already exists; log in instead.");
    }
    throw error;
  }
  return authResult(env, user, familyId, refresh.token, now);
}

export async function loginUser(
  db: Database,
  env: Env,
  input: { email: string; password: string },
  clientAddress: string,
): Promise<AuthResult> {
  const now = Date.now();
  const keys = throttleKeys(input.email, clientAddress);
  // The attempt is reserved before the password is hashed, so concurrency cannot outrun the limit.
  const [found, reserved, locks] = await db.batch([
    db.select().from(users).where(eq(users.email, input.email)).limit(1),
    reserveAttempt(db, keys, now),
    lockQuery(db, keys),
  ]);
  if (reserved.length === 0) {
    const retryAfter = Math.max(1, retryAfterSeconds(locks, now));
    throw new ApiError(
      429,
      "too_many_attempts",
      `Too many failed logins; try again in ${retryAfter} seconds.`,
      { headers: { "Retry-After": String(retryAfter) } },
    );
  }
  const user = found[0];
  // Verify against a dummy hash for unknown emails, so timing does not reveal which accounts exist.
  const valid = await verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash()));
  // A failure keeps its reservation: it was counted before the password was checked.
  if (!user || !valid)
    throw new ApiError(401, "invalid_credentials", "The email or password is not correct.");
  const familyId = newId(now);
  const refresh = await issueRefreshToken(env, user.id, familyId, now);
  await db.batch([db.insert(refreshTokens).values(refresh.row), ...releaseAfterSuccess(db, keys)]);
  return authResult(env, user, familyId, refresh.token, now);
}

/**
 * Rotates a refresh token: the presented one stops working and a new one is issued in the same
 * family. Presenting an already-rotated token means it was copied, so the whole family is revoked.
 */
export async function refreshSession(db: Database, env: Env, presented: string): Promise<AuthResult> {
  const now = Date.now();
  const current = await db
    .select()
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, await sha256Hex(presented)))
    .get();
  if (!current) throw unauthorized("The refresh token is not valid.");
  if (current.revokedAt) {
    await revokeFamily(db, current.userId, current.familyId, now);
    throw unauthorized("This refresh token was already used; sign in again.");
  }
  if (Date.parse(current.expiresAt) <= now)
    throw unauthorized("The refresh token has expired; sign in again.");

  const next = await issueRefreshToken(env, current.userId, current.familyId, now);
  const r = next.row;
  // The conditional update wins for exactly one concurrent caller; the insert only follows that win.
  const [rotated, , userRows] = await db.batch([
    db
      .update(refreshTokens)
      .set({ revokedAt: nowIso(now), replacedBy: next.id })
      .where(and(eq(refreshTokens.id, current.id), isNull(refreshTokens.revokedAt)))
      .returning({ id: refreshTokens.id }),
    db.insert(refreshTokens).select(
      db
        .select({
          id: sql<string>`${r.id}`.as("id"),
          userId: sql<string>`${r.userId}`.as("user_id"),
          familyId: sql<string>`${r.familyId}`.as("family_id"),
          tokenHash: sql<string>`${r.tokenHash}`.as("token_hash"),
          expiresAt: sql<string>`${r.expiresAt}`.as("expires_at"),
          createdAt: sql<string>`${r.createdAt}`.as("created_at"),
          revokedAt: sql<string | null>`NULL`.as("revoked_at"),
          replacedBy: sql<string | null>`NULL`.as("replaced_by"),
        })
        .from(refreshTokens)
        .where(and(eq(refreshTokens.id, current.id), eq(refreshTokens.replacedBy, next.id))),
    ),
    db.select().from(users).where(eq(users.id, current.userId)).limit(1),
  ]);
  const user = userRows[0];
  if (rotated.length === 0 || !user)
    throw unauthorized("This refresh token was already used; sign in again.");
  return authResult(env, user, current.familyId, next.token, now);
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

/** Ends the caller's session (or the one a refresh token belongs to, or all of them). */
export async function logout(
  db: Database,
  userId: string,
  sessionFamilyId: string | undefined,
  input: { refresh_token?: string | undefined; all?: boolean | undefined },
): Promise<void> {
  const now = Date.now();
  if (input.all) {
    await db
      .update(refreshTokens)
      .set({ revokedAt: nowIso(now) })
      .where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt)))
      .run();
    return;
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
  if (familyId) await revokeFamily(db, userId, familyId, now);
}

export async function getUser(db: Database, userId: string): Promise<UserRow> {
  const user = await db.select().from(users).where(eq(users.id, userId)).get();
  if (!user) throw unauthorized("The account behind this token no longer exists.");
  return user;
}

export async function updateUser(
  db: Database,
  userId: string,
  input: { display_name?: string | null | undefined; timezone?: string | undefined },
): Promise<UserRow> {
  const [row] = await db
    .update(users)
    // drizzle leaves out undefined keys; an explicit null clears the display name.
    .set({ displayName: input.display_name, timezone: input.timezone, updatedAt: nowIso() })
    .where(eq(users.id, userId))
    .returning();
  if (!row) throw unauthorized("The account behind this token no longer exists.");
  return row;
}

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
  await db.insert(apiTokens).values(row).run();
  return { ...toApiTokenDto(row), token };
}

export async function listApiTokens(db: Database, userId: string): Promise<ApiTokenDto[]> {
  const rows = await db
    .select()
    .from(apiTokens)
    // Agents' own tokens are managed with their agent (re-registering rotates them).
    .where(and(eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt), isNull(apiTokens.agentId)))
    .orderBy(desc(apiTokens.id))
    .all();
  return rows.map(toApiTokenDto);
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

/** True while the user's API token is neither revoked nor expired: for long-lived uses of one check. */
export async function isApiTokenActive(db: Database, userId: string, tokenId: string): Promise<boolean> {
  const row = await db
    .select({ expiresAt: apiTokens.expiresAt })
    .from(apiTokens)
    .where(and(eq(apiTokens.id, tokenId), eq(apiTokens.userId, userId), isNull(apiTokens.revokedAt)))
    .get();
  return row !== undefined && (row.expiresAt === null || Date.parse(row.expiresAt) > Date.now());
}
