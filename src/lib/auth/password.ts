import { base64UrlDecode, base64UrlEncode } from "../ids";

/**
 * Password hashing: PBKDF2-HMAC-SHA256 through WebCrypto, the strongest KDF Workers run natively.
 * Production Workers refuse more than 100,000 iterations in one deriveBits call, so v1 uses exactly
 * that, with a 16-byte random salt and a 32-byte key. Hashes carry their version and parameters
 * ("pbkdf2-sha256$v1$100000$salt$key"), so a stronger scheme can be introduced later and old hashes
 * upgraded on the next successful login (`needsRehash`).
 */
export const PASSWORD_SCHEME = "pbkdf2-sha256";
export const PASSWORD_VERSION = "v1";
export const PBKDF2_ITERATIONS = 100_000;
const SALT_BYTES = 16;
const KEY_BITS = 256;

async function derive(password: string, salt: Uint8Array, iterations: number): Promise<Uint8Array> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash: "SHA-256", salt, iterations },
    material,
    KEY_BITS,
  );
  return new Uint8Array(bits);
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const key = await derive(password, salt, PBKDF2_ITERATIONS);
  return [
    PASSWORD_SCHEME,
    PASSWORD_VERSION,
    PBKDF2_ITERATIONS,
    base64UrlEncode(salt),
    base64UrlEncode(key),
  ].join("$");
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, version, iterationsText, saltText, keyText] = stored.split("$");
  const iterations = Number(iterationsText);
  if (scheme !== PASSWORD_SCHEME || version !== PASSWORD_VERSION || !saltText || !keyText) return false;
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > PBKDF2_ITERATIONS) return false;
  const key = await derive(password, base64UrlDecode(saltText), iterations);
  return constantTimeEqual(key, base64UrlDecode(keyText));
}

/** A hash made with weaker parameters than today's should be replaced after a successful login. */
export function needsRehash(stored: string): boolean {
  const [scheme, version, iterations] = stored.split("$");
  return (
    scheme !== PASSWORD_SCHEME || version !== PASSWORD_VERSION || Number(iterations) !== PBKDF2_ITERATIONS
  );
}

/**
 * A hash of a random password, verified against when the email is unknown, so a login for a
 * missing account takes as long as one with a wrong password.
 */
let dummyHash: Promise<string> | undefined;
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(crypto.randomUUID());
  return dummyHash;
}
