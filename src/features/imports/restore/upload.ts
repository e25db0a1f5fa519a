/**
 * A restore upload (POST /api/v1/import?source=export). The body is either the export file itself
 * (any Content-Type; gzip with Content-Encoding: gzip), streamed into R2 under
 * imports/<user_id>/<import_id>/, or — a JSON object of at most LINK_BODY_BYTES with a
 * `download_url` — a signed download link of this platform's export, read straight from where the
 * export lies (no upload: a 250 MB export restores as fast as it is read). An export document never
 * has `download_url`, so the two cannot be confused.
 *
 * The link is checked exactly as the download route checks it (signature, expiry, the export still
 * there): it is a bearer capability, so whoever holds a valid link may restore what it names — as they
 * may download it — into their own account, never into anyone else's.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports, users } from "../../../db/schema";
import { ApiError, conflict } from "../../../lib/errors";
import { newId } from "../../../lib/ids";
import { nowIso } from "../../../lib/time";
import { downloadTarget } from "../../export/service";
import { verifyDownload } from "../../export/signing";
import { dropUpload } from "../housekeeping";
import { IMPORT_TTL_MS, UPLOAD_TTL_MS } from "../limits";
import { type ImportRow, importDtoOf } from "../queries";
import type { ImportDto } from "../schemas";
import { metaMapping } from "./meta";
import { RestoreRefusal, scanRestore } from "./preview";
import { readOrRefuse, storeStream, uploadStream } from "./store";

/**
 * Uploaded restores a person may have waiting (previewed, running or failed) at once: each keeps a file
 * of up to 1 GiB for a day, so their number is bounded (a restore by link stores nothing).
 */
export const MAX_PENDING_RESTORES = 2;

/** A body this small that is a JSON object with `download_url` is a link, not a file. */
export const LINK_BODY_BYTES = 4096;

const invalid = (code: string, detail: string, field: string) =>
  new ApiError(422, code, detail, { errors: [{ field, message: detail }] });

const hasBom = (bytes: Uint8Array) => bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;

/** Reads up to `limit` + 1 bytes of the stream: the head, and whether the stream ended within it. */
async function peek(reader: ReadableStreamDefaultReader<Uint8Array>, limit: number) {
  const pieces: Uint8Array[] = [];
  let size = 0;
  let ended = false;
  while (size <= limit) {
    const { done, value } = await readOrRefuse(reader);
    if (done) {
      ended = true;
      break;
    }
    pieces.push(value);
    size += value.length;
  }
  const head = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    head.set(piece, at);
    at += piece.length;
  }
  return { head, ended };
}

function linkOf(head: Uint8Array): string | null {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(head)) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed) && "download_url" in parsed) {
      const url = (parsed as { download_url: unknown }).download_url;
      if (typeof url !== "string")
        throw invalid("invalid_download_url", "download_url must be a string.", "download_url");
      return url;
    }
  } catch (error) {
    if (error instanceof ApiError) throw error;
  }
  return null;
}

/** The R2 key of the export a signed link names, checked as the download route checks it. */
export async function linkedExportKey(
  db: Database,
  secret: string,
  link: string,
  now: number,
): Promise<string> {
  const bad = (detail: string) => invalid("invalid_download_url", detail, "download_url");
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    throw bad("download_url is not a URL.");
  }
  const match = /^\/api\/v1\/export\/([^/]+)\/download$/.exec(url.pathname);
  const expires = url.searchParams.get("expires") ?? "";
  const signature = url.searchParams.get("signature") ?? "";
  if (!match || !/^\d{1,12}$/.test(expires) || signature === "")
    throw bad("download_url is not the download link of an export of this platform.");
  const exportId = decodeURIComponent(match[1] as string);
  if (!(await verifyDownload(secret, exportId, Number(expires), signature)))
    throw bad("The download link's signature is not valid (changed, or not from this server).");
  if (Number(expires) * 1000 <= now)
    throw bad("The download link has expired; ask for the export's status again.");
  const target = await downloadTarget(db, exportId, now);
  if (target.kind !== "file") throw bad("The export of this link has expired and its file was deleted.");
  if (target.contentType !== "application/json")
    throw bad("This link is a CSV export; only a JSON export can be restored.");
  return target.key;
}

const tooManyPending = () =>
  conflict(
    "restores_pending",
    `You have ${MAX_PENDING_RESTORES} uploaded restores waiting: commit or discard one of them first.`,
  );

/**
 * Writes the upload's row (`uploading`: never shown) before anything is stored in R2, in ONE statement
 * with the count of the restores already waiting, so two uploads at once cannot both pass the limit
 * (409 when the user has MAX_PENDING_RESTORES). A request killed half-way leaves the row for
 * housekeeping, which deletes the files with it an hour on (imports/housekeeping.ts dropUpload).
 */
