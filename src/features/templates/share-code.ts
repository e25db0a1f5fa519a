/**
 * Template share codes: 10 characters of Crockford's base32, shown as two groups of five
 * ("7KQ2M-9XW4T"). 50 random bits: short enough to read out loud or type on a phone, and with a
 * million active codes a guesser still needs about a billion tries per hit — against a per-user
 * write limit, so enumerating them is not practical.
 *
 * Crockford's alphabet leaves out I, L, O and U, so input is forgiving: any letter case, spaces and
 * hyphens anywhere, I and L read as 1, O as 0.
 */

export const SHARE_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
export const SHARE_CODE_LENGTH = 10;
const GROUP = 5;

const CANONICAL = new RegExp(`^[${SHARE_CODE_ALPHABET}]{${SHARE_CODE_LENGTH}}$`);

/** A new random code, canonical (upper case, no hyphen). */
export function newShareCode(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SHARE_CODE_LENGTH));
  // 256 is a multiple of 32: taking the low five bits of a random byte is unbiased.
  return Array.from(bytes, (b) => SHARE_CODE_ALPHABET[b & 31]).join("");
}

/** The canonical code a person typed, or null when it cannot be one. */
export function normalizeShareCode(input: string): string | null {
  const code = input.toUpperCase().replace(/[\s-]/g, "").replace(/[IL]/g, "1").replace(/O/g, "0");
  return CANONICAL.test(code) ? code : null;
}

/** The code as people see it: two groups of five. */
export function formatShareCode(code: string): string {
  return `${code.slice(0, GROUP)}-${code.slice(GROUP)}`;
}
