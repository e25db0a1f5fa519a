/**
 * The name a user shows on the leaderboards, which everyone reads: one rule for what it may hold. Pure.
 *
 * NFKC first, so look-alikes (full-width letters, ligatures, full-width brackets) are judged as the
 * plain characters they stand for. Invisible characters are stripped, since removing them never
 * changes what a reader sees: bidirectional controls (which can make a name read backwards) and
 * zero-width characters (which make two names look the same), and C0/C1 controls. Markup is refused
 * instead: stripping `<` or `>` would silently change what the user typed.
 */

/** Characters, counted after normalising, that a name may hold. */
export const MAX_BOARD_NAME_LENGTH = 32;
/** What a request may send before normalising: room for stripped characters, not for megabytes. */
export const MAX_BOARD_NAME_INPUT = 256;

const INVISIBLE = /[\p{Cc}\u061C\u200B-\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/gu;
const MARKUP = /[<>]/;

export type BoardNameResult = { ok: true; name: string } | { ok: false; message: string };

export function boardName(raw: string): BoardNameResult {
  const name = raw.normalize("NFKC").replace(INVISIBLE, "").trim();
  if (MARKUP.test(name)) return { ok: false, message: "Must not contain < or > (no markup in names)" };
  if (name.length === 0)
    return { ok: false, message: "Has nothing visible left once invisible characters are removed" };
  if ([...name].length > MAX_BOARD_NAME_LENGTH) {
    return { ok: false, message: `Must be at most ${MAX_BOARD_NAME_LENGTH} characters` };
  }
  return { ok: true, name };
}
