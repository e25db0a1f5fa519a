import { and, asc, eq, isNotNull, lt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports } from "../../db/schema";
import { loggableError } from "../../lib/db-errors";
import { type StatementMeter, unmetered } from "../../lib/statement-meter";
import { nowIso } from "../../lib/time";
import { eraseStagedInPages } from "./discard";
import { deleteImportFiles } from "./files";
import { DISCARD_SWEEP } from "./limits";
import type { ImportMessage } from "./messages";
import { resendErase, SWEEP_ERASE_STATEMENTS, SWEEP_ROW_STATEMENTS } from "./restore/discarding";
import { discardRow } from "./service";

/** Deletes the files of a completed import (its upload and its parts) and forgets where they were. */
export async function clearFile(db: Database, files: R2Bucket, importId: string): Promise<void> {
  const row = await db
    .select({ userId: imports.userId })
    .from(imports)
    .where(and(eq(imports.id, importId), eq(imports.status, "completed")))
    .get();
  if (!row) return;
  await deleteImportFiles(files, row.userId, importId);
  await db
    .update(imports)
    .set({ fileKey: null, partItems: null, expiresAt: null })
    .where(and(eq(imports.id, importId), eq(imports.status, "completed")));
}

/**
 * Forgets an upload that never became a preview: its files first, then its row (only while it is still
 * `uploading`), so whatever cuts this short, the row is still there to lead the next try to the files.
 */
export async function dropUpload(db: Database, files: R2Bucket, userId: string, importId: string) {
  await deleteImportFiles(files, userId, importId);
  await db.delete(imports).where(and(eq(imports.id, importId), eq(imports.status, "uploading")));
}

/** Statements of one page of another import's erasure (discard.ts eraseStagedInPages). */
const PAGE_BEFORE_DISCARD = 6;

/**
 * Housekeeping (every 5 minutes): previews nobody committed and failed jobs nobody resumed, 24 hours
 * on, are discarded with their files and what they staged; a completed job whose file is still there
 * loses it; an upload that died while it was read (its row still `uploading` an hour on) loses the
 * files it stored and its row; a discarded restore still being erased whose queue message was lost (its
 * `expires_at` not pushed on for 15 minutes) gets it again. A few per run, each bounded (a restore's
 * staging: SWEEP_ERASE_STATEMENTS, the queue erases the rest), however large the backlog.
 */
export async function discardExpiredImports(
  db: Database,
  files: R2Bucket,
  queue: Queue<ImportMessage>,
  now = Date.now(),
  meter: StatementMeter = unmetered,
): Promise<number> {
  const due = await db
    .select()
    .from(imports)
    .where(and(isNotNull(imports.expiresAt), lt(imports.expiresAt, nowIso(now))))
    .orderBy(asc(imports.expiresAt))
    .limit(DISCARD_SWEEP);
  for (const row of due) {
    // The cron's share is spent: the rest are due still, and the next run takes them (review4 L4).
    if (meter.left() < SWEEP_ROW_STATEMENTS) break;
    try {
      if (row.status === "completed") await clearFile(db, files, row.id);
      else if (row.status === "previewed" || row.status === "failed") {
        // Another import's staging a page a run before its discard (whose own erasure and last batch,
        // 13 statements, then find at most a page left), so a row costs at most SWEEP_ROW_STATEMENTS
        // whatever its size; a restore's discard is bounded by its budget.
        const erased =
          row.source === "export"
            ? true
            : await eraseStagedInPages(db, row, sql`status IN ('previewed', 'failed')`, PAGE_BEFORE_DISCARD);
        if (erased === true) await discardRow(db, files, queue, row, SWEEP_ERASE_STATEMENTS);
      } else if (row.status === "uploading") await dropUpload(db, files, row.userId, row.id);
      else if (row.status === "discarding") await resendErase(db, queue, row, now);
    } catch (error) {
      // Committed meanwhile, or R2 failed: the next run looks again.
      console.warn(
        JSON.stringify({
          level: "warn",
          message: "import not discarded",
          import_id: row.id,
          error: loggableError(error),
        }),
      );
    }
  }
  return due.length;
}
