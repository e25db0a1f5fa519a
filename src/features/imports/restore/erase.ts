/**
 * Erasing a restore's staging in bounded pages (as imports' eraseStagedInPages does for other
 * sources): each batch deletes at most ERASE_PAGE rows of each table and shows again at most as many of
 * the account's tasks a replace had hidden, so a staging of 600,000 rows never makes one statement or
 * batch too long for D1. Each batch first checks that `still` holds of the import row.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { abortIf, isGuardAbort, rawStatement } from "../../../lib/batch";
import { stagingUserOf } from "./meta";
import { OWNED_TABLES } from "./reveal";

/** Rows per table per batch. */
export const RESTORE_ERASE_PAGE = 500;

const q = (name: string) => sql.raw(`"${name}"`);

/** Answers false when `still` stopped holding (a commit took the job meanwhile). */
export async function eraseRestoreInPages(
  db: Database,
  row: { id: string; userId: string; createdAt: string },
  still: SQL,
): Promise<boolean> {
  const staging = stagingUserOf(row.userId, row.id);
  const page = RESTORE_ERASE_PAGE;
  for (;;) {
    try {
      const results = await db.batch([
        abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${still})`),
        // Template steps before their templates (they are found through them).
        rawStatement(
          db,
          sql`DELETE FROM template_steps WHERE rowid IN (SELECT s.rowid FROM template_steps s
            JOIN task_templates t ON t.id = s.template_id WHERE t.user_id = ${staging} LIMIT ${page})`,
        ),
        ...[...OWNED_TABLES]
          .reverse()
          .map((table) =>
            rawStatement(
              db,
              sql`DELETE FROM ${q(table)} WHERE rowid IN (SELECT rowid FROM ${q(table)} WHERE user_id = ${staging} LIMIT ${page})`,
            ),
          ),
        rawStatement(
          db,
          sql`DELETE FROM import_items WHERE rowid IN (SELECT rowid FROM import_items WHERE import_id = ${row.id} LIMIT ${page})`,
        ),
        // Tasks a replace hid while its job ran (jobs staged before review2 M2 did).
        rawStatement(
          db,
          sql`UPDATE tasks SET deleted_at = NULL WHERE rowid IN (SELECT rowid FROM tasks
            WHERE user_id = ${row.userId} AND deleted_at = ${row.createdAt} LIMIT ${page})`,
        ),
      ]);
      const changed = results.slice(1).reduce((n, r) => n + ((r as D1Result).meta?.changes ?? 0), 0);
      if (changed === 0) return true;
    } catch (error) {
      if (isGuardAbort(error)) return false;
      throw error;
    }
  }
}
