/**
 * Reads a PNG as a viewer would: the signature, the IHDR (size, bit depth, colour type) and the image
 * data, inflated with the platform's DecompressionStream, so a test can check the pixels are all there.
 */

export interface DecodedPng {
  width: number;
  height: number;
  bitDepth: number;
  /** 2 = RGB, 6 = RGBA … */
  colourType: number;
  /** The inflated IDAT stream: one filter byte, then the row's pixels, per row. */
  raw: Uint8Array;
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function decodePng(bytes: Uint8Array): Promise<DecodedPng> {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error("Not a PNG: bad signature");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let header: Omit<DecodedPng, "raw"> | undefined;
  const idat: Uint8Array[] = [];
  let ended = false;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      header = {
        width: view.getUint32(offset + 8),
        height: view.getUint32(offset + 12),
        bitDepth: data[8] ?? 0,
        colourType: data[9] ?? 0,
      };
    } else if (type === "IDAT") idat.push(data);
    else if (type === "IEND") {
      ended = true;
      break;
    }
    offset += 12 + length;
  }
  if (!header || idat.length === 0 || !ended) throw new Error("Not a PNG: missing IHDR, IDAT or IEND");
  const joined = new Uint8Array(idat.reduce((n, d) => n + d.length, 0));
  let at = 0;
  for (const d of idat) {
    joined.set(d, at);
    at += d.length;
  }
  return { ...header, raw: await inflate(joined) };
}

/** The size the inflated image data must have for a non-interlaced PNG of this header. */
export function expectedRawSize(png: Omit<DecodedPng, "raw">): number {
  const bitsPerPixel = (CHANNELS[png.colourType] ?? 0) * png.bitDepth;
  return png.height * (1 + Math.ceil((png.width * bitsPerPixel) / 8));
}
