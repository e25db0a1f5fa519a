import { and, desc, eq, lt, or, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports } from "../../db/schema";
import type { Page } from "../../lib/pagination";
import { pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { isFinishing, isMoving } from "./restore/meta";
import {
  type ImportDto,
  type ImportPreviewDto,
  type ImportResultDto,
  type ImportSummaryDto,
  MAX_IMPORT_ID,
} from "./schemas";

export type ImportRow = typeof imports.$inferSelect;

/** Where the upload of an import lives in R2: account deletion clears everything under imports/<user_id>/. */
export const fileKeyOf = (userId: string, importId: string, source: string) =>
  `imports/${userId}/${importId}/upload.${source === "trello" ? "json" : "csv"}`;

/**
 * An import the user can still see: a preview past its expiry is gone (housekeeping deletes it within
 * minutes), whatever the row still says; an `uploading` row is never shown, nor a `discarding` one (a
 * discarded restore whose staging the queue is still erasing: to the person it is gone).
 */
export const visible = (userId: string, now: number, discarding = false): SQL =>
  and(
    eq(imports.userId, userId),
    // An upload still being read (or that died being read) is no import yet.
    discarding
      ? sql`${imports.status} != 'uploading'`
      : sql`${imports.status} NOT IN ('uploading', 'discarding')`,
    or(sql`${imports.status} != 'previewed'`, sql`${imports.expiresAt} > ${nowIso(now)}`),
  ) as SQL;

/** One import the user can see; with `discarding`, a discarded one being erased too (commit says so). */
export function importQuery(
  db: Database,
  userId: string,
  importId: string,
  now: number,
  options: { discarding?: boolean } = {},
) {
  return (
    db
      .select()
      .from(imports)
      // An id longer than any import's names none: not even bound (404, as any unknown id).
      .where(
        importId.length > MAX_IMPORT_ID
          ? sql`0`
          : and(eq(imports.id, importId), visible(userId, now, options.discarding)),
      )
      .limit(1)
  );
}

export async function listImports(
  db: Database,
  userId: string,
  limit: number,
  afterId: string | null,
  now: number,
): Promise<Page<ImportSummaryDto>> {
  const rows = await db
    .select()
    .from(imports)
    .where(and(visible(userId, now), afterId ? lt(imports.id, afterId) : undefined))
    .orderBy(desc(imports.id))
    .limit(rowsToFetch(limit));
  return pageOf(rows, limit, summaryOf, (row) => row.id);
}

/**
 * `visible` never reads an uploading or discarding row; were one passed, an upload is a preview not yet
 * written, and a discarding restore is a failed job on its way out.
 */
const shownStatus = (status: ImportRow["status"]): ImportSummaryDto["status"] =>
  status === "uploading" ? "previewed" : status === "discarding" ? "failed" : status;

/**
 * A restore past its commit point: every row of the file is written (percent 99) and the job is moving
 * them to the account, then restoring the pet and focus timer; it completes on its own (restore/job.ts).
 */
function phaseOf(row: ImportRow): { phase?: "moving" | "finishing" } {
  if (row.status !== "running" || !isFinishing(row)) return {};
  return { phase: isMoving(row) ? "moving" : "finishing" };
}

export function summaryOf(row: ImportRow): ImportSummaryDto {
  const done = row.status === "completed";
  const total = row.itemsTotal;
  return {
    import_id: row.id,
    source: row.source,
    status: shownStatus(row.status),
    mode: row.mode,
    file_bytes: row.fileBytes,
    progress: {
      items_done: row.itemsDone,
      items_total: total,
      percent: done ? 100 : total === 0 ? 0 : Math.min(99, Math.floor((100 * row.itemsDone) / total)),
      ...phaseOf(row),
    },
    // A restore counts its result as it goes (review4 L6): shown only once it is final.
    result: done ? ((row.result as ImportResultDto | null) ?? null) : null,
    error: row.error,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
    committed_at: row.committedAt,
    completed_at: row.completedAt,
    expires_at: row.status === "previewed" || row.status === "failed" ? row.expiresAt : null,
  };
}

export function importDtoOf(row: ImportRow): ImportDto {
  return { ...summaryOf(row), preview: row.preview as ImportPreviewDto };
}
