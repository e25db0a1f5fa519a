/**
 * The consumer's D1 work: turning notify messages into rows (preferences, quiet hours, the cap),
 * releasing deferred rows, folding capped ones into a digest. Every step is keyed so a redelivered
 * message finds the row it already wrote instead of writing another.
 */
import { and, asc, eq, inArray, lte, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { users as accounts, notifications } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { NotifyMessage } from "./message";
import { placeNotification } from "./placement";
import {
  insertNotification,
  type NotificationRow,
  notificationsByKeys,
  preferencesOfUsers,
  readPreferences,
  type UserContext,
} from "./queries";

/** A row the consumer handled, and whether this delivery wrote it (only new rows go out live). */
export interface Handled {
  row: NotificationRow;
  fresh: boolean;
}

const pairKey = (userId: string, key: string) => `${userId}\u0000${key}`;

/**
 * Writes the notifications of these messages: one read of the users' preferences, then one batch of
 * inserts and read-backs. Answers each message's row by (user, key); a message has none when its user
 * is gone or turned its kind off everywhere.
 */
export async function writeNotifications(
  db: Database,
  messages: readonly NotifyMessage[],
  now: number,
): Promise<Map<string, Handled>> {
  const handled = new Map<string, Handled>();
  const users = [...new Set(messages.map((m) => m.user_id))];
  const contexts = new Map<string, UserContext>();
  for (const chunk of chunkList(users, 90)) {
    for (const [userId, context] of await preferencesOfUsers(db, chunk)) contexts.set(userId, context);
  }
  const statements: BatchItem<"sqlite">[] = [];
  const written: { userId: string; key: string; id: string }[] = [];
  const seen = new Set<string>();
  for (const m of messages) {
    const context = contexts.get(m.user_id);
    if (!context || seen.has(pairKey(m.user_id, m.key))) continue;
    seen.add(pairKey(m.user_id, m.key));
    const placement = placeNotification(m.kind, context.preferences, context.timeZone, now);
    if (!placement) continue;
    const id = newId(now);
    written.push({ userId: m.user_id, key: m.key, id });
    statements.push(
      insertNotification(
        db,
        {
          id,
          userId: m.user_id,
          key: m.key,
          kind: m.kind,
          title: m.title,
          body: m.body,
          data: m.data,
          enqueuedAt: m.enqueued_at,
          placement,
          dailyCap: context.preferences.daily_cap,
        },
        // The account may have been deleted since its preferences were read: then nothing is written.
        sql`EXISTS (SELECT 1 FROM ${accounts} WHERE ${accounts.id} = ${m.user_id})`,
      ),
    );
  }
  if (written.length === 0) return handled;
  const reads = chunkList(written, 45).map((chunk) => notificationsByKeys(db, chunk));
  // Something was written, so there are statements: the batch is never empty.
  const [first, ...rest] = [...statements, ...reads];
  const results = (await db.batch([first!, ...rest])) as unknown[];
  const inserted = new Set(
    (results.slice(0, statements.length) as { id: string }[][]).flatMap((rows) => rows.map((r) => r.id)),
  );
  for (const rows of results.slice(statements.length) as NotificationRow[][]) {
    for (const row of rows) handled.set(pairKey(row.userId, row.key), { row, fresh: inserted.has(row.id) });
  }
  return handled;
}

/** The row a notify message made (see writeNotifications). */
export const handledOf = (handled: Map<string, Handled>, m: NotifyMessage) =>
  handled.get(pairKey(m.user_id, m.key));

/** A notification row, if it is the user's. */
async function rowOf(db: Database, userId: string, id: string): Promise<NotificationRow | undefined> {
  return db
    .select()
    .from(notifications)
    .where(and(eq(notifications.id, id), eq(notifications.userId, userId)))
    .get();
}

/** Delivers a deferred notification whose quiet hours are over (once: the update is guarded). */
export async function releaseNotification(
  db: Database,
  userId: string,
  id: string,
  now: number,
): Promise<Handled | undefined> {
  const [released] = await db
    .update(notifications)
    .set({
      status: "delivered",
      createdAt: nowIso(now),
      channels: sql`CASE WHEN ${notifications.inApp} THEN json_array('in_app') ELSE json_array() END`,
    })
    .where(
      and(
        eq(notifications.id, id),
        eq(notifications.userId, userId),
        sql`${notifications.status} = 'deferred'`,
      ),
    )
    .returning();
  if (released) return { row: released, fresh: true };
  const row = await rowOf(db, userId, id);
  return row ? { row, fresh: false } : undefined;
}

/** A delivered notification, for a push that is still pending. */
export async function deliveredRow(db: Database, userId: string, id: string): Promise<Handled | undefined> {
  const row = await rowOf(db, userId, id);
  return row?.status === "delivered" ? { row, fresh: false } : undefined;
}

/**
 * The most notifications one digest folds (their ids are bound in one statement with five more
 * values, under D1's 100 parameters); the rest wait for the next run of the sweeper.
 */
export const DIGEST_MAX_ITEMS = 90;

function digestText(rows: readonly NotificationRow[]) {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.kind, (counts.get(r.kind) ?? 0) + 1);
  const parts = [...counts].map(([kind, n]) => `${n} ${kind.replace("_", " ")}`);
  return {
    title: `Your digest: ${rows.length} update${rows.length === 1 ? "" : "s"}`,
    body: `While you were busy: ${parts.join(", ")}.`,
    counts: Object.fromEntries(counts),
  };
}

