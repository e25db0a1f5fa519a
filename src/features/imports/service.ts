/** An import after its upload: read, committed (queued), discarded. */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports } from "../../db/schema";
import type { ImportMode } from "../../db/schema/imports";
import { isGuardAbort } from "../../lib/batch";
import { ApiError, conflict, notFound } from "../../lib/errors";
import { nowIso } from "../../lib/time";
import { discardStatements, eraseStagedInPages } from "./discard";
import { deleteImportFiles } from "./files";
import { type ImportMessage, runMessage } from "./messages";
import { type ImportRow, importDtoOf, importQuery } from "./queries";
import { DISCARD_REQUEST_STATEMENTS, discardRestore, type EraseOptions } from "./restore/discarding";
import { isFinishing } from "./restore/meta";
import type { ImportDto } from "./schemas";
import { isStale, resendImport } from "./stale";

export async function getImport(db: Database, userId: string, importId: string): Promise<ImportDto> {
  const row = await importQuery(db, userId, importId, Date.now()).get();
  if (!row) throw notFound("Import");
  return importDtoOf(row);
}

/**
 * Queues the import (202). Committing again answers the same job, whatever its state; a failed job is
 * queued again and resumes at its cursor, and a job that stopped moving (stale.ts) gets its message
 * sent again. Another mode than the job's is 409.
 */
export async function commitImport(
  db: Database,
  queue: Queue<ImportMessage>,
  userId: string,
  importId: string,
  mode: ImportMode,
): Promise<ImportDto> {
  const now = Date.now();
  const row = await importQuery(db, userId, importId, now, { discarding: true }).get();
  if (!row) throw notFound("Import");
  if (row.status === "discarding")
    throw new ApiError(
      404,
      "import_discarded",
      "This import was discarded, so it cannot be committed; upload the file again to import it.",
    );
  if (row.mode !== null && row.mode !== mode) {
    throw conflict(
      "import_mode_conflict",
      `This import was committed as ${row.mode}; commit it as ${row.mode} again (or discard it and upload the file again).`,
    );
  }
  if (isStale(row, now)) {
    await resendImport(db, queue, row, now).catch(() => undefined);
    return getImport(db, userId, importId);
  }
  if (row.status !== "previewed" && row.status !== "failed") return importDtoOf(row);
  const [queued] = await db
    .update(imports)
    .set({
      status: "queued",
      mode,
      error: null,
      // A new start: stalls of an earlier run do not count towards giving this one up.
      resends: 0,
      committedAt: row.committedAt ?? nowIso(now),
      updatedAt: nowIso(now),
      expiresAt: null,
    })
    .where(
      and(
        eq(imports.id, importId),
        eq(imports.userId, userId),
        inArray(imports.status, ["previewed", "failed"]),
      ),
    )
    .returning();
  // Another commit of the same import won the race: its job is this one's too.
  if (!queued) return getImport(db, userId, importId);
  try {
    await queue.send(runMessage(importId, userId));
  } catch {
    // Not queued after all: put the import back as it was (a failed job keeps why), so committing again
    // works. Should this revert fail too, the stale-job sweep sends the message later.
    await db
      .update(imports)
      .set({
        status: row.status,
        mode: row.mode,
        error: row.error,
        committedAt: row.committedAt,
        expiresAt: row.expiresAt,
      })
      .where(and(eq(imports.id, importId), eq(imports.status, "queued")));
    throw new ApiError(
      503,
      "queue_unavailable",
      "The import could not be queued just now; commit it again in a moment.",
      {
        headers: { "Retry-After": "5" },
      },
    );
  }
  return importDtoOf(queued);
}

/**
 * Discards an import that is not running: its file and, for a failed job, what it staged (never shown).
 * A queued or running job is 409; so is a completed one (its tasks are yours: delete them as tasks).
 */
export async function discardImport(
  db: Database,
  files: R2Bucket,
  queue: Queue<ImportMessage>,
  userId: string,
  importId: string,
  options: EraseOptions = {},
): Promise<void> {
  const row = await importQuery(db, userId, importId, Date.now()).get();
  if (!row) throw notFound("Import");
  if (row.status === "running" && isFinishing(row))
    throw conflict(
      "import_running",
      "This restore is putting its rows into your account and completes on its own; it can no longer be discarded.",
    );
  if (row.status === "queued" || row.status === "running")
    throw conflict("import_running", "This import is being written; wait until it completes or fails.");
  if (row.status === "completed")
    throw conflict(
      "import_completed",
      "This import is done: its tasks are yours now (delete them as tasks).",
    );
  await discardRow(db, files, queue, row, DISCARD_REQUEST_STATEMENTS, options);
}

/**
 * Deletes a preview or failed job: the rows it staged and itself (in one batch, which does nothing if
 * a commit queued it meanwhile), then its R2 files (the upload and its parts). A restore's staging is
 * erased within `budget` statements, the rest by the imports queue (restore/discarding.ts).
 */
export async function discardRow(
  db: Database,
  files: R2Bucket,
  queue: Queue<ImportMessage>,
  row: ImportRow,
  budget: number,
  options: EraseOptions = {},
): Promise<void> {
  const running = () =>
    conflict("import_running", "This import was just committed; wait until it completes or fails.");
  if (row.source === "export") {
    if (!(await discardRestore(db, files, queue, row, budget, options))) throw running();
    return;
  }
  // What it staged first, in bounded pages; the last batch then has little left to erase.
  if (!(await eraseStagedInPages(db, row, sql`status IN ('previewed', 'failed')`))) throw running();
  const [first, ...rest] = discardStatements(db, row);
  try {
    await db.batch([first, ...rest]);
  } catch (error) {
    if (isGuardAbort(error)) throw running();
    throw error;
  }
  await deleteImportFiles(files, row.userId, row.id);
}
