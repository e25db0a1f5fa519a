import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { refreshTokens, users } from "../../db/schema";
import type { Env } from "../../env";
import { isAdmin } from "../../lib/auth/admin";
import { accessTokenTtlSeconds, jwtConfig, refreshTokenTtlDays } from "../../lib/auth/config";
import { signJwt } from "../../lib/auth/jwt";
import { dummyPasswordHash, hashPassword, verifyPassword } from "../../lib/auth/password";
import type { Scope } from "../../lib/auth/principal";
import { newRefreshToken } from "../../lib/auth/tokens";
import { errorText, isUniqueViolation } from "../../lib/db-errors";
import { ApiError, forbidden, unauthorized } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { closeCredentialSockets } from "../../lib/live-socket-close";
import { nowIso } from "../../lib/time";
import { usernameKey } from "../compat/username-key";
import { movePetToTimezone } from "../pets/service";
import { closeRoomCredentialSockets } from "../rooms/service";
import { createApiToken, revokeApiToken } from "./api-tokens";
import type { UserDto } from "./schemas";
import { logout as endSessions } from "./sessions";
import { lockedOut, lockQuery, releaseAfterSuccess, reserveAttempt, throttleKeys } from "./throttle";

const DAY_MS = 86_400_000;

export type UserRow = typeof users.$inferSelect;

export function toUserDto(row: UserRow): UserDto {
  return {
    id: row.id,
    email: row.email,
    display_name: row.displayName,
    timezone: row.timezone,
    created_at: row.createdAt,
    user_id: row.id,
    username: row.username,
    full_name: row.displayName,
    is_active: true,
  };
}

/** A unique violation on the users table, as the problem it means: the username or the email is taken. */
function takenError(error: unknown): ApiError {
  const message = errorText(error);
  // SQLite names the failing column (users.username_key): the unique index users_username_key's.
  if (message.includes("username_key")) {
    return new ApiError(409, "username_taken", "This username is taken; choose another one.", {
      errors: [{ field: "username", message: "Taken" }],
    });
  }
  return new ApiError(409, "email_taken", "An account with this email already exists; log in instead.");
}

