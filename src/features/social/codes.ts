/**
 * Share codes: the public part of a share's link (/s/<code>). Ten characters from 31 that cannot be
 * mistaken for one another when read aloud or retyped (no 0/o, 1/l/i), lower case only: 49.5 bits,
 * drawn without bias from the platform's CSPRNG.
 */
import { errorText, isUniqueViolation } from "../../lib/db-errors";

export const CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz";
export const CODE_LENGTH = 10;
export const SHARE_CODE_PATTERN = new RegExp(`^[${CODE_ALPHABET}]{${CODE_LENGTH}}$`);
/** Bits of randomness in a code (≥ 40 by design). */
export const CODE_BITS = CODE_LENGTH * Math.log2(CODE_ALPHABET.length);

// The largest multiple of the alphabet's size below 256: bytes at or above it are drawn again.
const UNBIASED_BELOW = 256 - (256 % CODE_ALPHABET.length);

export function newShareCode(random: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)) {
  let code = "";
  while (code.length < CODE_LENGTH) {
    for (const byte of random(new Uint8Array(CODE_LENGTH * 2))) {
      if (byte >= UNBIASED_BELOW) continue;
      code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      if (code.length === CODE_LENGTH) break;
    }
  }
  return code;
}

/** A code as typed (any case, stray spaces) in its stored form; null when it cannot be one. */
export function normalisedCode(raw: string): string | null {
  const code = raw.trim().toLowerCase();
  return SHARE_CODE_PATTERN.test(code) ? code : null;
}

export const MAX_CODE_ATTEMPTS = 4;

/**
 * Runs `insert` with fresh codes until one is not taken (a UNIQUE violation on the code index means
 * another share holds it). At 49.5 bits a second try is already astronomically rare.
 */
export async function withFreshCode<T>(
  insert: (code: string) => Promise<T>,
  isCodeTaken: (error: unknown) => boolean = codeTaken,
  nextCode: () => string = newShareCode,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await insert(nextCode());
    } catch (error) {
      if (attempt >= MAX_CODE_ATTEMPTS || !isCodeTaken(error)) throw error;
    }
  }
}

/** The error D1 gives when a new share's code is already some other share's. */
export function codeTaken(error: unknown): boolean {
  return isUniqueViolation(error) && errorText(error).includes("social_shares.code");
}