/**
 * Folds the user's waiting notifications (those past the cap whose digest time came) into one digest
 * notification. Keyed by the first folded row, and the fold is guarded by status, so a redelivered or
 * concurrent message writes one digest and folds each row once. With the digest kind turned off
 * everywhere, the rows go to the inbox as they are, silently: nothing is lost.
 */
export async function foldIntoDigest(
  db: Database,
  userId: string,
  until: number,
  now: number,
): Promise<Handled | undefined> {
  const context = await readPreferences(db, userId);
  if (!context) return undefined;
  const waiting = await db
    .select()
    .from(notifications)
    .where(
      and(
        eq(notifications.userId, userId),
        sql`${notifications.status} = 'folded'`,
        lte(notifications.deliverAt, nowIso(until)),
      ),
    )
    .orderBy(asc(notifications.id))
    .limit(DIGEST_MAX_ITEMS)
    .all();
  const [firstRow] = waiting;
  if (!firstRow) return undefined;
  const ids = waiting.map((r) => r.id);
  const placement = placeNotification("digest", context.preferences, context.timeZone, now);
  if (!placement) {
    await db
      .update(notifications)
      .set({ status: "delivered", createdAt: nowIso(now), channels: sql`json_array('in_app')`, inApp: true })
      .where(and(inArray(notifications.id, ids), sql`${notifications.status} = 'folded'`))
      .run();
    return undefined;
  }
  const key = `digest:${firstRow.id}`;
  const text = digestText(waiting);
  const id = newId(now);
  const digestIdOf = sql`(SELECT d.id FROM notifications d WHERE d.user_id = ${userId} AND d.key = ${key})`;
  const [inserted, , rows] = await db.batch([
    insertNotification(
      db,
      {
        id,
        userId,
        key,
        kind: "digest",
        title: text.title,
        body: text.body,
        data: {
          notification_ids: ids,
          counts: text.counts,
          items: waiting.slice(0, 10).map((r) => ({ notification_id: r.id, kind: r.kind, title: r.title })),
        },
        enqueuedAt: until,
        placement,
        dailyCap: context.preferences.daily_cap,
      },
      // Written only while every row it lists is still waiting: a concurrent fold (under another
      // first row) that took any of them makes this digest nothing, never an empty or a false one.
      sql`NOT EXISTS (SELECT 1 FROM notifications n, json_each(${JSON.stringify(ids)}) j WHERE n.id = j.value AND n.status <> 'folded')`,
    ),
    db
      .update(notifications)
      // Only the delivery whose digest row was written folds (a concurrent one that lost the key folds
      // nothing): a digest lists exactly what it holds, and a row left folded gets the next digest.
      .set({ status: "digested", digestId: id })
      .where(
        and(
          inArray(notifications.id, ids),
          sql`${notifications.status} = 'folded' AND ${digestIdOf} = ${id}`,
        ),
      ),
    notificationsByKeys(db, [{ userId, key }]),
  ]);
  const row = rows[0];
  return row ? { row, fresh: inserted.some((r) => r.id === row.id) } : undefined;
}