async function claimUpload(db: Database, row: ImportRow): Promise<void> {
  const inserted = await db.all<{ id: string }>(
    sql`INSERT INTO imports (id, user_id, source, status, file_key, file_bytes, mapping, timezone, preview,
        items_total, items_done, resends, created_at, updated_at, expires_at)
      SELECT ${row.id}, ${row.userId}, 'export', 'uploading', ${row.fileKey}, 0, ${JSON.stringify(row.mapping)},
        ${row.timezone}, '{}', 0, 0, 0, ${row.createdAt}, ${row.updatedAt}, ${row.expiresAt}
      WHERE (SELECT count(*) FROM imports WHERE user_id = ${row.userId} AND source = 'export' AND file_key IS NOT NULL
        AND status IN ('uploading', 'previewed', 'queued', 'running', 'failed')) < ${MAX_PENDING_RESTORES}
      RETURNING id`,
  );
  if (inserted.length === 0) throw tooManyPending();
}

export interface RestoreUploadInput {
  body: ReadableStream<Uint8Array> | null;
  contentEncoding: string | undefined;
  secret: string;
}

/** Stores (or links) the file, previews it, and records the import (201). Nothing is kept on a 422. */
export async function previewRestore(
  db: Database,
  files: R2Bucket,
  userId: string,
  input: RestoreUploadInput,
): Promise<ImportDto> {
  const now = Date.now();
  const importId = newId(now);
  if (!input.body)
    throw invalid("empty_file", "The file is empty: send the export as the request body.", "file");
  const reader = uploadStream(input.body, input.contentEncoding).getReader();
  const peeked = await peek(reader, LINK_BODY_BYTES);
  // A byte-order mark is dropped before the file is stored: the reader's decoder would skip it
  // without counting its 3 bytes, and every resume offset after it would be off by 3 (review item 7).
  const head = hasBom(peeked.head) ? peeked.head.subarray(3) : peeked.head;
  const link = peeked.ended ? linkOf(head) : null;
  const zone =
    (await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get())?.timezone ??
    "UTC";
  let identity = false;
  let fileKey: string | null = null;
  let key: string;
  let size: number;
  let claimed = false;
  const forget = () =>
    claimed ? dropUpload(db, files, userId, importId).catch(() => undefined) : Promise.resolve();
  const rowOf = (
    status: "uploading" | "previewed",
    scan?: Awaited<ReturnType<typeof scanRestore>>,
  ): ImportRow => ({
    id: importId,
    userId,
    source: "export",
    status,
    mode: null,
    fileKey,
    fileBytes: size ?? 0,
    partItems: null,
    partStarts: null,
    mapping: {
      ...metaMapping({ identity: identity ? "1" : "0", validated: scan?.validated ? "1" : "0" }),
      ...(fileKey || link === null ? {} : { file: key }),
    },
    timezone: zone,
    preview: scan?.preview ?? {},
    itemsTotal: scan?.rows ?? 0,
    itemsDone: 0,
    resends: 0,
    result: null,
    error: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
    committedAt: null,
    completedAt: null,
    expiresAt: nowIso(now + (status === "uploading" ? UPLOAD_TTL_MS : IMPORT_TTL_MS)),
  });
  try {
    if (link !== null) {
      key = await linkedExportKey(db, input.secret, link, now);
      size = (await files.head(key))?.size ?? 0;
      // Ids are kept only for the caller's own export (its key is under exports/<owner>/, set by the
      // export job from its row): the one case where the rows are known to be this account's.
      identity = key.startsWith(`exports/${userId}/`);
    } else {
      if (head.length === 0)
        throw invalid("empty_file", "The file is empty: send the export as the request body.", "file");
      key = `imports/${userId}/${importId}/upload.json`;
      fileKey = key;
      size = 0;
      await claimUpload(db, rowOf("uploading"));
      claimed = true;
      const rest = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { done, value } = await readOrRefuse(reader);
          if (done) controller.close();
          else controller.enqueue(value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      size = await storeStream(files, key, head, rest, { user_id: userId, import_id: importId });
    }
    let scan: Awaited<ReturnType<typeof scanRestore>>;
    try {
      scan = await scanRestore(db, files, userId, key, size, identity);
    } catch (error) {
      if (error instanceof RestoreRefusal) throw invalid("unreadable_file", error.message, error.field);
      throw error;
    }
    const row = rowOf("previewed", scan);
    if (claimed) {
      // Only while still `uploading`: housekeeping may have taken it for dead (and deleted its file).
      const moved = await db
        .update(imports)
        .set(row)
        .where(and(eq(imports.id, importId), eq(imports.status, "uploading")))
        .returning({ id: imports.id });
      if (moved.length === 0) throw new Error("restore upload: its row was discarded while it was read");
    } else await db.insert(imports).values(row);
    return importDtoOf(row);
  } catch (error) {
    reader.cancel().catch(() => undefined);
    await forget();
    throw error;
  }
}
