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
import { eq, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports, users } from "../../../db/schema";
import { ApiError, conflict } from "../../../lib/errors";
import { newId } from "../../../lib/ids";
import { nowIso } from "../../../lib/time";
import { downloadTarget } from "../../export/service";
import { verifyDownload } from "../../export/signing";
import { IMPORT_TTL_MS } from "../limits";
import { type ImportRow, importDtoOf } from "../queries";
import type { ImportDto } from "../schemas";
import { metaMapping } from "./meta";
import { RestoreRefusal, scanRestore } from "./preview";
import { storeStream, uploadStream } from "./store";

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
    const { done, value } = await reader.read();
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

/** 409 when the user has MAX_PENDING_RESTORES uploaded restores waiting already. */
async function refuseTooManyPending(db: Database, userId: string): Promise<void> {
  const pending = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM imports WHERE user_id = ${userId} AND source = 'export' AND file_key IS NOT NULL
      AND status IN ('previewed', 'queued', 'running', 'failed')`,
  );
  if ((pending?.n ?? 0) >= MAX_PENDING_RESTORES)
    throw conflict(
      "restores_pending",
      `You have ${MAX_PENDING_RESTORES} uploaded restores waiting: commit or discard one of them first.`,
    );
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
  let identity = false;
  let fileKey: string | null = null;
  let key: string;
  let size: number;
  if (link === null) await refuseTooManyPending(db, userId);
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
    const rest = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    size = await storeStream(files, key, head, rest, { user_id: userId, import_id: importId });
  }
  const forget = () => (fileKey ? files.delete(fileKey).catch(() => undefined) : Promise.resolve());
  let scan: Awaited<ReturnType<typeof scanRestore>>;
  try {
    scan = await scanRestore(db, files, userId, key, size, identity);
  } catch (error) {
    await forget();
    if (error instanceof RestoreRefusal) throw invalid("unreadable_file", error.message, error.field);
    throw error;
  }
  const zone =
    (await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get())?.timezone ??
    "UTC";
  const row: ImportRow = {
    id: importId,
    userId,
    source: "export",
    status: "previewed",
    mode: null,
    fileKey,
    fileBytes: size,
    mapping: {
      ...metaMapping({ identity: identity ? "1" : "0", validated: scan.validated ? "1" : "0" }),
      ...(fileKey ? {} : { file: key }),
    },
    timezone: zone,
    preview: scan.preview,
    itemsTotal: scan.rows,
    itemsDone: 0,
    partItems: null,
    partStarts: null,
    resends: 0,
    result: null,
    error: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
    committedAt: null,
    completedAt: null,
    expiresAt: nowIso(now + IMPORT_TTL_MS),
  };
  try {
    await db.insert(imports).values(row);
  } catch (error) {
    await forget();
    throw error;
  }
  return importDtoOf(row);
}
