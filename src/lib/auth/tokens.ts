import { base64UrlEncode, randomToken, sha256Hex } from "../ids";
import { hmacKey } from "./jwt";

/** Personal API tokens start with this, so secret scanners and people recognise them. */
export const API_TOKEN_PREFIX = "pap_";

export async function newApiToken(): Promise<{ token: string; hash: string; displayPrefix: string }> {
  const token = `${API_TOKEN_PREFIX}${randomToken(32)}`;
  return { token, hash: await sha256Hex(token), displayPrefix: token.slice(0, API_TOKEN_PREFIX.length + 6) };
}

export async function newRefreshToken(): Promise<{ token: string; hash: string }> {
  const token = randomToken(32);
  return { token, hash: await sha256Hex(token) };
}

/**
 * The refresh token that replaces `presented` at rotation: derived from it with the signing secret, so
 * a retried refresh can be answered with the same new token without the secret ever being stored
 * (only its hash is). Unguessable without the secret, like a random one.
 */
export async function successorRefreshToken(
  secret: string,
  presented: string,
): Promise<{ token: string; hash: string }> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    await hmacKey(secret),
    new TextEncoder().encode(`refresh-successor:${presented}`),
  );
  const token = base64UrlEncode(new Uint8Array(mac));
  return { token, hash: await sha256Hex(token) };
}
