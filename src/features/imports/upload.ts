/**
 * An upload: the file read with the import's own size limit, run through its source for the preview
 * (nothing written to the tasks), duplicates looked up, and stored in R2 with the import's row.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports, users } from "../../db/schema";
import type { ImportSourceName } from "../../db/schema/imports";
import { abortIf, D1Batch } from "../../lib/batch";
import { ApiError } from "../../lib/errors";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { findMatches } from "./duplicates";
import { PartWriter } from "./files";
import { dropUpload } from "./housekeeping";
import { IMPORT_TTL_MS, MAX_FILE_BYTES, MAX_LISTED, PART_ITEMS, UPLOAD_TTL_MS } from "./limits";
import { fitPreview, type Scan, scanFile } from "./preview";
import { fileKeyOf, type ImportRow, importDtoOf } from "./queries";
import type { CsvMapping, ImportDto, ImportDuplicateDto } from "./schemas";
import { sourceOf } from "./sources";
import { decodeUtf8 } from "./sources/text";
import { type Place, SourceRefusal } from "./sources/types";

/** Where a refusal points, as the name of the failing "field" of a 422. */
function fieldOf(place: Place): string {
  if (place.field) return place.field;
  if (place.row !== undefined) return `row ${place.row}`;
  if (place.line !== undefined) return `line ${place.line}`;
  return "file";
}

export const unreadableFile = (error: SourceRefusal) =>
  new ApiError(422, "unreadable_file", error.message, {
    errors: [{ field: fieldOf(error.place), message: error.message }],
  });

export const fileTooLarge = () =>
  new ApiError(
    422,
    "file_too_large",
    `The file is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB (${MAX_FILE_BYTES} bytes): split it into smaller files.`,
    { errors: [{ field: "file", message: "Too large" }] },
  );

/** An uploaded file as it arrived: the pieces of the request body, never copied into one buffer. */
export interface Upload {
  pieces: Uint8Array[];
  size: number;
}

/** The request body, read with the import's own limit (refused as 422 past it, before anything is stored). */
export async function readUpload(
  body: ReadableStream<Uint8Array> | null,
  declared: string | undefined,
): Promise<Upload> {
  if (declared !== undefined && Number(declared) > MAX_FILE_BYTES) throw fileTooLarge();
  const pieces: Uint8Array[] = [];
  let size = 0;
  if (body) {
    const reader = body.getReader();
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > MAX_FILE_BYTES) {
        reader.cancel().catch(() => undefined);
        throw fileTooLarge();
      }
      pieces.push(value);
    }
  }
  return { pieces, size };
}

async function* piecesOfUpload(upload: Upload): AsyncGenerator<Uint8Array> {
  yield* upload.pieces;
}

/** The upload as a stream R2 can store (its length known), from its pieces. */
function uploadStream(upload: Upload): ReadableStream<Uint8Array> {
  const { readable, writable } = new FixedLengthStream(upload.size);
  const writer = writable.getWriter();
  (async () => {
    for (const piece of upload.pieces) await writer.write(piece);
    await writer.close();
  })().catch((error) => writer.abort(error).catch(() => undefined));
  return readable;
}

interface UploadInput {
  source: ImportSourceName;
  mapping: CsvMapping | undefined;
}

/**
 * Reads an uploaded file through its source and answers the preview. The upload and its items, in the
 * parts the commit reads (files.ts), are stored in R2. A file the source cannot read (or with nothing
 * to import) is 422 and nothing is stored. A retry with the same Idempotency-Key replays the first
 * answer without reading the file again.
 */
