/**
 * Cuts a stream of text into R2 multipart parts of exactly `partSize` bytes (R2 wants every part but
 * the last the same size, at least 5 MiB), holding one part in memory at a time. A part ends where
 * the size says, mid-row if it must: what follows the cut in the current write is the `carry`, the
 * bytes a resumed job starts its next part with.
 */

/** R2's smallest part (all but the last); parts are this size exactly. */
export const PART_BYTES = 5 * 1024 * 1024;

const encoder = new TextEncoder();

/** Called with each full part and the bytes of the current write that follow it. */
export type OnPart = (part: Uint8Array, carry: Uint8Array) => Promise<void>;

export class PartWriter {
  private readonly buffer: Uint8Array;
  private fill = 0;

  /**
   * `bytes`: what was produced before (the carry included). Start with `resume(carry)` when resuming.
   */
  constructor(
    private readonly partSize: number,
    private readonly onPart: OnPart,
    public bytes = 0,
  ) {
    this.buffer = new Uint8Array(partSize);
  }

  /** Puts back the bytes a saved job had produced after its last part (already counted in `bytes`). */
  resume(carry: Uint8Array): Promise<void> {
    return this.append(carry);
  }

  /**
   * Appends text; each time a part fills, hands it over. The text is encoded straight into the part
   * (no copy per row), and only a write that fills a part answers a promise — wait for it before the
   * next write (`const stored = out.write(t); if (stored) await stored;`): a row that fits costs no
   * promise, which at 600,000 rows is most of the garbage a job would make.
   */
  write(text: string): Promise<void> | undefined {
    const { read, written } = encoder.encodeInto(text, this.buffer.subarray(this.fill));
    this.fill += written;
    this.bytes += written;
    if (read === text.length) {
      return this.fill === this.partSize ? this.full(new Uint8Array(0)) : undefined;
    }
    // encodeInto stops before a character that does not fit whole (read never splits a surrogate
    // pair): the rest goes through the byte path, which cuts the part exactly at its size.
    const rest = encoder.encode(text.slice(read));
    this.bytes += rest.length;
    return this.append(rest);
  }

  private async append(bytes: Uint8Array): Promise<void> {
    let offset = 0;
    while (offset < bytes.length) {
      const n = Math.min(bytes.length - offset, this.partSize - this.fill);
      this.buffer.set(bytes.subarray(offset, offset + n), this.fill);
      this.fill += n;
      offset += n;
      // The rest may itself hold more than a part (a huge row): the next turns of the loop cut it,
      // and a carry saved now is cut the same way when a resumed job starts from it.
      if (this.fill === this.partSize) await this.full(bytes.subarray(offset));
    }
  }

  private async full(carry: Uint8Array): Promise<void> {
    await this.onPart(this.buffer, carry);
    this.fill = 0;
  }

  /** The bytes not yet handed over (the last part's, once everything is written). */
  pending(): Uint8Array {
    return this.buffer.subarray(0, this.fill);
  }
}

export function encodeCarry(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function decodeCarry(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
