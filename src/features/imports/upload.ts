/**
 * An upload: the file read with the import's own size limit, run through its source for the preview
 * (nothing written to the tasks), duplicates looked up, and stored in R2 with the import's row.
 */
import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { imports, users } from "../../db/schema";
import type { ImportSourceName } from "../../db/schema/imports";
import { D1Batch } from "../../lib/batch";
import { ApiError } from "../../lib/errors";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { findMatches } from "./duplicates";
import { IMPORT_TTL_MS, MAX_FILE_BYTES, MAX_LISTED } from "./limits";
import { scanFile } from "./preview";
import { fileKeyOf, type ImportRow, importDtoOf } from "./queries";
import type { CsvMapping, ImportDto, ImportDuplicateDto, ImportPreviewDto } from "./schemas";
import { sourceOf } from "./sources";
import { decodeUtf8, slicesOf } from "./sources/text";
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

/** The request body, read with the import's own limit (refused as 422 past it, before anything is stored). */
export async function readUpload(body: ReadableStream<Uint8Array> | null, declared: string | undefined) {
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
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const piece of pieces) {
    bytes.set(piece, at);
    at += piece.length;
  }
  return bytes;
}

interface UploadInput {
  source: ImportSourceName;
  mapping: CsvMapping | undefined;
}

/**
 * Reads an uploaded file through its source and answers the preview; the file is stored in R2 for
 * the commit. A file the source cannot read (or with nothing to import) is 422 and nothing is stored.
 */
export async function previewUpload(
  db: Database,
  files: R2Bucket,
  userId: string,
  input: UploadInput,
  bytes: Uint8Array,
  idempotency: IdempotencyContext | undefined,
): Promise<WriteOutcome<ImportDto, never>> {
  if (bytes.length === 0) {
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
  const now = Date.now();
  const zone =
    (await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get())?.timezone ??
    "UTC";
  const mapping = input.source === "csv" ? (input.mapping ?? null) : null;
  let scan: Awaited<ReturnType<typeof scanFile>>;
  try {
    scan = await scanFile(sourceOf(input.source), decodeUtf8(slicesOf(bytes)), { zone, now, mapping });
  } catch (error) {
    if (error instanceof SourceRefusal) throw unreadableFile(error);
    throw error;
  }
  const importId = newId(now);
  const matches = await findMatches(db, userId, input.source, importId, scan.candidates);
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
  const preview: ImportPreviewDto = {
    ...scan.preview,
    counts: { ...scan.preview.counts, duplicates: duplicateCount },
    duplicates,
  };
  const fileKey = fileKeyOf(userId, importId, input.source);
  const row: ImportRow = {
    id: importId,
    userId,
    source: input.source,
    status: "previewed",
    mode: null,
    fileKey,
    fileBytes: bytes.length,
    mapping,
    timezone: zone,
    preview,
    itemsTotal: preview.counts.tasks,
    itemsDone: 0,
    result: null,
    error: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
    committedAt: null,
    completedAt: null,
    expiresAt: nowIso(now + IMPORT_TTL_MS),
  };
  return writeOnce(db, userId, idempotency, async () => {
    // Only once no earlier answer to the same key is replayed: a retried upload stores no second file.
    await files.put(fileKey, bytes, { customMetadata: { user_id: userId, import_id: importId } });
    const batch = new D1Batch();
    batch.add(db.insert(imports).values(row));
    return {
      status: 201,
      batch,
      body: importDtoOf(row),
      failure: (error) => {
        files.delete(fileKey).catch(() => undefined);
        return error;
      },
    };
  });
}

/** What the Idempotency-Key of an upload is checked against: the source, the mapping and the file. */
export async function uploadFingerprint(input: UploadInput, bytes: Uint8Array) {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const file = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return { ...input, file };
}
