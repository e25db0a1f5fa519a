/**
 * What an import keeps in R2, all under `imports/<user_id>/<import_id>/` (account deletion and the
 * import's own clean-up erase that prefix): the upload as sent, and the file's items as the source
 * read them, normalised, in NDJSON parts (at most `part_items` items, a few MB). The preview reads the file once and
 * writes the parts; each delivery of the commit reads the one part its cursor falls in — never the
 * file again from its start, so the work of a commit grows with the file, not with its square.
 */
import { PART_CHARS } from "./limits";
import type { SourceItem } from "./sources/types";

/** An item as a part stores it: everything the commit writes (where it was in the file is the preview's). */
export type StoredItem = Omit<SourceItem, "place">;

/** The prefix of everything one import keeps. */
export const importPrefixOf = (userId: string, importId: string) => `imports/${userId}/${importId}/`;

/** The k-th part of the file's items (where each starts: the row's `part_starts`). */
export const partKeyOf = (userId: string, importId: string, part: number) =>
  `${importPrefixOf(userId, importId)}items/${String(part).padStart(5, "0")}.ndjson`;

/** Thrown when a part is missing or is not what a preview wrote: no retry mends it. */
export class PartMissing extends Error {}

/**
 * Writes the items, in file order, as parts of at most `partItems` items and about `partChars`
 * characters of JSON, each put as soon as it is full: a part of long items is cut early, so the lines
 * held (and the one string they are joined into) stay a few megabytes whatever the file holds.
 */
export class PartWriter {
  private lines: string[] = [];
  private chars = 0;
  private items = 0;
  /** The ordinal of each part's first item. */
  readonly starts: number[] = [];

  constructor(
    private readonly files: R2Bucket,
    private readonly userId: string,
    private readonly importId: string,
    readonly partItems: number,
    private readonly partChars = PART_CHARS,
  ) {}

  async add(item: SourceItem): Promise<void> {
    const { place: _place, ...stored } = item;
    const line = JSON.stringify(stored satisfies StoredItem);
    if (this.lines.length === 0) this.starts.push(this.items);
    this.lines.push(line);
    this.chars += line.length + 1;
    this.items += 1;
    if (this.lines.length >= this.partItems || this.chars >= this.partChars) await this.flush();
  }

  /** Puts what is left; answers the number of parts written. */
  async close(): Promise<number> {
    if (this.lines.length > 0) await this.flush();
    return this.starts.length;
  }

  private async flush() {
    const text = `${this.lines.join("\n")}\n`;
    this.lines = [];
    this.chars = 0;
    await this.files.put(partKeyOf(this.userId, this.importId, this.starts.length - 1), text, {
      customMetadata: { user_id: this.userId, import_id: this.importId },
    });
  }
}

/** Lines of text as it streams in (the last one without its line break too). */
async function* linesOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8");
  const reader = stream.getReader();
  let rest = "";
  try {
    while (true) {
      const { done, value } = await reader.read();
      if (done) break;
      // Only the new text is searched for line breaks: a long line costs its length, not its square.
      let from = rest.length;
      rest += decoder.decode(value, { stream: true });
      let start = 0;
      for (let at = rest.indexOf("\n", from); at !== -1; at = rest.indexOf("\n", from)) {
        yield rest.slice(start, at);
        start = at + 1;
        from = start;
      }
      rest = rest.slice(start);
    }
    rest += decoder.decode();
    if (rest) yield rest;
  } finally {
    // A reader that stops early (the delivery has done its share) lets go of the rest of the part.
    reader.cancel().catch(() => undefined);
  }
}

/** An item with its place in the file (0-based), which its task's id is derived from. */
export interface NumberedItem {
  item: StoredItem;
  ordinal: number;
}

/** Where the parts are: each one's first ordinal (the last part ends at `total`). */
export function partStartsOf(partItems: number, starts: readonly number[] | null, total: number): number[] {
  if (starts) return [...starts];
  return Array.from({ length: Math.ceil(total / partItems) }, (_, i) => i * partItems);
}

/** The file's items from the `from`-th on, read from the parts, in file order. */
export async function* storedItemsFrom(
  files: R2Bucket,
  where: { userId: string; importId: string; starts: readonly number[]; total: number },
  from: number,
): AsyncGenerator<NumberedItem> {
  const { starts } = where;
  let first = 0;
  while (first + 1 < starts.length && (starts[first + 1] ?? Number.POSITIVE_INFINITY) <= from) first += 1;
  for (let part = first; part < starts.length; part++) {
    const start = starts[part] ?? where.total;
    const end = starts[part + 1] ?? where.total;
    const object = await files.get(partKeyOf(where.userId, where.importId, part));
    if (!object) throw new PartMissing(`part ${part} is missing`);
    let ordinal = start;
    for await (const line of linesOf(object.body)) {
      if (ordinal >= from) {
        let item: StoredItem;
        try {
          item = JSON.parse(line) as StoredItem;
        } catch {
          throw new PartMissing(`part ${part} is damaged at item ${ordinal}`);
        }
        yield { item, ordinal };
      }
      ordinal += 1;
    }
    if (ordinal !== end) throw new PartMissing(`part ${part} holds ${ordinal - start} items`);
  }
}

/** Deletes everything the import keeps in R2 (the upload and its parts), a page of keys at a time. */
export async function deleteImportFiles(files: R2Bucket, userId: string, importId: string): Promise<void> {
  const prefix = importPrefixOf(userId, importId);
  let cursor: string | undefined;
  do {
    const page = await files.list({ prefix, ...(cursor ? { cursor } : {}) });
    const keys = page.objects.map((o) => o.key);
    if (keys.length > 0) await files.delete(keys);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
}
