/**
 * The body of a restore upload into R2, streamed: never held whole. Bytes are counted as they come
 * off the wire (the limit is on what the client sends), a gzip body (Content-Encoding: gzip) is
 * decompressed on the way, and the text goes to R2 in multipart parts (R2 wants every part but the
 * last of one size, at least 5 MiB), so a 100 MiB upload costs one part of memory.
 */
import { ApiError } from "../../../lib/errors";

/** The most bytes a restore upload may send (compressed or not): bigger exports restore by link. */
export const MAX_RESTORE_UPLOAD_BYTES = 100 * 1024 * 1024;
/** The most bytes a gzip upload may inflate to. */
export const MAX_RESTORE_FILE_BYTES = 1024 * 1024 * 1024;
/** The multipart part size. */
export const PART_BYTES = 8 * 1024 * 1024;

export const restoreTooLarge = () =>
  new ApiError(
    422,
    "file_too_large",
    `The upload is larger than ${MAX_RESTORE_UPLOAD_BYTES / 1024 / 1024} MiB: send it gzip-compressed (Content-Encoding: gzip), or restore by its download_url.`,
    { errors: [{ field: "file", message: "Too large" }] },
  );

/** A body that is not the gzip it says it is: 422, wherever the stream is read (review2 M4). */
export const notGzip = () =>
  new ApiError(422, "unreadable_file", "The body is not valid gzip data.", {
    errors: [{ field: "file", message: "Not gzip" }],
  });

/** The error a read of the upload threw, as the client should see it (a decompression failure: 422). */
export function uploadReadError(error: unknown): unknown {
  if (error instanceof TypeError && /gzip|decompress|incorrect header|invalid/i.test(error.message))
    return notGzip();
  return error;
}

/** One read of the upload, its decompression failures translated (uploadReadError). */
export async function readOrRefuse<T>(
  reader: ReadableStreamDefaultReader<T>,
): Promise<ReadableStreamReadResult<T>> {
  try {
    return await reader.read();
  } catch (error) {
    throw uploadReadError(error);
  }
}

/** Counts the bytes passing and refuses past `limit`. */
function counting(limit: number, tooLarge: () => Error): TransformStream<Uint8Array, Uint8Array> {
  let size = 0;
  return new TransformStream({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > limit) throw tooLarge();
      controller.enqueue(chunk);
    },
  });
}

/** The upload's bytes, decompressed when the client says so, with both limits applied. */
export function uploadStream(
  body: ReadableStream<Uint8Array>,
  contentEncoding: string | undefined,
): ReadableStream<Uint8Array> {
  let stream = body.pipeThrough(counting(MAX_RESTORE_UPLOAD_BYTES, restoreTooLarge));
  const encoding = (contentEncoding ?? "").trim().toLowerCase();
  if (encoding === "gzip") {
    stream = stream
      .pipeThrough(new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>)
      .pipeThrough(counting(MAX_RESTORE_FILE_BYTES, restoreTooLarge));
  } else if (encoding !== "" && encoding !== "identity") {
    throw new ApiError(
      422,
      "unsupported_encoding",
      "Send the file as it is, or gzip-compressed (Content-Encoding: gzip).",
      {
        errors: [{ field: "Content-Encoding", message: "Unsupported" }],
      },
    );
  }
  return stream;
}

/** Writes the stream (after `head`, bytes already read) to R2 at `key`; answers its size. */
export async function storeStream(
  files: R2Bucket,
  key: string,
  head: Uint8Array,
  stream: ReadableStream<Uint8Array>,
  metadata: Record<string, string>,
): Promise<number> {
  const reader = stream.getReader();
  let buffer = new Uint8Array(PART_BYTES);
  let filled = 0;
  let size = 0;
  const multipart: { upload: R2MultipartUpload | null } = { upload: null };
  const parts: R2UploadedPart[] = [];
  const take = async (bytes: Uint8Array) => {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, PART_BYTES - filled);
      buffer.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === PART_BYTES) {
        multipart.upload ??= await files.createMultipartUpload(key, { customMetadata: metadata });
        parts.push(await multipart.upload.uploadPart(parts.length + 1, buffer));
        buffer = new Uint8Array(PART_BYTES);
        filled = 0;
      }
    }
    size += bytes.length;
  };
  try {
    await take(head);
    for (;;) {
      const { done, value } = await readOrRefuse(reader);
      if (done) break;
      await take(value);
    }
    const current = multipart.upload;
    if (current === null) {
      await files.put(key, buffer.subarray(0, filled), { customMetadata: metadata });
    } else {
      if (filled > 0) parts.push(await current.uploadPart(parts.length + 1, buffer.subarray(0, filled)));
      await current.complete(parts);
    }
    return size;
  } catch (error) {
    const current = multipart.upload;
    if (current !== null) await current.abort().catch(() => undefined);
    reader.cancel().catch(() => undefined);
    throw uploadReadError(error);
  }
}
