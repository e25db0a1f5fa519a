let lastMs = 0;
let sequence = 0;
const SEQUENCE_MAX = 0xfff;

/**
 * UUIDv7: 48 bits of Unix milliseconds, a 12-bit sequence, then random bits (RFC 9562, method 1).
 * Ids sort by creation time, also within one millisecond of one isolate, so keyset pagination and
 * event order can use the id alone.
 */
export function newId(now = Date.now()): string {
  if (now > lastMs) {
    lastMs = now;
    // Start low in the range so a burst within one millisecond has room to count up.
    sequence = Math.floor(Math.random() * (SEQUENCE_MAX / 2));
  } else {
    sequence += 1;
    if (sequence > SEQUENCE_MAX) {
      lastMs += 1;
      sequence = 0;
    }
  }
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  let ms = lastMs;
  for (let i = 5; i >= 0; i--) {
    bytes[i] = ms & 0xff;
    ms = Math.floor(ms / 256);
  }
  bytes[6] = 0x70 | (sequence >> 8);
  bytes[7] = sequence & 0xff;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** URL-safe random secret of `byteLength` random bytes. */
export function randomToken(byteLength = 32): string {
  const bytes = new Uint8Array(byteLength);
  crypto.getRandomValues(bytes);
  return base64UrlEncode(bytes);
}

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function base64UrlDecode(text: string): Uint8Array {
  const padded = text.replaceAll("-", "+").replaceAll("_", "/") + "=".repeat((4 - (text.length % 4)) % 4);
  const binary = atob(padded);
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
