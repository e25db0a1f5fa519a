import { eq } from "drizzle-orm";
import type { Context, Next } from "hono";
import { createMiddleware } from "hono/factory";
import { createDatabase, type Database } from "../db";
import { type AccountGuard, accountGone, isAccountGuardAbort } from "../db/account-guard";
import { retryReads } from "../db/retry-reads";
import { apiTokens } from "../db/schema";
import { tryEnqueueErasure } from "../features/account/erasure";
import { accountExists, goneAccounts } from "../lib/auth/account";
import { isAdmin } from "../lib/auth/admin";
import { apiTokenEnded } from "../lib/auth/api-token";
import { jwtConfig } from "../lib/auth/config";
import { verifyJwt } from "../lib/auth/jwt";
import { ALL_SCOPES, type Principal, type Scope, SESSION_SCOPES } from "../lib/auth/principal";
import { isLoginAlive } from "../lib/auth/session";
import { API_TOKEN_PREFIX } from "../lib/auth/tokens";
import type { AppEnv } from "../lib/create-app";
import { loggableError } from "../lib/db-errors";
import { forbidden, unauthorized } from "../lib/errors";
import { sha256Hex } from "../lib/ids";
import { nowIso } from "../lib/time";
import { guardAccountInBatches, openSession } from "./database";
import { enforceLimit, isWrite } from "./rate-limit";

/** Don't write `last_used_at` more often than this: it is informational, and writes are not free. */
const LAST_USED_RESOLUTION_MS = 60_000;

export interface RequireAuthOptions {
  /** The scope an API token needs for this route. Login sessions have every scope. */
  scope?: Scope;
  /**
   * Routes that manage credentials refuse API tokens: a leaked token must not mint more. They also
   * check that the login is still alive (implies `liveSession`).
   */
  sessionOnly?: boolean;
  /**
   * For a login session, 401 when its login has been signed out or revoked since the access token
   * was issued (one indexed read). For routes that mint credentials, such as registering an agent;
   * other routes trust the access token until it expires (15 minutes), without reading D1.
   */
  liveSession?: boolean;
  /**
   * False for routes that read and write nothing of the account in D1 — those answered by the user's
   * live object (focus timer, pet), which refuses a deleted account itself (its tombstone answers 401),
   * and static tables that show nothing of anyone — so a login's request there makes no D1 lookup of
   * its account (default true: the lookup runs beside the route, see `checkAccountBeside`).
   * "carried" for routes whose own D1 work carries the check, one round trip fewer (see
   * `checkAccountCarried`): a write's batches get the account guard as their first statement; a read
   * says `accountShown(c)` when it got rows its query returns only for a live account.
   */
  accountLookup?: boolean | "carried";
  /**
   * Whether a write here counts against the caller's write limit (default true). Routes that end a
   * credential (logout, revoking a token, removing an agent) say false: a leaked token writing in a
   * loop must not keep its owner from revoking it.
   */
  countsAsWrite?: boolean;
}

/**
 * Authenticates `Authorization: Bearer <jwt | pap_ token>` and puts the caller on `c.var.principal`.
 * A missing, malformed, expired or revoked credential is 401 (clients refresh on it); a valid one
 * lacking the route's scope is 403.
 */
