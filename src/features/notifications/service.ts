import { and, eq, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { notifications } from "../../db/schema";
import { notFound } from "../../lib/errors";
import type { Page } from "../../lib/pagination";
import { pageOf } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import type { KindChoice, Preferences } from "./preferences";
import {
  inboxKeyOf,
  inInbox,
  listNotificationsQuery,
  readPreferences,
  toNotificationDto,
  unreadCountQuery,
  upsertPreferences,
} from "./queries";
import type {
  ListNotificationsQuery,
  NotificationDto,
  PreferencesDto,
  UpdatePreferencesInput,
} from "./schemas";

export async function listNotifications(
  db: Database,
  userId: string,
  query: ListNotificationsQuery,
  after: string | null,
): Promise<Page<NotificationDto>> {
  const rows = await listNotificationsQuery(db, userId, query, after).all();
  return pageOf(rows, query.limit, toNotificationDto, inboxKeyOf);
}

export async function unreadCount(db: Database, userId: string): Promise<number> {
  const row = await unreadCountQuery(db, userId).get();
  return row?.unread ?? 0;
}

const inboxRow = (userId: string, id: string) =>
  and(eq(notifications.id, id), eq(notifications.userId, userId), inInbox());

/** Marks one notification read (reading it again keeps the first time); 404 when it is not the user's. */
export async function markRead(db: Database, userId: string, id: string): Promise<NotificationDto> {
  const [row] = await db
    .update(notifications)
    .set({ readAt: sql`COALESCE(${notifications.readAt}, ${nowIso()})` })
    .where(inboxRow(userId, id))
    .returning();
  if (!row) throw notFound("Notification");
  return toNotificationDto(row);
}

export async function markAllRead(db: Database, userId: string): Promise<number> {
  const rows = await db
    .update(notifications)
    .set({ readAt: nowIso() })
    .where(and(eq(notifications.userId, userId), isNull(notifications.readAt), inInbox()))
    .returning({ id: notifications.id });
  return rows.length;
}

/**
 * Removes a notification from the inbox. The row stays (marked deleted) so its key still holds: a
 * late redelivery of the message that made it cannot bring it back.
 */
export async function deleteNotification(db: Database, userId: string, id: string): Promise<void> {
  const rows = await db
    .update(notifications)
    .set({ deletedAt: nowIso() })
    .where(inboxRow(userId, id))
    .returning({ id: notifications.id });
  if (rows.length === 0) throw notFound("Notification");
}

function toPreferencesDto(preferences: Preferences, timeZone: string): PreferencesDto {
  return { ...preferences, time_zone: timeZone };
}

export async function getPreferences(db: Database, userId: string): Promise<PreferencesDto> {
  const context = await readPreferences(db, userId);
  if (!context) throw notFound("Account");
  return toPreferencesDto(context.preferences, context.timeZone);
}

/** Merges the change into the stored (or default) preferences and stores the whole. */
export async function updatePreferences(
  db: Database,
  userId: string,
  input: UpdatePreferencesInput,
): Promise<PreferencesDto> {
  const context = await readPreferences(db, userId);
  if (!context) throw notFound("Account");
  const current = context.preferences;
  const kinds = { ...current.kinds };
  for (const [kind, change] of Object.entries(input.kinds ?? {}) as [
    keyof typeof kinds,
    Partial<KindChoice>,
  ][]) {
    kinds[kind] = { ...kinds[kind], ...change };
  }
  const next: Preferences = {
    kinds,
    quiet_hours: input.quiet_hours === undefined ? current.quiet_hours : input.quiet_hours,
    daily_cap: input.daily_cap ?? current.daily_cap,
    digest: input.digest ?? current.digest,
    due_soon_minutes: input.due_soon_minutes
      ? [...input.due_soon_minutes].sort((a, b) => b - a)
      : current.due_soon_minutes,
  };
  await upsertPreferences(db, userId, next, nowIso()).run();
  return toPreferencesDto(next, context.timeZone);
}
