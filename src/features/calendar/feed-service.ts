import { eq } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { calendarFeedItems, calendarFeeds } from "../../db/schema";
import type { Env } from "../../env";
import { D1Batch } from "../../lib/batch";
import { notFound } from "../../lib/errors";
import { randomToken, sha256Hex } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { focusTimer } from "../focus/service";
import { eventContentLines, feedDocument, type StampedEvent } from "./feed-document";
import { type FeedEvent, type FeedSession, sessionEvent, taskEvent } from "./feed-items";
import {
  dueTasksQuery,
  endedSessionsQuery,
  type FeedItemRow,
  feedByTokenHash,
  feedItemsQuery,
  forgetFeedItems,
  ownerQuery,
  recordFeedBody,
  taskTitlesQueries,
  upsertFeedItems,
} from "./feed-queries";
import type { CalendarFeedDto } from "./schemas";

const DAY_MS = 86_400_000;
/** Tasks due this long ago are still shown (done or overdue); older ones have left the calendar. */
export const FEED_PAST_DAYS = 30;
/** At most 2,000 events: 1,750 tasks and 250 focus sessions. Clients choke on feeds of many MB. */
export const MAX_FEED_TASKS = 1750;
export const MAX_FEED_SESSIONS = 250;
/** An item gone from the feed this long is forgotten; were it to come back, its SEQUENCE starts over. */
const FORGET_AFTER_DAYS = 90;
/** A feed token is 32 random bytes in base64url: 43 characters. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export const feedUrl = (origin: string, token: string) => `${origin}/api/v1/calendar/${token}.ics`;

/**
 * A new feed URL for the user. There is one feed per user: a second call replaces the token, and
 * the previous URL answers 404 from then on.
 */
export async function createFeed(db: Database, userId: string, origin: string): Promise<CalendarFeedDto> {
  const token = randomToken(32);
  const tokenHash = await sha256Hex(token);
  const createdAt = nowIso();
  await db
    .insert(calendarFeeds)
    .values({ userId, tokenHash, etag: null, modifiedAt: null, createdAt })
    .onConflictDoUpdate({
      target: calendarFeeds.userId,
      set: { tokenHash, etag: null, modifiedAt: null, createdAt },
    });
  return { url: feedUrl(origin, token), created_at: createdAt };
}

/** Ends the user's feed: its URL answers 404 from now on. 404 when there is none. */
export async function revokeFeed(db: Database, userId: string): Promise<void> {
  const batch = new D1Batch();
  const deleted = batch.add(
    db
      .delete(calendarFeeds)
      .where(eq(calendarFeeds.userId, userId))
      .returning({ userId: calendarFeeds.userId }),
  );
  // What the feed served is forgotten with it: a new feed starts its items over.
  batch.add(db.delete(calendarFeedItems).where(eq(calendarFeedItems.userId, userId)));
  const results = await batch.run(db);
  if (deleted(results).length === 0) throw notFound("Calendar feed");
}

export interface RenderedFeed {
  body: string;
  etag: string;
  lastModified: number;
}

/** A session as read, naming its task by id until the titles are looked up. */
type SessionRead = Omit<FeedSession, "taskTitle"> & { taskId: string | null };

/** The running focus session (if any, and if it has a planned end) as the feed shows it. */
async function runningSession(env: Env, userId: string): Promise<SessionRead | undefined> {
  const state = await focusTimer(env, userId).current(userId);
  const session = state.session;
  if (!session || state.phase !== "work") return undefined;
  const endsAt =
    session.ends_at ??
    (session.paused_at !== null && session.remaining_seconds !== null
      ? new Date(Date.parse(session.paused_at) + session.remaining_seconds * 1000).toISOString()
      : undefined);
  // An open-ended (flowtime) session has no plan to show until it ends.
  if (!endsAt) return undefined;
  return {
    id: session.session_id,
    kind: session.kind,
    plannedMinutes: session.planned_minutes,
    startedAt: session.started_at,
    endsAt,
    workedSeconds: null,
    running: true,
    completed: false,
    interruptions: session.interruptions,
    taskId: session.task_id,
  };
}

/**
 * The feed behind a token: 404 for a token that is not a live feed's. Each item's SEQUENCE and
 * DTSTAMP come from `calendar_feed_items`, updated here when an item's content changed since it
 * was last served; the body's hash is its ETag.
 */
