import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import { abortIf } from "../batch";
import { chunkList } from "../chunk";

/**
 * Whether an account still exists: its row is there and its deletion has not begun (`deleting_at`;
 * from that moment the account is gone to everyone, though its rows go over the following moments).
 * Anything that writes on a user's behalf after the request that named them — a login's access token
 * still within its 15 minutes, a queued event, a live object's outbox, a training — asks this, or puts
 * `abortIfAccountGone` in its own batch, so that nothing of the person is ever written again.
 */
export async function accountExists(db: Database, userId: string): Promise<boolean> {
  return (await accountLookup(db, userId).get()) !== undefined;
}

/**
 * A condition true only while the account is live: a query that puts it in its WHERE returns rows only
 * then, so rows back prove the account (see `accountShown` in middleware/auth.ts). One primary-key read.
 */
export const accountIsLive = (userId: string) =>
  sql`EXISTS (SELECT 1 FROM ${users} WHERE ${users.id} = ${userId} AND ${users.deletingAt} IS NULL)`;

/** The one-row read behind `accountExists` (tests recognise it by its SQL). */
export const accountLookup = (db: Database, userId: string) =>
  db
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletingAt)))
    .limit(1);

/** Which of these accounts still exist (for a consumer's delivery: a few users at a time). */
export function existingAccountsQuery(db: Database, userIds: readonly string[]) {
  return db
    .select({ id: users.id })
    .from(users)
    .where(and(inArray(users.id, userIds.length > 0 ? [...userIds] : [""]), isNull(users.deletingAt)));
}

/** `abortIfAccountGone` for one account: one statement. */
export function abortIfAccountGoneOne(db: Database, userId: string): BatchItem<"sqlite"> {
  return abortIf(db, sql`NOT ${accountIsLive(userId)}`);
}

/**
 * Batch statements that abort the whole batch when any of these accounts no longer exists at that
 * point of its transaction: an account deleted after the writer read it makes the write vanish rather
 * than leave rows nobody owns. Put them first; recognise the abort with `isGuardAbort`, then ask
 * `accountExists` which account it was.
 */
export function abortIfAccountGone(db: Database, userIds: readonly string[]): BatchItem<"sqlite">[] {
  return chunkList([...new Set(userIds)], 90).map((ids) =>
    abortIf(
      db,
      sql`(SELECT count(*) FROM ${users} WHERE ${users.id} IN (${sql.join(
        ids.map((id) => sql`${id}`),
        sql`, `,
      )}) AND ${users.deletingAt} IS NULL) < ${ids.length}`,
    ),
  );
}

/** How many gone accounts an isolate remembers (ids of 36 characters: well under a megabyte). */
const GONE_REMEMBERED = 10_000;
const gone = new Set<string>();

/**
 * Accounts this isolate has seen gone. Gone is for ever (a deletion is never undone, ids are never
 * reused), so a later request with the same token is refused before it runs anything: a deleted
 * account's token hammering the API costs one lookup per isolate, not one route (and sweep) each.
 */
export const goneAccounts = {
  has: (userId: string) => gone.has(userId),
  add(userId: string) {
    if (gone.size >= GONE_REMEMBERED) gone.clear();
    gone.add(userId);
  },
};