export function requireAuth(options: RequireAuthOptions = {}) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw unauthorized("Send a bearer token in the Authorization header.");
    const principal = await authenticateBearer(c, token);
    if (goneAccounts.has(principal.userId)) throw accountGone();
    if (options.sessionOnly && principal.kind !== "session") {
      throw forbidden("This route needs a login session; API tokens cannot use it.");
    }
    if (options.scope) requireScope(principal, options.scope);
    // A login's access token is a signed claim that outlives a deleted account by up to 15 minutes,
    // so the account is looked up: by the live-login check where a route makes one (the account's
    // logins go with it), by the route's own D1 work where it carries the check (`checkAccountCarried`),
    // otherwise beside the route's own work (`checkAccountBeside`).
    const live = (options.sessionOnly || options.liveSession) && principal.kind === "session";
    if (live) await requireLiveLogin(c.var.db, principal);
    // An admin token outlives the reason it was given: the account must still be listed, every time.
    if (options.scope === "admin" && !(await isAdmin(c.var.db, c.env, principal.userId))) {
      throw forbidden("This account is no longer an administrator.");
    }
    c.set("principal", principal);
    // Every change counts against the caller's write limit, whatever the route.
    if (options.countsAsWrite !== false && isWrite(c.req.method)) {
      await enforceLimit(c.env, "WRITE_LIMITER", `user:${principal.userId}`);
    }
    if (principal.kind !== "session" || live || options.accountLookup === false) return next();
    if (options.accountLookup === "carried") return checkAccountCarried(c, principal.userId, next);
    await checkAccountBeside(c, principal.userId, next);
  });
}

/**
 * Runs the route while the account is looked up, so the lookup adds no wait; when the account turns
 * out gone the answer is 401 instead, and for a write a sweep of the account is queued (not run here:
 * the erasure is the queue's work) to erase whatever the route wrote. The isolate remembers the
 * account as gone, so its next requests are refused before they run. A write's lookup goes to the
 * primary: a lagging replica could still show the account and leave the rows in place.
 */
async function checkAccountBeside(c: Context<AppEnv>, userId: string, next: Next): Promise<void> {
  const write = isWrite(c.req.method);
  const exists = lookUpAccount(c, userId, write);
  await next();
  if (await exists) return;
  refuseGone(c, userId, write);
}

/** Reads whose route may show the account live itself (see `accountShown`). */
const shownAccounts = new WeakMap<Context, AccountGuard>();

/**
 * For a route with `accountLookup: "carried"`: the rows it just read came from a query that returns
 * rows only while the account is live (`accountIsLive` in its WHERE), so no lookup is needed.
 */
export function accountShown(c: Context<AppEnv>): void {
  const guard = shownAccounts.get(c);
  if (guard) guard.held = true;
}

/**
 * Runs the route with its own D1 work carrying the account check. A write's batches each start with
 * the account guard: one that goes through proves the account was there when the route wrote, and one
 * whose guard aborts wrote nothing. A read shows the account with `accountShown`. A route that did
 * neither (refused early, an empty page, a write without a batch) is looked up after it: one round
 * trip of waiting that the lookup beside would not add, on answers that are cheap or refusals.
 */
async function checkAccountCarried(c: Context<AppEnv>, userId: string, next: Next): Promise<void> {
  const write = isWrite(c.req.method);
  let guard: AccountGuard = { held: false };
  if (write) guard = guardAccountInBatches(c, userId);
  else shownAccounts.set(c, guard);
  await next();
  if (c.error && isAccountGuardAbort(c.error)) refuseGone(c, userId, true);
  if (guard.held) return;
  if (!(await lookUpAccount(c, userId, write))) refuseGone(c, userId, write);
}

/**
 * Whether the account exists, read on the primary for a write (a lagging replica could still show it
 * and leave the rows in place). Should the lookup itself fail, the answer stands: the route reached D1
 * fine, and turning a write that happened into an error would only have the client send it twice.
 */
function lookUpAccount(c: Context<AppEnv>, userId: string, write: boolean): Promise<boolean> {
  const db = write ? createDatabase(retryReads(openSession(c, "first-primary"))) : c.var.db;
  return accountExists(db, userId).catch((error: unknown) => {
    console.warn(
      JSON.stringify({ level: "warn", message: "account lookup failed", error: loggableError(error) }),
    );
    return true;
  });
}

/**
 * 401 for an account found gone. The isolate remembers it, so its next requests are refused before
 * they run; after a write a sweep of the account is queued (not run here: the erasure is the queue's
 * work) to erase whatever the route wrote.
 */