export async function renderFeed(db: Database, env: Env, tokenFile: string): Promise<RenderedFeed> {
  const token = tokenFile.endsWith(".ics") ? tokenFile.slice(0, -".ics".length) : "";
  if (!TOKEN_PATTERN.test(token)) throw notFound("Calendar feed");
  const tokenHash = await sha256Hex(token);
  const feed = await feedByTokenHash(db, tokenHash).get();
  if (!feed) throw notFound("Calendar feed");
  const { userId } = feed;
  const now = Date.now();

  const reads = new D1Batch();
  const owner = reads.add(ownerQuery(db, userId));
  const due = reads.add(dueTasksQuery(db, userId, nowIso(now - FEED_PAST_DAYS * DAY_MS), MAX_FEED_TASKS));
  const ended = reads.add(
    endedSessionsQuery(db, userId, nowIso(now - FEED_PAST_DAYS * DAY_MS), MAX_FEED_SESSIONS),
  );
  const stored = reads.add(feedItemsQuery(db, userId));
  const [results, running] = await Promise.all([reads.run(db), runningSession(env, userId)]);
  const zone = owner(results)[0]?.timezone ?? "UTC";

  const sessions: SessionRead[] = ended(results).map((s) => ({
    id: s.id,
    kind: s.kind,
    plannedMinutes: s.plannedMinutes,
    startedAt: s.startedAt,
    endsAt: s.endedAt,
    workedSeconds: s.actualSeconds,
    running: false,
    completed: s.completed,
    interruptions: s.interruptions,
    taskId: s.taskId,
  }));
  if (running && !sessions.some((s) => s.id === running.id)) sessions.unshift(running);
  const withTask = sessions.flatMap((s) => (s.taskId ? [s.taskId] : []));
  const titles = new Map<string, string>();
  if (withTask.length > 0) {
    const lookups = new D1Batch();
    const readers = taskTitlesQueries(db, userId, withTask).map((q) => lookups.add(q));
    const found = await lookups.run(db);
    for (const read of readers) for (const row of read(found)) titles.set(row.id, row.title);
  }

  const events: FeedEvent[] = [
    ...due(results).flatMap((t) => (t.dueAt ? [taskEvent({ ...t, dueAt: t.dueAt }, zone)] : [])),
    ...sessions
      .slice(0, MAX_FEED_SESSIONS)
      .map(({ taskId, ...s }) =>
        sessionEvent({ ...s, taskTitle: taskId ? (titles.get(taskId) ?? null) : null }),
      ),
  ];
  const stamped = await stampEvents(db, userId, events, stored(results), now);
  const body = feedDocument(stamped.events, {
    name: owner(results)[0]?.displayName ? `Proxy Agent: ${owner(results)[0]?.displayName}` : "Proxy Agent",
    timeZone: zone,
  });
  const etag = `"${(await sha256Hex(body)).slice(0, 32)}"`;
  const writes = new D1Batch();
  writes.addAll(stamped.writes);
  let lastModified = feed.modifiedAt ? Date.parse(feed.modifiedAt) : now;
  if (feed.etag !== etag) {
    writes.add(recordFeedBody(db, userId, tokenHash, etag, nowIso(now)));
    lastModified = now;
  }
  await writes.run(db);
  return { body, etag, lastModified };
}

/**
 * Gives each event its SEQUENCE and DTSTAMP: an event served before with the same content keeps
 * them; a changed one is one version further and stamped now; a new one starts at 0. The
 * statements that record this are answered for the caller's batch.
 */
async function stampEvents(
  db: Database,
  userId: string,
  events: FeedEvent[],
  stored: FeedItemRow[],
  now: number,
): Promise<{ events: StampedEvent[]; writes: BatchItem<"sqlite">[] }> {
  const known = new Map(stored.map((row) => [row.uid, row]));
  const changed: FeedItemRow[] = [];
  const stamped: StampedEvent[] = [];
  for (const event of events) {
    const contentHash = (await sha256Hex(eventContentLines(event).join("\n"))).slice(0, 32);
    const row = known.get(event.uid);
    if (row && row.contentHash === contentHash) {
      stamped.push({ ...event, sequence: row.sequence, stampedAt: Date.parse(row.changedAt) });
      continue;
    }
    changed.push({ userId, uid: event.uid, contentHash, sequence: 0, changedAt: nowIso(now) });
    stamped.push({ ...event, sequence: row ? row.sequence + 1 : 0, stampedAt: now });
  }
  const present = new Set(events.map((e) => e.uid));
  const gone = stored.filter((row) => !present.has(row.uid)).map((row) => row.uid);
  const writes: BatchItem<"sqlite">[] = [
    ...upsertFeedItems(db, changed),
    ...(gone.length > 0 ? forgetFeedItems(db, userId, gone, nowIso(now - FORGET_AFTER_DAYS * DAY_MS)) : []),
  ];
  return { events: stamped, writes };
}
