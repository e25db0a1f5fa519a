import { randomToken, sha256Hex } from "../ids";

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
