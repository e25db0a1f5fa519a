/**
 * Export jobs as the API sees them: start one (one in progress per user), read its status and
 * progress, list them, and find the file a signed link names.
 */
import { and, desc, eq, inArray, lt } from "drizzle-orm";
import type { Database } from "../../db";
import { accountExports, type ExportFormat, users } from "../../db/schema";
import type { Env } from "../../env";
import { D1Batch } from "../../lib/batch";
import { isUniqueViolation, loggableError } from "../../lib/db-errors";
import { conflict, notFound } from "../../lib/errors";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { localParts, nowIso } from "../../lib/time";
import { exportKey } from "./job";
import { sliceMessage } from "./messages";
import type { ExportDto } from "./schemas";
import { downloadUrl } from "./signing";

type ExportRow = typeof accountExports.$inferSelect;

/** What a DTO needs to carry a download link: where the API is and the key that signs. */
export interface LinkContext {
  origin: string;
  secret: string;
  now: number;
}

const isExpired = (row: Pick<ExportRow, "status" | "expiresAt">, now: number) =>
  row.status === "expired" ||
  (row.status === "completed" && row.expiresAt !== null && Date.parse(row.expiresAt) <= now);

export function percentOf(row: Pick<ExportRow, "status" | "rowsWritten" | "rowsTotal">): number {
  if (row.status === "completed" || row.status === "expired") return 100;
  if (!row.rowsTotal) return 0;
  // Never 100 before the file is complete, whatever rows arrived meanwhile.
  return Math.min(99, Math.floor((row.rowsWritten * 100) / row.rowsTotal));
}

export async function exportDto(row: ExportRow, link: LinkContext): Promise<ExportDto> {
  const expired = isExpired(row, link.now);
  const dto: ExportDto = {
    export_id: row.id,
    format: row.format,
    status: expired ? "expired" : row.status,
    progress: { rows_written: row.rowsWritten, rows_total: row.rowsTotal, percent: percentOf(row) },
    bytes: row.bytes,
    created_at: row.createdAt,
    started_at: row.startedAt,
    completed_at: row.completedAt,
  };
  if (row.expiresAt) dto.expires_at = row.expiresAt;
  if (row.error) dto.error = row.error;
  if (row.status === "completed" && !expired && row.expiresAt) {
    dto.download_url = await downloadUrl(link.origin, link.secret, row.id, row.expiresAt);
  }
  return dto;
}

function activeExport(db: Database, userId: string) {
  return db
    .select()
    .from(accountExports)
    .where(and(eq(accountExports.userId, userId), inArray(accountExports.status, ["queued", "running"])))
    .get();
}

/**
 * Starts an export, or answers the one already in progress when it is of the same format (a client
 * that retries or double-clicks gets the same job); another format while one runs is 409. The queue
 * message goes out after the row is written; if sending fails, the cron's stalled-job sweep sends it.
 */
export async function createExport(
  env: Env,
  db: Database,
  userId: string,
  format: ExportFormat,
  idempotency: IdempotencyContext | undefined,
  link: LinkContext,
  retried = false,
): Promise<{ body: ExportDto; replayed: boolean }> {
  let outcome: WriteOutcome<ExportDto, string>;
  try {
    outcome = await writeOnce(
      db,
      userId,
      idempotency,
      async (active) => {
        const batch = new D1Batch();
        if (active) {
          if (active.format !== format) {
            throw conflict(
              "export_in_progress",
              `Your ${active.format.toUpperCase()} export (${active.id}) is still in progress; wait for it to finish before starting a ${format.toUpperCase()} one.`,
            );
          }
          return { status: 202, batch, body: await exportDto(active, link) };
        }
        const now = nowIso(link.now);
        const id = newId(link.now);
        const row: ExportRow = {
          id,
          userId,
          format,
          status: "queued",
          r2Key: exportKey(userId, id, format),
          rowsTotal: null,
          rowsWritten: 0,
          bytes: 0,
          cursor: null,
          uploadId: null,
          live: null,
          slice: 0,
          leaseId: null,
          leaseUntil: null,
          error: null,
          createdAt: now,
          updatedAt: now,
          startedAt: null,
          completedAt: null,
          expiresAt: null,
        };
        batch.add(db.insert(accountExports).values(row));
        return { status: 202, batch, body: await exportDto(row, link), events: [id] };
      },
      () => activeExport(db, userId),
    );
  } catch (error) {
    // Another request started one between our read and our write: answer as if it had come first.
    if (!retried && isUniqueViolation(error))
      return createExport(env, db, userId, format, idempotency, link, true);
    throw error;
  }
  for (const id of outcome.events) {
    try {
      await env.EXPORTS_QUEUE.send(sliceMessage(id, 0));
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          message: "export not enqueued; the cron will",
          export_id: id,
          error: loggableError(error),
        }),
      );
    }
  }
  return { body: outcome.body, replayed: outcome.replayed };
}

export async function getExport(db: Database, userId: string, exportId: string, link: LinkContext) {
  const row = await db
    .select()
    .from(accountExports)
    .where(and(eq(accountExports.id, exportId), eq(accountExports.userId, userId)))
    .get();
  if (!row) throw notFound("Export");
  return exportDto(row, link);
}

/** The caller's exports, newest first. */
export async function listExports(
  db: Database,
  userId: string,
  limit: number,
  beforeId: string | null,
  link: LinkContext,
): Promise<Page<ExportDto>> {
  const rows = await db
    .select()
    .from(accountExports)
    .where(and(eq(accountExports.userId, userId), beforeId ? lt(accountExports.id, beforeId) : undefined))
    .orderBy(desc(accountExports.id))
    .limit(rowsToFetch(limit))
    .all();
  const page = pageOf(
    rows,
    limit,
    (r) => r,
    (r) => r.id,
  );
  return { items: await Promise.all(page.items.map((r) => exportDto(r, link))), lastId: page.lastId };
}

/** What a verified download link leads to: the file's key and name, or why there is none. */
export type DownloadTarget =
  | { kind: "file"; key: string; filename: string; contentType: string }
  | { kind: "missing" }
  | { kind: "gone" };

export async function downloadTarget(db: Database, exportId: string, now: number): Promise<DownloadTarget> {
  const row = await db
    .select({
      status: accountExports.status,
      format: accountExports.format,
      key: accountExports.r2Key,
      expiresAt: accountExports.expiresAt,
      startedAt: accountExports.startedAt,
      createdAt: accountExports.createdAt,
      timezone: users.timezone,
    })
    .from(accountExports)
    .leftJoin(users, eq(users.id, accountExports.userId))
    .where(eq(accountExports.id, exportId))
    .get();
  if (!row) return { kind: "missing" };
  if (row.status !== "completed" || isExpired(row, now)) return { kind: "gone" };
  // The date people see in their own time zone, as they will look for it in their downloads.
  const at = Date.parse(row.startedAt ?? row.createdAt);
  const date = localParts(row.timezone ?? "UTC", at).date;
  return {
    kind: "file",
    key: row.key,
    filename: `proxy-agent-export-${date}.${row.format}`,
    contentType: row.format === "json" ? "application/json" : "text/csv; charset=utf-8",
  };
}
