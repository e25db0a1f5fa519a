/**
 * Template share codes: 10 characters of Crockford's base32, shown as two groups of five
 * ("7KQ2M-9XW4T"). 50 random bits: short enough to read out loud or type on a phone, and with a
 * million active codes a guesser still needs about a billion tries per hit — against a per-user
 * write limit, so enumerating them is not practical.
 *
 * Crockford's alphabet leaves out I, L, O and U, so input is forgiving: any letter case, spaces and
 * hyphens anywhere, I and L read as 1, O as 0.
 */
import { humanCode } from "../../lib/human-code";

export const SHARE_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const SHARE_CODE_LENGTH = 10;

const codes = humanCode({
  alphabet: SHARE_CODE_ALPHABET,
  length: SHARE_CODE_LENGTH,
  group: 5,
  aliases: { I: "1", L: "1", O: "0" },
});

/** A new random code, canonical (upper case, no hyphen). */
export const newShareCode = codes.next;
/** The canonical code a person typed, or null when it cannot be one. */
export const normalizeShareCode = codes.normalize;
/** The code as people see it: two groups of five. */
export const formatShareCode = codes.format;
