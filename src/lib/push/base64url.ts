/**
 * base64url without padding (RFC 4648 §5), the encoding Web Push uses for keys, auth secrets and JWTs.
 * Browsers hand out `p256dh` and `auth` unpadded, but some client libraries pad them, so decoding
 * tolerates trailing `=`.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

export function base64UrlEncode(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Throws an Error naming the problem when `text` is not base64url (standard `+` and `/` are refused). */
export function base64UrlDecode(text: string): Uint8Array {
  const unpadded = text.replace(/={1,2}$/, "");
  if (!ALPHABET.test(unpadded)) {
    throw new Error(
      "Not base64url: only A-Z, a-z, 0-9, '-' and '_' are allowed (with optional '=' padding).",
    );
  }
  // One leftover character carries only 6 bits: no byte string encodes to that length.
  if (unpadded.length % 4 === 1)
    throw new Error("Not base64url: the length is impossible for encoded bytes.");
  const padded = unpadded + "=".repeat((4 - (unpadded.length % 4)) % 4);
  if (text.length !== unpadded.length && text.length !== padded.length) {
    throw new Error("Not base64url: the '=' padding does not match the length.");
  }
  const binary = atob(padded.replace(/-/g, "+").replace(/_/g, "/"));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
