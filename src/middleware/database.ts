import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { createDatabase, type Database } from "../db";
import { retryReads } from "../db/retry-reads";
import type { AppEnv } from "../lib/create-app";

export const BOOKMARK_HEADER = "x-d1-bookmark";
// Bookmarks are opaque, but short and printable; anything else is ignored rather than trusted.
const BOOKMARK_PATTERN = /^[\w-]{1,128}$/;

/** Sessions routes switched to with usePrimarySession: theirs is the bookmark answered. */
const primarySessions = new WeakMap<Context, D1DatabaseSession>();

/**
 * Opens a D1 session per request, continuing from the client's bookmark when it sends one, so a
 * read replica never shows a client data older than its own last write; returns the new bookmark.
 */
export function databaseSession() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const sent = c.req.header(BOOKMARK_HEADER);
    const session = c.env.DB.withSession(sent && BOOKMARK_PATTERN.test(sent) ? sent : "first-unconstrained");
    c.set("db", createDatabase(retryReads(session)));
    await next();
    const bookmark = (primarySessions.get(c) ?? session).getBookmark();
    if (bookmark) c.header(BOOKMARK_HEADER, bookmark);
  });
}

/**
 * Moves the rest of the request to a session whose first query goes to the primary database, for
 * work that must see every write however the client came (a calendar app sends no bookmark): the
 * bookmark answered is then this session's.
 */
export function usePrimarySession(c: Context<AppEnv>): Database {
  const session = c.env.DB.withSession("first-primary");
  primarySessions.set(c, session);
  const db = createDatabase(retryReads(session));
  c.set("db", db);
  return db;
}