export interface AuthResult {
  user: UserDto;
  access_token: string;
  refresh_token: string;
  token_type: "bearer";
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

/**
 * The answer to a sign-in or a refresh. The access token's `iat` and `jti` are given rather than made
 * here, so a retried refresh can rebuild the very same token from the stored rotation.
 */
export async function authResult(
  env: Env,
  user: UserRow,
  familyId: string,
  refreshToken: string,
  issued: { at: number; jti: string },
  now: number,
) {
  const ttl = accessTokenTtlSeconds(env);
  const config = jwtConfig(env);
  const iat = Math.floor(issued.at / 1000);
  const accessToken = await signJwt(
    {
      sub: user.id,
      iss: config.issuer,
      aud: config.audience,
      iat,
      exp: iat + ttl,
      jti: issued.jti,
      sid: familyId,
    },
    config.secret,
  );
  return {
    user: toUserDto(user),
    access_token: accessToken,
    refresh_token: refreshToken,
    token_type: "bearer" as const,
    expires_in: iat + ttl - Math.floor(now / 1000),
  } satisfies AuthResult;
}

export async function registerUser(
  db: Database,
  env: Env,
  input: {
    email: string;
    password: string;
    display_name?: string | undefined;
    full_name?: string | undefined;
    username?: string | undefined;
    timezone?: string | undefined;
  },
): Promise<AuthResult> {
  const now = Date.now();
  const user: UserRow = {
    id: newId(now),
    email: input.email,
    passwordHash: await hashPassword(input.password),
    displayName: input.display_name ?? input.full_name ?? null,
    username: input.username ?? null,
    usernameKey: input.username === undefined ? null : usernameKey(input.username),
    timezone: input.timezone ?? "UTC",
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
    deletingAt: null,
  };
  const familyId = newId(now);
  const refresh = await issueRefreshToken(env, user.id, familyId, now);
  try {
    await db.batch([db.insert(users).values(user), db.insert(refreshTokens).values(refresh.row)]);
  } catch (error) {
    if (isUniqueViolation(error)) throw takenError(error);
    throw error;
  }
  return authResult(env, user, familyId, refresh.token, { at: now, jti: newId(now) }, now);
}

/**
 * Who a login names, as the email its attempts are counted under: by email, or by username (one indexed
 * read first). Both spellings of one account share its throttle, so guesses by username and by email
 * add up. An unknown username counts under its own key, a text no email can equal (emails hold an `@`,
 * usernames never do), so it finds no account and is checked against the dummy hash like an unknown email.
 */
async function loginEmail(
  db: Database,
  input: { email?: string | undefined; username?: string | undefined },
) {
  if (input.email !== undefined) return input.email;
  const name = input.username ?? "";
  // People type either into the app's one field: a name with an `@` is an email.
  if (name.includes("@")) return name.trim().toLowerCase();
  const key = usernameKey(name);
  const [row] = await db
    .select({ email: users.email })
    .from(users)
    .where(and(eq(users.usernameKey, key), isNull(users.deletingAt)))
    .limit(1);
  return row?.email ?? `username:${key}`;
}

export async function loginUser(
  db: Database,
  env: Env,
  input: { email?: string | undefined; username?: string | undefined; password: string },
  clientAddress: string,
): Promise<AuthResult> {
  const email = await loginEmail(db, input);
  const now = Date.now();
  const keys = throttleKeys(email, clientAddress);
  // The attempt is reserved before the password is hashed, so concurrency cannot outrun the limit.
  const [found, reserved, locks] = await db.batch([
    // An account being deleted signs in no more: it answers like an unknown email.
    db
      .select()
      .from(users)
      .where(and(eq(users.email, email), isNull(users.deletingAt)))
      .limit(1),
    reserveAttempt(db, keys, now),
    lockQuery(db, keys),
  ]);
  if (reserved.length === 0) throw lockedOut(locks, now);
  const user = found[0];
  // Verify against a dummy hash for unknown accounts, so timing does not reveal which accounts exist.
  const valid = await verifyPassword(input.password, user?.passwordHash ?? (await dummyPasswordHash()));
  // A failure keeps its reservation: it was counted before the password was checked.
  if (!user || !valid)
    throw new ApiError(401, "invalid_credentials", "The username, email or password is not correct.");
  const familyId = newId(now);
  const refresh = await issueRefreshToken(env, user.id, familyId, now);
  await db.batch([db.insert(refreshTokens).values(refresh.row), ...releaseAfterSuccess(db, keys)]);
  return authResult(env, user, familyId, refresh.token, { at: now, jti: newId(now) }, now);
}

/**
 * The signed-in user's password asked again before something that cannot be undone (deleting the
 * account). Counted like a login — the same failures per account and per address, the same lock — so
 * a stolen access token is no faster a way to guess the password than the login route. A wrong
 * password is 403, not 401: the token is fine, and a client that refreshes on 401 would only retry.
 */
export async function confirmPassword(
  db: Database,
  userId: string,
  password: string,
  clientAddress: string,
): Promise<UserRow> {
  const now = Date.now();
  const user = await getUser(db, userId);
  const keys = throttleKeys(user.email, clientAddress);
  const [reserved, locks] = await db.batch([reserveAttempt(db, keys, now), lockQuery(db, keys)]);
  if (reserved.length === 0) throw lockedOut(locks, now);
  if (!(await verifyPassword(password, user.passwordHash))) {
    throw new ApiError(403, "invalid_password", "The password is not correct.");
  }
  await db.batch([...releaseAfterSuccess(db, keys)]);
  return user;
}

export async function getUser(db: Database, userId: string): Promise<UserRow> {
  const user = await db.select().from(users).where(eq(users.id, userId)).get();
  if (!user) throw unauthorized("The account behind this token no longer exists.");
  return user;
}

export interface ProfilePatch {
  display_name?: string | null | undefined;
  full_name?: string | null | undefined;
  username?: string | null | undefined;
  timezone?: string | undefined;
}

export async function updateUser(db: Database, userId: string, input: ProfilePatch): Promise<UserRow> {
  const username = input.username;
  let row: UserRow | undefined;
  try {
    [row] = await db
      .update(users)
      // drizzle leaves out undefined keys; an explicit null clears the display name (or the username).
      .set({
        displayName: input.display_name !== undefined ? input.display_name : input.full_name,
        username,
        usernameKey: username === undefined ? undefined : username === null ? null : usernameKey(username),
        timezone: input.timezone,
        updatedAt: nowIso(),
      })
      .where(eq(users.id, userId))
      .returning();
  } catch (error) {
    if (isUniqueViolation(error)) throw takenError(error);
    throw error;
  }
  if (!row) throw unauthorized("The account behind this token no longer exists.");
  return row;
}

/** Ends the caller's login (or all of them); the logins that ended take their live sockets with them. */
export async function logOut(
  db: Database,
  env: LiveBindings,
  principal: { userId: string; credentialId: string },
  input: { refresh_token?: string | undefined; all?: boolean | undefined },
): Promise<void> {
  const ended = await endSessions(db, principal.userId, principal.credentialId, input);
  await Promise.all(ended.map((familyId) => closeSockets(db, env, principal.userId, familyId)));
}

/** The objects holding a person's live sockets. */
type LiveBindings = Pick<Env, "FOCUS_TIMER" | "PET_STATE" | "FOCUS_ROOM">;

/** Closes every live socket (focus, pet, rooms) opened with a credential just revoked. */
function closeSockets(db: Database, env: LiveBindings, userId: string, credentialId: string) {
  return Promise.all([
    closeCredentialSockets(env, userId, credentialId),
    closeRoomCredentialSockets(env, db, userId, credentialId),
  ]);
}

/** A new API token; the admin scope only for administrators. */
export async function issueApiToken(
  db: Database,
  env: Pick<Env, "ADMIN_EMAILS">,
  userId: string,
  input: { name: string; scopes: Scope[]; expires_in_days?: number | undefined },
) {
  if (input.scopes.includes("admin") && !(await isAdmin(db, env, userId))) {
    throw forbidden("Only administrators can create tokens with the admin scope.");
  }
  return createApiToken(db, userId, input);
}

/** Revokes one of the user's API tokens, closing the live sockets opened with it. */
export async function withdrawApiToken(
  db: Database,
  env: LiveBindings,
  userId: string,
  tokenId: string,
): Promise<void> {
  await revokeApiToken(db, userId, tokenId);
  await closeSockets(db, env, userId, tokenId);
}

/** Updates the profile; the pet's nights follow the user's local hours. */
export async function updateProfile(db: Database, env: Env, userId: string, input: ProfilePatch) {
  const user = await updateUser(db, userId, input);
  if (input.timezone !== undefined) await movePetToTimezone(env, user.id, user.timezone);
  return user;
}
