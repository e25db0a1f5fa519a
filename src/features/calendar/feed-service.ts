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
import { eventContentLines, feedDocument, PRODID, type StampedEvent } from "./feed-document";
import { type FeedEvent, type FeedSession, sessionEvent, sessionUid, taskEvent, taskUid } from "./feed-items";
import {
  dueTasksQuery,
  endedSessionsQuery,
  type FeedItemRow,
  feedByTokenHash,
  feedItemsQuery,
  feedOwner,
  forgetFeedItems,
  openSessionQuery,
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

export interface FeedValidators {
  etag: string;
  lastModified: number;
}

/** The feed's body, or only its validators when the caller's copy is current (`body` null: a 304). */
export interface RenderedFeed extends FeedValidators {
  body: string | null;
}

/** A session as read, naming its task by id until its title is looked up. */
type SessionRead = Omit<FeedSession, "taskTitle"> & { taskId: string | null; taskTitle: string | null };

/**
 * Sessions may run this long (a plan of hours, extensions, pauses) and still be found running: the
 * outbox is read from a day back for a start without an end.
 */
const OPEN_SESSION_LOOKBACK_MS = DAY_MS;

/** The smallest event id (UUIDv7: milliseconds first) of an event made at `ms` or later. */
function firstIdAt(ms: number): string {
  const hex = Math.max(0, Math.floor(ms)).toString(16).padStart(12, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}`;
}

/**
 * Bumped whenever the same rows would render differently: the ETag is computed from what the body is
 * made of (see renderFeed), so a change of rendering must change it too.
 */
const RENDERING = `${PRODID} 2`;

/** The running focus session (if any, and if it has a planned end) as the feed shows it. */
async function runningSession(env: Env, userId: string): Promise<SessionRead | undefined> {
  const current = await focusTimer(env, userId).current(userId);
  // An erased timer (the account is gone, its feed with it): nothing running to show.
  if (!current.ok) return undefined;
  const state = current.state;
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
    taskTitle: null,
  };
}

/**
 * The feed behind a token: 404 for a token that is not a live feed's. Each item's SEQUENCE and
 * DTSTAMP come from `calendar_feed_items`, updated here when an item's content changed since it
 * was last served.
 *
 * What a poll costs: one D1 round trip reads the feed, its owner, the tasks, the sessions (with their
 * tasks' titles), the served items and whether a focus session may be running; the FocusTimer object
 * is asked only then (and a second round trip looks up its task's title). The ETag is a hash of all
 * that was read, items' versions included, so when it equals the one recorded at the last full
 * render nothing in the body can differ: a caller whose copy matches (`fresh`) gets its 304 without
 * the body being made, and nothing is written. Otherwise the body is made, changed items are
 * recorded, and a write happens only if something changed.
 */
export async function renderFeed(
  db: Database,
  env: Env,
  tokenFile: string,
  fresh: (current: FeedValidators) => boolean,
): Promise<RenderedFeed> {
  const token = tokenFile.endsWith(".ics") ? tokenFile.slice(0, -".ics".length) : "";
  if (!TOKEN_PATTERN.test(token)) throw notFound("Calendar feed");
  const tokenHash = await sha256Hex(token);
  const now = Date.now();
  const since = nowIso(now - FEED_PAST_DAYS * DAY_MS);
  const user = feedOwner(tokenHash);

  const reads = new D1Batch();
  const feedRow = reads.add(feedByTokenHash(db, tokenHash));
  const owner = reads.add(ownerQuery(db, user));
  const due = reads.add(dueTasksQuery(db, user, since, MAX_FEED_TASKS));
  const ended = reads.add(endedSessionsQuery(db, user, since, MAX_FEED_SESSIONS));
  const stored = reads.add(feedItemsQuery(db, user));
  const open = reads.add(openSessionQuery(db, user, firstIdAt(now - OPEN_SESSION_LOOKBACK_MS)));
  const results = await reads.run(db);
  const feed = feedRow(results)[0];
  if (!feed) throw notFound("Calendar feed");
  const { userId } = feed;
  const zone = owner(results)[0]?.timezone ?? "UTC";
  const name = owner(results)[0]?.displayName
    ? `Proxy Agent: ${owner(results)[0]?.displayName}`
    : "Proxy Agent";

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
    taskId: null,
    taskTitle: s.taskTitle,
  }));
  const running = open(results).length > 0 ? await runningSession(env, userId) : undefined;
  if (running && !sessions.some((s) => s.id === running.id)) {
    const [lookup] = running.taskId ? taskTitlesQueries(db, userId, [running.taskId]) : [];
    if (lookup) running.taskTitle = (await lookup)[0]?.title ?? null;
    sessions.unshift(running);
  }
  const tasks = due(results).flatMap((t) => (t.dueAt ? [{ ...t, dueAt: t.dueAt }] : []));
  const shown = sessions.slice(0, MAX_FEED_SESSIONS);
  const served = new Map(stored(results).map((row) => [row.uid, row]));
  const uids = [...tasks.map((t) => taskUid(t.id)), ...shown.map((s) => sessionUid(s.id))];

  const validators = async (versions: Map<string, { sequence: number; changedAt: string }>) => {
    const made = JSON.stringify([
      RENDERING,
      name,
      zone,
      tasks,
      shown,
      uids.map((uid) => [uid, versions.get(uid)?.sequence, versions.get(uid)?.changedAt]),
    ]);
    const etag = `"${(await sha256Hex(made)).slice(0, 32)}"`;
    return { etag, lastModified: feed.modifiedAt && feed.etag === etag ? Date.parse(feed.modifiedAt) : now };
  };
  // The cheap answer: what the body is made of is what the last full render recorded.
  const current = await validators(served);
  if (feed.etag === current.etag && fresh(current)) return { ...current, body: null };

  const events: FeedEvent[] = [
    ...tasks.map((t) => taskEvent(t, zone)),
    ...shown.map((session) => sessionEvent(session)),
  ];
  const stamped = await stampEvents(db, userId, events, stored(results), now);
  const body = feedDocument(stamped.events, { name, timeZone: zone });
  const made = await validators(
    new Map(stamped.events.map((e) => [e.uid, { sequence: e.sequence, changedAt: nowIso(e.stampedAt) }])),
  );
  const writes = new D1Batch();
  writes.addAll(stamped.writes);
  if (feed.etag !== made.etag) writes.add(recordFeedBody(db, userId, tokenHash, made.etag, nowIso(now)));
  await writes.run(db);
  return { ...made, body };
}

/**
 * Gives each event its SEQUENCE and DTSTAMP: an event served before with the same content keeps
 * them; a changed one is one version further and stamped now; a new one starts at 0. The
 * statements that record this are answered for the caller's batch: none when nothing changed.
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
  // Only items gone from the feed whose version was first served over 90 days ago: most fetches
  // have none, and then send no DELETE at all.
  const before = nowIso(now - FORGET_AFTER_DAYS * DAY_MS);
  const forgotten = stored.filter((row) => !present.has(row.uid) && row.changedAt < before).map((r) => r.uid);
  const writes: BatchItem<"sqlite">[] = [
    ...upsertFeedItems(db, changed),
    ...(forgotten.length > 0 ? forgetFeedItems(db, userId, forgotten, before) : []),
  ];
  return { events: stamped, writes };
}
