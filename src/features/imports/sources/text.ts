import { SourceRefusal } from "./types";

/** How much of an in-memory file is decoded at a time. */
const SLICE_BYTES = 64 * 1024;

/** An in-memory file as the stream of pieces an R2 body would give. */
export async function* slicesOf(bytes: Uint8Array, size = SLICE_BYTES): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

/** A byte stream (an R2 object's body) as pieces. */
export async function* piecesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // A consumer that stops early (one chunk of a commit) lets go of the rest of the object.
    reader.cancel().catch(() => undefined);
  }
}

const countLines = (text: string) => {
  let n = 0;
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n += 1;
  return n;
};

/**
 * UTF-8 text from bytes, piece by piece, refusing what is not text: bytes that are not UTF-8 or a NUL
 * character (a binary or corrupted file) stop the import with the line they are on. A leading BOM is
 * dropped.
 */
export async function* decodeUtf8(pieces: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });
  let lines = 1;
  const check = (text: string) => {
    const nul = text.indexOf("\u0000");
    if (nul !== -1) {
      const line = lines + countLines(text.slice(0, nul));
      throw new SourceRefusal(
        `Line ${line} holds binary data (a NUL byte): the file is corrupted or not a text export.`,
        { line },
      );
    }
    lines += countLines(text);
    return text;
  };
  for await (const piece of pieces) {
    let text: string;
    try {
      text = decoder.decode(piece, { stream: true });
    } catch {
      const readable = new TextDecoder("utf-8").decode(piece);
      const bad = readable.indexOf("\uFFFD");
      const line = lines + countLines(readable.slice(0, bad === -1 ? readable.length : bad));
      throw new SourceRefusal(
        `Line ${line} holds bytes that are not UTF-8 text: the file is corrupted, or was saved in another encoding (save it as UTF-8).`,
        { line },
      );
    }
    if (text) yield check(text);
  }
  // The end: a fatal decoder holds back only an unfinished character, so this gives no text, or throws.
  try {
    decoder.decode();
  } catch {
    throw new SourceRefusal(
      `The file ends in the middle of a character (line ${lines}): it looks truncated.`,
      {
        line: lines,
      },
    );
  }
}