export async function previewUpload(
  db: Database,
  files: R2Bucket,
  userId: string,
  input: UploadInput,
  upload: Upload,
  idempotency: IdempotencyContext | undefined,
): Promise<WriteOutcome<ImportDto, never>> {
  if (upload.size === 0) {
    throw new ApiError(422, "empty_file", "The file is empty: send the export as the request body.", {
      errors: [{ field: "file", message: "Empty" }],
    });
  }
  if (input.source === "csv" && !input.mapping) {
    throw new ApiError(
      422,
      "validation_failed",
      "A CSV import needs `mapping`: JSON naming the column of each field, at least the title.",
      { errors: [{ field: "mapping", message: "Required for source=csv" }] },
    );
  }
  const zone =
    (await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get())?.timezone ??
    "UTC";
  const mapping = input.source === "csv" ? (input.mapping ?? null) : null;
  // The row is written (`uploading`, never shown) before anything is stored in R2: if this request is
  // killed half-way (over its CPU limit, a disconnect), no catch runs, but housekeeping finds the row an
  // hour on and deletes the files with it. When JS does get to run, the files go at once if the preview
  // is not written (a refused file, a failed batch) or another request with the same key wrote first.
  // Awaited, not left to run after the answer: what a Worker leaves running may be cut off.
  let stored: string | null = null;
  const forget = async () => {
    if (stored === null) return;
    await dropUpload(db, files, userId, stored).catch(() => undefined);
  };
  const prepare = async () => {
    const now = Date.now();
    const importId = newId(now);
    const fileKey = fileKeyOf(userId, importId, input.source);
    const at = { userId, importId, input, mapping, zone, now, fileKey, upload };
    await db.insert(imports).values(uploadingRow(at));
    stored = importId;
    const parts = new PartWriter(files, userId, importId, PART_ITEMS);
    let scan: Scan;
    try {
      scan = await scanFile(
        sourceOf(input.source),
        decodeUtf8(piecesOfUpload(upload)),
        { zone, now, mapping },
        (item) => parts.add(item),
      );
      await parts.close();
      await files.put(fileKey, uploadStream(upload), {
        customMetadata: { user_id: userId, import_id: importId },
      });
    } catch (error) {
      if (error instanceof SourceRefusal) throw unreadableFile(error);
      throw error;
    }
    const matches = await findMatches(db, userId, input.source, importId, scan.candidates);
    const row = previewRow(at, scan, matches, parts.starts);
    const batch = new D1Batch();
    // Still this upload's: housekeeping has not taken it for dead.
    batch.add(
      abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${importId} AND status = 'uploading')`),
    );
    batch.add(
      db
        .update(imports)
        .set(row)
        .where(and(eq(imports.id, importId), eq(imports.status, "uploading"))),
    );
    return { status: 201, batch, body: importDtoOf(row) };
  };
  let outcome: WriteOutcome<ImportDto, never>;
  try {
    outcome = await writeOnce(db, userId, idempotency, prepare);
  } catch (error) {
    await forget();
    throw error;
  }
  // A replay of another request's answer: this one's files go. Not when the answer is this request's
  // own (its batch committed though D1 reported an error): those files are the import's.
  if (outcome.replayed && outcome.body.import_id !== stored) await forget();
  return outcome;
}

interface RowAt {
  userId: string;
  importId: string;
  input: UploadInput;
  mapping: CsvMapping | null;
  zone: string;
  now: number;
  fileKey: string;
  upload: Upload;
}

/** The row an upload writes before it stores a file: never shown, discarded an hour on if still there. */
function uploadingRow(at: RowAt): ImportRow {
  return {
    id: at.importId,
    userId: at.userId,
    source: at.input.source,
    status: "uploading",
    mode: null,
    fileKey: at.fileKey,
    fileBytes: at.upload.size,
    partItems: PART_ITEMS,
    partStarts: null,
    resends: 0,
    mapping: at.mapping,
    timezone: at.zone,
    preview: {},
    itemsTotal: 0,
    itemsDone: 0,
    result: null,
    error: null,
    createdAt: nowIso(at.now),
    updatedAt: nowIso(at.now),
    committedAt: null,
    completedAt: null,
    expiresAt: nowIso(at.now + UPLOAD_TTL_MS),
  };
}

/** The import's row after its preview: the duplicates found, the preview fitted to its bound. */
function previewRow(at: RowAt, scan: Scan, matches: (string | null)[], partStarts: number[]): ImportRow {
  const duplicates: ImportDuplicateDto[] = [];
  let duplicateCount = 0;
  scan.candidates.forEach((candidate, i) => {
    const match = matches[i];
    if (!match) return;
    duplicateCount += 1;
    if (duplicates.length < MAX_LISTED) {
      duplicates.push({
        ...(candidate.place.row !== undefined ? { row: candidate.place.row } : {}),
        ...(candidate.place.line !== undefined ? { line: candidate.place.line } : {}),
        ...(candidate.place.field !== undefined ? { field: candidate.place.field } : {}),
        key: candidate.key,
        title: candidate.title,
        matches_task_id: match,
      });
    }
  });
  const preview = fitPreview({
    ...scan.preview,
    counts: { ...scan.preview.counts, duplicates: duplicateCount },
    duplicates,
  });
  return {
    ...uploadingRow(at),
    status: "previewed",
    partStarts,
    preview,
    itemsTotal: preview.counts.tasks,
    expiresAt: nowIso(at.now + IMPORT_TTL_MS),
  };
}

/** What the Idempotency-Key of an upload is checked against: the source, the mapping and the file. */
export async function uploadFingerprint(input: UploadInput, upload: Upload) {
  const digest = new crypto.DigestStream("SHA-256");
  const writer = digest.getWriter();
  for (const piece of upload.pieces) await writer.write(piece);
  await writer.close();
  const file = Array.from(new Uint8Array(await digest.digest), (b) => b.toString(16).padStart(2, "0")).join(
    "",
  );
  return { ...input, file };
}
