/** The D1 reads and writes of shares and profiles. */
import { and, desc, eq, gt, lt, ne, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { type ShowcaseChoice, socialProfiles, socialShares } from "../../db/schema";
import { rowsToFetch } from "../../lib/pagination";

export type ShareRow = typeof socialShares.$inferSelect;
export type ProfileRow = typeof socialProfiles.$inferSelect;

export function insertShare(db: Database, row: ShareRow) {
  return db.insert(socialShares).values(row);
}

/** One page of the user's shares, newest first. */
export function sharesOf(db: Database, userId: string, limit: number, afterId: string | null) {
  return db
    .select()
    .from(socialShares)
    .where(and(eq(socialShares.userId, userId), afterId ? lt(socialShares.id, afterId) : undefined))
    .orderBy(desc(socialShares.id))
    .limit(rowsToFetch(limit))
    .all();
}

/** Deletes the user's share; answers its code and snapshot, or undefined when there was none. */
export function deleteShare(db: Database, userId: string, shareId: string) {
  return db
    .delete(socialShares)
    .where(and(eq(socialShares.id, shareId), eq(socialShares.userId, userId)))
    .returning({ code: socialShares.code, snapshot: socialShares.snapshot })
    .get();
}

export function shareByCode(db: Database, code: string) {
  return db.select().from(socialShares).where(eq(socialShares.code, code)).get();
}

export function profileOfUser(db: Database, userId: string) {
  return db.select().from(socialProfiles).where(eq(socialProfiles.userId, userId)).get();
}

/** The profile with this handle (any case) when it is public. */
export function publicProfileByHandle(db: Database, handle: string) {
  return db
    .select()
    .from(socialProfiles)
    .where(and(eq(socialProfiles.handleKey, handle.toLowerCase()), eq(socialProfiles.isPublic, true)))
    .get();
}

/** Another profile let go of this handle key after `sinceIso`: it is still kept for its old holder. */
export function releasedByOtherSince(db: Database, handleKey: string, userId: string, sinceIso: string) {
  return db
    .select({ userId: socialProfiles.userId })
    .from(socialProfiles)
    .where(
      and(
        eq(socialProfiles.releasedHandleKey, handleKey),
        ne(socialProfiles.userId, userId),
        gt(socialProfiles.releasedAt, sinceIso),
      ),
    )
    .limit(1);
}

/**
 * Creates or replaces the user's profile; a handle changed for another is remembered as released now. A handle some other profile holds (in any case) fails on
 * the unique index, so two people racing for one handle cannot both win.
 */
export function upsertProfile(
  db: Database,
  row: { userId: string; handle: string; handleKey: string; isPublic: boolean; showcase: ShowcaseChoice[] },
  now: string,
) {
  return db
    .insert(socialProfiles)
    .values({ ...row, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({
      target: socialProfiles.userId,
      set: {
        handle: row.handle,
        handleKey: row.handleKey,
        isPublic: row.isPublic,
        showcase: row.showcase,
        releasedHandleKey: sql`CASE WHEN ${socialProfiles.handleKey} <> excluded.handle_key THEN ${socialProfiles.handleKey} ELSE ${socialProfiles.releasedHandleKey} END`,
        releasedAt: sql`CASE WHEN ${socialProfiles.handleKey} <> excluded.handle_key THEN ${now} ELSE ${socialProfiles.releasedAt} END`,
        updatedAt: now,
      },
    })
    .returning()
    .get();
}