function refuseGone(c: Context<AppEnv>, userId: string, write: boolean): never {
  goneAccounts.add(userId);
  if (write) c.executionCtx.waitUntil(tryEnqueueErasure(c.env, { type: "sweep", user_id: userId }));
  throw accountGone();
}

/**
 * 401 unless the account exists, read on the primary database (socket upgrades), in a session of the
 * request's own so that its costs count it.
 */
export async function requireAccount(c: Context<AppEnv>, userId: string): Promise<void> {
  const primary = createDatabase(retryReads(openSession(c, "first-primary")));
  if (goneAccounts.has(userId) || !(await accountExists(primary, userId))) throw accountGone();
}

/** 401 when the login behind a session principal has ended (signed out, or its refresh token reused). */
export async function requireLiveLogin(db: Database, principal: Principal): Promise<void> {
  if (principal.kind === "session" && !(await isLoginAlive(db, principal.userId, principal.credentialId))) {
    throw unauthorized("This login has been signed out; sign in again.");
  }
}

/** The token in an `Authorization: Bearer <token>` header, if that is what the header holds. */
export function bearerToken(header: string | undefined): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(header ?? "")?.[1];
}

/** 403 unless the caller holds `scope` (login sessions hold them all). */
export function requireScope(principal: Principal, scope: Scope): void {
  if (!principal.scopes.has(scope)) throw forbidden(`This API token lacks the "${scope}" scope.`);
}

/** The caller behind a bearer token (a login JWT or a pap_ API token); 401 when it is not valid. */
export function authenticateBearer(c: Context<AppEnv>, token: string): Promise<Principal> {
  return token.startsWith(API_TOKEN_PREFIX) ? authenticateApiToken(c, token) : authenticateJwt(c.env, token);
}

async function authenticateJwt(env: AppEnv["Bindings"], token: string): Promise<Principal> {
  const result = await verifyJwt(token, jwtConfig(env));
  if (!result.ok) {
    throw unauthorized(
      result.reason === "expired"
        ? "The access token has expired; refresh it."
        : "The access token is not valid.",
    );
  }
  return {
    userId: result.claims.sub,
    kind: "session",
    credentialId: result.claims.sid,
    expiresAt: result.claims.exp * 1000,
    scopes: SESSION_SCOPES,
  };
}

async function authenticateApiToken(c: Context<AppEnv>, token: string): Promise<Principal> {
  const db = c.var.db;
  const row = await db
    .select({
      id: apiTokens.id,
      userId: apiTokens.userId,
      scopes: apiTokens.scopes,
      expiresAt: apiTokens.expiresAt,
      lastUsedAt: apiTokens.lastUsedAt,
      agentId: apiTokens.agentId,
      revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .where(eq(apiTokens.tokenHash, await sha256Hex(token)))
    .get();
  const now = Date.now();
  const ended = row ? apiTokenEnded(row, now) : "revoked";
  if (!row || ended === "revoked") throw unauthorized("The API token is not valid or has been revoked.");
  if (ended === "expired") throw unauthorized("The API token has expired.");

  if (!row.lastUsedAt || now - Date.parse(row.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
    // Off the response path: a lost update only makes `last_used_at` a minute staler.
    c.executionCtx.waitUntil(
      db
        .update(apiTokens)
        .set({ lastUsedAt: nowIso(now) })
        .where(eq(apiTokens.id, row.id))
        .run()
        .catch(() => undefined),
    );
  }
  const scopes = new Set(row.scopes.filter((s): s is Scope => ALL_SCOPES.has(s as Scope)));
  const expiry = row.expiresAt ? { expiresAt: Date.parse(row.expiresAt) } : {};
  if (row.agentId)
    return {
      userId: row.userId,
      kind: "agent",
      agentId: row.agentId,
      credentialId: row.id,
      scopes,
      ...expiry,
    };
  return { userId: row.userId, kind: "api_token", credentialId: row.id, scopes, ...expiry };
}
