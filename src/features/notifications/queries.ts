import { and, desc, eq, inArray, isNull, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { notificationPreferences, notifications, users } from "../../db/schema";
import { rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import type { Placement } from "./placement";
import { type Preferences, preferencesOf } from "./preferences";
import type { ListNotificationsQuery, NotificationDto } from "./schemas";

export type NotificationRow = typeof notifications.$inferSelect;

/** Inbox cursors hold the last row's delivery time and id: "2026-…Z|<uuid>". */
export const INBOX_CURSOR_PATTERN = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z\|[0-9a-f-]{36}$/;

export const inboxKeyOf = (row: NotificationRow) => `${row.createdAt}|${row.id}`;

const CHANNELS = new Set(["in_app", "web_push", "expo"]);

export function toNotificationDto(row: NotificationRow): NotificationDto {
  return {
    notification_id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: row.data,
    created_at: row.createdAt,
    read_at: row.readAt,
    channels: row.channels.filter((c): c is NotificationDto["channels"][number] => CHANNELS.has(c)),
  };
}

/**
 * What the inbox shows: delivered, in-app, not deleted. Written with literals (not bound values) so
 * SQLite can prove the query implies the partial indexes' conditions and use them.
 */
export const inInbox = () =>
  sql`${notifications.status} = 'delivered' AND ${notifications.inApp} = 1 AND ${notifications.deletedAt} IS NULL`;

export function listNotificationsQuery(
  db: Database,
  userId: string,
  query: ListNotificationsQuery,
  after: string | null,
) {
  const [afterAt, afterId] = after ? (after.split("|") as [string, string]) : [null, null];
  const conditions = [eq(notifications.userId, userId)];
  if (query.digest_id !== undefined) {
    conditions.push(eq(notifications.digestId, query.digest_id), sql`${notifications.deletedAt} IS NULL`);
  } else {
    conditions.push(inInbox());
  }
  if (query.unread) conditions.push(isNull(notifications.readAt));
  if (query.kind) conditions.push(eq(notifications.kind, query.kind));
  if (afterAt !== null && afterId !== null) {
    const older = or(
      lt(notifications.createdAt, afterAt),
      and(eq(notifications.createdAt, afterAt), lt(notifications.id, afterId)),
    );
    if (older) conditions.push(older);
  }
  return db
    .select()
    .from(notifications)
    .where(and(...conditions))
    .orderBy(desc(notifications.createdAt), desc(notifications.id))
    .limit(rowsToFetch(query.limit));
}

export function unreadCountQuery(db: Database, userId: string) {
  return db
    .select({ unread: sql<number>`count(*)` })
    .from(notifications)
    .where(and(eq(notifications.userId, userId), sql`${notifications.readAt} IS NULL AND ${inInbox()}`));
}

/** What the consumer needs to place a user's notifications. */
export interface UserContext {
  preferences: Preferences;
  timeZone: string;
}

/** The user's preferences and time zone in one read (defaults where they chose nothing). */
export async function readPreferences(db: Database, userId: string): Promise<UserContext | undefined> {
  const row = await db
    .select({ timeZone: users.timezone, prefs: notificationPreferences })
    .from(users)
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(eq(users.id, userId))
    .get();
  if (!row) return undefined;
  return { preferences: preferencesOf(row.prefs), timeZone: row.timeZone };
}

/** Preferences and time zones of many users at once (the consumer's one read per delivery). */
export async function preferencesOfUsers(
  db: Database,
  userIds: readonly string[],
): Promise<Map<string, UserContext>> {
  const found = new Map<string, UserContext>();
  const rows = await db
    .select({ userId: users.id, timeZone: users.timezone, prefs: notificationPreferences })
    .from(users)
    .leftJoin(notificationPreferences, eq(notificationPreferences.userId, users.id))
    .where(inArray(users.id, [...userIds]))
    .all();
  for (const row of rows)
    found.set(row.userId, { preferences: preferencesOf(row.prefs), timeZone: row.timeZone });
  return found;
}

export function upsertPreferences(db: Database, userId: string, p: Preferences, now: string) {
  const values = {
    userId,
    kinds: p.kinds,
    quietStart: p.quiet_hours?.start ?? null,
    quietEnd: p.quiet_hours?.end ?? null,
    dailyCap: p.daily_cap,
    digest: p.digest,
    dueSoonMinutes: p.due_soon_minutes,
    updatedAt: now,
  };
  const { userId: _key, ...changes } = values;
  return db
    .insert(notificationPreferences)
    .values(values)
    .onConflictDoUpdate({ target: notificationPreferences.userId, set: changes });
}

/** A row to write for one notify message, placed (see placement.ts). */
export interface NotificationWrite {
  id: string;
  userId: string;
  key: string;
  kind: NotificationRow["kind"];
  title: string;
  body: string;
  data: Record<string, unknown>;
  enqueuedAt: number;
  placement: Placement;
  dailyCap: number;
}

/**
 * The one insert of a notification (only when `onlyIf` holds in the batch). The daily cap is counted inside the statement, so concurrent
 * deliveries for one person can never both slip under it; a key already written inserts nothing.
 */
export function insertNotification(db: Database, w: NotificationWrite, onlyIf: SQL) {
  const p = w.placement;
  const capped = p.countsTowardCap
    ? sql`(SELECT count(*) FROM notifications n WHERE n.user_id = ${w.userId} AND n.local_day = ${p.localDay} AND n.counts_toward_cap = 1 AND n.status IN ('delivered','deferred')) >= ${w.dailyCap}`
    : sql`0`;
  const when = <T>(ifCapped: unknown, otherwise: unknown, name: string) =>
    sql<T>`CASE WHEN c.capped THEN ${ifCapped} ELSE ${otherwise} END`.as(name);
  const v = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  const inbox = JSON.stringify(p.inApp ? ["in_app"] : []);
  const overCapDelivered = p.overCap.status === "delivered";
  return db
    .insert(notifications)
    .select(
      db
        .select({
          id: v<string>(w.id, "id"),
          userId: v<string>(w.userId, "user_id"),
          key: v<string>(w.key, "key"),
          kind: v<string>(w.kind, "kind"),
          title: v<string>(w.title, "title"),
          body: v<string>(w.body, "body"),
          data: v<string>(JSON.stringify(w.data), "data"),
          status: when<string>(p.overCap.status, p.status, "status"),
          // Past the cap with digests off, the inbox is where it goes, whatever the kind's in-app choice:
          // it is pushed nowhere, so it must be shown somewhere.
          inApp: when<number>(overCapDelivered ? 1 : p.inApp ? 1 : 0, p.inApp ? 1 : 0, "in_app"),
          channels: when<string>(
            overCapDelivered ? '["in_app"]' : "[]",
            p.status === "delivered" ? inbox : "[]",
            "channels",
          ),
          pushState: when<string>("none", p.pushState, "push_state"),
          localDay: v<string>(p.localDay, "local_day"),
          countsTowardCap: v<number>(p.countsTowardCap ? 1 : 0, "counts_toward_cap"),
          deliverAt: when<string>(nowIso(p.overCap.deliverAt), nowIso(p.deliverAt), "deliver_at"),
          digestId: sql<string | null>`NULL`.as("digest_id"),
          enqueuedAt: v<string>(nowIso(w.enqueuedAt), "enqueued_at"),
          createdAt: v<string>(nowIso(p.deliverAt), "created_at"),
          readAt: sql<string | null>`NULL`.as("read_at"),
          deletedAt: sql<string | null>`NULL`.as("deleted_at"),
        })
        .from(sql`(SELECT ${capped} AS capped) AS c`)
        // SQLite reads `ON CONFLICT` after a bare `FROM …` as a join constraint; a WHERE ends the SELECT.
        .where(onlyIf),
    )
    .onConflictDoNothing({ target: [notifications.userId, notifications.key] })
    .returning({ id: notifications.id });
}

/** The rows of these (user, key) pairs as they stand (new or written by an earlier delivery). */
export function notificationsByKeys(db: Database, pairs: readonly { userId: string; key: string }[]) {
  const tuples = pairs.map((p) => sql`(${p.userId}, ${p.key})`);
  return db
    .select()
    .from(notifications)
    .where(sql`(${notifications.userId}, ${notifications.key}) IN (VALUES ${sql.join(tuples, sql`, `)})`);
}
