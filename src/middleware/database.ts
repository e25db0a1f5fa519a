import { createMiddleware } from "hono/factory";
import { createDatabase } from "../db";
import { retryReads } from "../db/retry-reads";
import type { AppEnv } from "../lib/create-app";

export const BOOKMARK_HEADER = "x-d1-bookmark";
// Bookmarks are opaque, but short and printable; anything else is ignored rather than trusted.
const BOOKMARK_PATTERN = /^[\w-]{1,128}$/;

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
    const bookmark = session.getBookmark();
    if (bookmark) c.header(BOOKMARK_HEADER, bookmark);
  });
}
