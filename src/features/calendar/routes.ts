import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { problemResponse } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonResponse } from "../../lib/openapi";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { notModified } from "./conditional";
import {
  createFeed,
  FEED_PAST_DAYS,
  type FeedValidators,
  MAX_FEED_SESSIONS,
  MAX_FEED_TASKS,
  renderFeed,
  revokeFeed,
} from "./feed-service";
import { MAX_CONTENT_LINES } from "./ics-parser";
import { IMPORT_WINDOW_DAYS, MAX_IMPORT_ITEMS, MAX_OCCURRENCES_PER_SERIES } from "./import-plan";
import { importCalendar, PartialImportError } from "./import-service";
import { CalendarFeedSchema, ImportQuerySchema, ImportResultSchema } from "./schemas";

const tags = ["Calendar"];

/**
 * The feed and the import read at the primary: a calendar app sends no bookmark, and a replica
 * behind it would serve a rotated token or miss tasks just written (and an import would double them).
 */
const primaryReads = createMiddleware<AppEnv>(async (c, next) => {
  usePrimarySession(c);
  await next();
});

export const createFeedRoute = createRoute({
  method: "post",
  path: "/feed",
  tags,
  summary: "A secret iCalendar feed URL of your due tasks and focus sessions",
  description:
    "The URL is the credential (calendar apps cannot send a bearer token): anyone holding it reads the feed, so " +
    "it is shown only now, and only a login session may make one (an API token gets 403). One feed per account: " +
    "calling this again answers a new URL, and the previous one answers 404 from then on.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true })] as const,
  responses: {
    201: jsonResponse(CalendarFeedSchema, "The feed URL (shown once)"),
    ...errorResponses(401, 403),
  },
});

export const revokeFeedRoute = createRoute({
  method: "delete",
  path: "/feed",
  tags,
  summary: "Stop your calendar feed: its URL answers 404 from now on",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ sessionOnly: true, countsAsWrite: false })] as const,
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

export const feedRoute = createRoute({
  method: "get",
  path: "/{token}.ics",
  tags,
  summary: "The iCalendar feed (RFC 5545) a calendar app subscribes to",
  description:
    `No bearer token: the secret in the URL is the credential; a wrong or revoked one is 404. Tasks due from ${FEED_PAST_DAYS} ` +
    "days ago on are events (a task due at 23:59 your time is an all-day event; done ones are marked ✓), at most " +
    `${MAX_FEED_TASKS}; focus sessions of the last ${FEED_PAST_DAYS} days and the running one are busy blocks, at most ` +
    `${MAX_FEED_SESSIONS}. UIDs are stable; SEQUENCE rises whenever an item changes. Times are UTC. ` +
    "Send If-None-Match (ETag) or If-Modified-Since for a 304.",
  middleware: [primaryReads] as const,
  // The parameter is described by hand: the path's `.ics` is part of its segment, which Hono reads as one name.
  parameters: [
    {
      name: "token",
      in: "path",
      required: true,
      description: "The secret of the feed URL",
      schema: { type: "string" },
    },
  ],
  responses: {
    200: {
      description: "The calendar",
      content: { "text/calendar": { schema: z.string() } },
    },
    304: { description: "Not modified since the ETag or date sent" },
    404: problemResponse("No live feed has this token (wrong, rotated or revoked)"),
  },
});

export const importRoute = createRoute({
  method: "post",
  path: "/import",
  tags,
  summary: "Create tasks from an .ics file (events and to-dos); preview=true only tells",
  description:
    "Send the file as the body (`text/calendar`, or `text/plain`). To-dos become tasks due at their DUE; events become " +
    "tasks due when they start (an all-day one at 23:59 your time); events already over, cancelled or done items are " +
    `skipped. A recurring event becomes one task per occurrence in the next ${IMPORT_WINDOW_DAYS} days (at most ` +
    `${MAX_OCCURRENCES_PER_SERIES} per series; RRULE parts it cannot follow import it once, with a warning). Items are ` +
    "remembered by UID (and occurrence): importing the same file again changes nothing, and a changed item updates " +
    "its task's title, description and due date, unless you edited the task since (then it is `kept`). At most " +
    `${MAX_IMPORT_ITEMS} items per import (413 beyond), ${MAX_CONTENT_LINES} lines and 1 MiB per file (413). A malformed ` +
    "file is 422 with the line in `detail` and `errors`. 409 when another import of the same items won a race: what " +
    "was written before it is kept, and importing again finishes the rest.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "tasks:write" }), primaryReads] as const,
  request: {
    query: ImportQuerySchema,
    body: {
      required: true,
      description: "An iCalendar file",
      content: { "text/calendar": { schema: z.string() }, "text/plain": { schema: z.string() } },
    },
  },
  responses: {
    200: jsonResponse(
      ImportResultSchema,
      "What was (or, in a preview, would be) created, updated, left and skipped",
    ),
    ...errorResponses(401, 403, 409, 413, 422),
  },
});

const createFeedHandler: AppRouteHandler<typeof createFeedRoute> = async (c) =>
  c.json(await createFeed(c.var.db, c.var.principal.userId, new URL(c.req.url).origin), 201);

const revokeFeedHandler: AppRouteHandler<typeof revokeFeedRoute> = async (c) => {
  await revokeFeed(c.var.db, c.var.principal.userId);
  return c.body(null, 204);
};

const feedHandler: AppRouteHandler<typeof feedRoute> = async (c) => {
  const ifNoneMatch = c.req.header("if-none-match");
  const ifModifiedSince = c.req.header("if-modified-since");
  const isFresh = (current: FeedValidators) => notModified(ifNoneMatch, ifModifiedSince, current);
  const feed = await renderFeed(c.var.db, c.env, c.req.param("token.ics"), isFresh);
  // Private: the feed is one person's; revalidated often, cheaply, with the ETag.
  c.header("Cache-Control", "private, max-age=300");
  c.header("ETag", feed.etag);
  c.header("Last-Modified", new Date(feed.lastModified).toUTCString());
  if (feed.body === null || isFresh(feed)) return c.body(null, 304);
  c.header("Content-Type", "text/calendar; charset=utf-8");
  c.header("Content-Disposition", 'inline; filename="proxy-agent.ics"');
  return c.body(feed.body, 200);
};

const importHandler: AppRouteHandler<typeof importRoute> = async (c) => {
  let result: Awaited<ReturnType<typeof importCalendar>>;
  try {
    result = await importCalendar(
      c.var.db,
      c.var.principal.userId,
      await c.req.text(),
      c.req.valid("query").preview ?? false,
    );
  } catch (error) {
    // What was written before the race was lost is real: its task.created events go out like any others.
    if (error instanceof PartialImportError) afterWrite(c, error.events);
    throw error;
  }
  afterWrite(c, result.events);
  return c.json(result.body, 200);
};

// Static paths before the feed: `/feed` is not a token.
export const calendarRouter = createRouter()
  .openapi(createFeedRoute, createFeedHandler)
  .openapi(revokeFeedRoute, revokeFeedHandler)
  .openapi(importRoute, importHandler)
  .openapi(feedRoute, feedHandler);
