/**
 * What an import keeps in R2, all under `imports/<user_id>/<import_id>/` (account deletion and the
 * import's own clean-up erase that prefix): the upload as sent, and the file's items as the source
 * read them, normalised, in NDJSON parts of `part_items` items. The preview reads the file once and
 * writes the parts; each delivery of the commit reads the one part its cursor falls in — never the
 * file again from its start, so the work of a commit grows with the file, not with its square.
 */
import type { SourceItem } from "./sources/types";

/** An item as a part stores it: everything the commit writes (where it was in the file is the preview's). */
export type StoredItem = Omit<SourceItem, "place">;

/** The prefix of everything one import keeps. */
export const importPrefixOf = (userId: string, importId: string) => `imports/${userId}/${importId}/`;

/** The part holding items [k·part_items, (k+1)·part_items) of the file. */
export const partKeyOf = (userId: string, importId: string, part: number) =>
  `${importPrefixOf(userId, importId)}items/${String(part).padStart(5, "0")}.ndjson`;

/** Thrown when a part is missing or is not what a preview wrote: no retry mends it. */
export class PartMissing extends Error {}

/** Writes the items, in file order, as parts of `partItems` items, each put as soon as it is full. */
export class PartWriter {
  private lines: string[] = [];
  private part = 0;

  constructor(
    private readonly files: R2Bucket,
    private readonly userId: string,
    private readonly importId: string,
    readonly partItems: number,
  ) {}

  async add(item: SourceItem): Promise<void> {
    const { place: _place, ...stored } = item;
    this.lines.push(JSON.stringify(stored satisfies StoredItem));
    if (this.lines.length >= this.partItems) await this.flush();
  }

  /** Puts what is left; answers the number of parts written. */
  async close(): Promise<number> {
    if (this.lines.length > 0) await this.flush();
    return this.part;
  }

  private async flush() {
    const text = `${this.lines.join("\n")}\n`;
    this.lines = [];
    await this.files.put(partKeyOf(this.userId, this.importId, this.part), text, {
      customMetadata: { user_id: this.userId, import_id: this.importId },
    });
    this.part += 1;
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
      rest += decoder.decode(value, { stream: true });
      let at = rest.indexOf("\n");
      while (at !== -1) {
        yield rest.slice(0, at);
        rest = rest.slice(at + 1);
        at = rest.indexOf("\n");
      }
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

/** The file's items from the `from`-th on, read from the parts, in file order. */
export async function* storedItemsFrom(
  files: R2Bucket,
  where: { userId: string; importId: string; partItems: number; total: number },
  from: number,
): AsyncGenerator<NumberedItem> {
  for (let part = Math.floor(from / where.partItems); part * where.partItems < where.total; part++) {
    const object = await files.get(partKeyOf(where.userId, where.importId, part));
    if (!object) throw new PartMissing(`part ${part} is missing`);
    let ordinal = part * where.partItems;
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
    if (ordinal !== Math.min((part + 1) * where.partItems, where.total))
      throw new PartMissing(`part ${part} holds ${ordinal - part * where.partItems} items`);
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
