import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { createDatabase, type Database } from "../db";
import { type AccountGuard, guardedSession } from "../db/account-guard";
import { retryReads } from "../db/retry-reads";
import type { AppEnv } from "../lib/create-app";
import { meterSession, noCosts, type QueryCosts } from "../lib/query-costs";

export const BOOKMARK_HEADER = "x-d1-bookmark";
// Bookmarks are opaque, but short and printable; anything else is ignored rather than trusted.
const BOOKMARK_PATTERN = /^[\w-]{1,128}$/;

/** Each request's D1 session (the one usePrimarySession switched to, if any): its bookmark is answered. */
const sessions = new WeakMap<Context, D1DatabaseSession>();
/** Requests whose batches carry the account guard (see `guardAccountInBatches`). */
const guards = new WeakMap<Context, { userId: string; guard: AccountGuard }>();

function databaseOn(c: Context, session: D1DatabaseSession): Database {
  const guarded = guards.get(c);
  return createDatabase(
    retryReads(guarded ? guardedSession(session, guarded.userId, guarded.guard) : session),
  );
}

/** Statements slower than this (ms, D1's own timing) go to the slow-query log; `SLOW_QUERY_MS` sets it. */
const DEFAULT_SLOW_QUERY_MS = 100;

/** Each request's D1 costs, filled by every session it opens (see `openSession`). */
const costsOf = new WeakMap<Context, QueryCosts>();

/** What the request's D1 work has cost so far (zero before any statement). */
export function requestCosts(c: Context): QueryCosts {
  let costs = costsOf.get(c);
  if (!costs) {
    costs = noCosts();
    costsOf.set(c, costs);
  }
  return costs;
}

/**
 * A D1 session for this request, metered into its costs (shown in `Server-Timing`, the metrics and the
 * slow-query log). Every session a request opens comes from here, so no statement goes uncounted.
 */
export function openSession(c: Context<AppEnv>, constraintOrBookmark: string): D1DatabaseSession {
  // 0 logs every statement (for a look at everything a route sends).
  const threshold = c.env.SLOW_QUERY_MS ? Number(c.env.SLOW_QUERY_MS) : Number.NaN;
  const slowMs = Number.isFinite(threshold) && threshold >= 0 ? threshold : DEFAULT_SLOW_QUERY_MS;
  return meterSession(c.env.DB.withSession(constraintOrBookmark), requestCosts(c), slowMs);
}

/**
 * Opens a D1 session per request, continuing from the client's bookmark when it sends one, so a
 * read replica never shows a client data older than its own last write; returns the new bookmark.
 */
export function databaseSession() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const sent = c.req.header(BOOKMARK_HEADER);
    const session = openSession(c, sent && BOOKMARK_PATTERN.test(sent) ? sent : "first-unconstrained");
    sessions.set(c, session);
    c.set("db", databaseOn(c, session));
    await next();
    const bookmark = (sessions.get(c) ?? session).getBookmark();
    if (bookmark) c.header(BOOKMARK_HEADER, bookmark);
  });
}

/**
 * Moves the rest of the request to a session whose first query goes to the primary database, for
 * work that must see every write however the client came (a calendar app sends no bookmark): the
 * bookmark answered is then this session's.
 */
export function usePrimarySession(c: Context<AppEnv>): Database {
  const session = openSession(c, "first-primary");
  sessions.set(c, session);
  const db = databaseOn(c, session);
  c.set("db", db);
  return db;
}

/**
 * From here on, every batch the request's database sends carries the guard that the account of
 * `userId` still exists (src/db/account-guard.ts); the returned guard says whether one went through.
 */
export function guardAccountInBatches(c: Context<AppEnv>, userId: string): AccountGuard {
  const guard: AccountGuard = { held: false };
  guards.set(c, { userId, guard });
  const session = sessions.get(c);
  if (session) c.set("db", databaseOn(c, session));
  return guard;
}
