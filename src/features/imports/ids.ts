/**
 * Ids an import gives what it writes, derived from the import and the item — never random — so a chunk
 * written twice (a retry after a crash) inserts nothing new: the same item always gets the same id.
 *
 * - A task's id is a UUIDv7 at the import's own millisecond, its 32 counter bits counting down in file
 *   order: tasks list newest first, so the file's first item comes first, as it did in the app.
 * - A reference (what a sub-task or a dependency names before the final pass resolves it) is a UUIDv8
 *   hashed from the item's key: it can be computed before its item is read (a parent later in the
 *   file), and real task ids (always v7) are never mistaken for one.
 */

/** cyrb53: a fast, well-mixed 53-bit string hash (not for secrets: ids only need to spread). */
function hash53(text: string, seed: number): bigint {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return BigInt(4294967296 * (2097151 & h2) + (h1 >>> 0));
}

const mask = (bits: number) => (1n << BigInt(bits)) - 1n;

function uuidOf(value: bigint): string {
  const hex = value.toString(16).padStart(32, "0");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The millisecond a UUIDv7 (an import's id) was made at. */
export function millisecondOf(uuidV7: string): bigint {
  return BigInt(`0x${uuidV7.replaceAll("-", "").slice(0, 12)}`) & mask(48);
}

const COUNTER_TOP = 0xffff_ffff;

/** The id of the task made from the `ordinal`-th item (0-based) of the import's file. */
export function taskIdOf(importId: string, ordinal: number, key: string): string {
  const counter = BigInt(COUNTER_TOP - ordinal) & mask(32);
  const spread = hash53(`${importId}\u0000${key}`, 1) & mask(42);
  const value =
    (millisecondOf(importId) << 80n) |
    (7n << 76n) |
    ((counter >> 20n) << 64n) |
    (2n << 62n) |
    ((counter & mask(20)) << 42n) |
    spread;
  return uuidOf(value);
}

/** The id of the `index`-th step of the item `key`. */
export function stepIdOf(importId: string, key: string, index: number): string {
  const text = `${importId}\u0000${key}\u0000${index}`;
  const value =
    (millisecondOf(importId) << 80n) |
    (7n << 76n) |
    ((hash53(text, 2) & mask(12)) << 64n) |
    (2n << 62n) |
    (((hash53(text, 3) << 9n) ^ hash53(text, 4)) & mask(62));
  return uuidOf(value);
}

/** What items of the import name the item `key` by, until the final pass puts its task there. */
export function refOf(importId: string, key: string): string {
  const text = `${importId}\u0000${key}`;
  const high = hash53(text, 5) & mask(48);
  const low = ((hash53(text, 6) << 9n) ^ hash53(text, 7)) & mask(62);
  const value = (high << 80n) | (8n << 76n) | ((hash53(text, 8) & mask(12)) << 64n) | (2n << 62n) | low;
  return uuidOf(value);
}

/** Position of the version digit in a UUID's text: "xxxxxxxx-xxxx-Vxxx-…" (1-based, for SQL substr). */
export const VERSION_POSITION = 15;
export const REF_VERSION = "8";
