import { base64UrlDecode, base64UrlEncode } from "../ids";

/** The only algorithm accepted: a token whose header names another (or "none") is rejected. */
export const JWT_ALGORITHM = "HS256";

export interface AccessClaims {
  sub: string;
  iss: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  /** The refresh-token family (login) this access token was issued under. */
  sid: string;
}

export interface JwtConfig {
  secret: string;
  issuer: string;
  audience: string;
}

export type JwtFailure = "malformed" | "algorithm" | "signature" | "expired" | "issuer" | "audience";

const encoder = new TextEncoder();
const keyCache = new Map<string, Promise<CryptoKey>>();

// Importing an HMAC key costs more than verifying with it; the secret changes only on redeploy.
export function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keyCache.set(secret, key);
  }
  return key;
}

function encodeJson(value: unknown): string {
  return base64UrlEncode(encoder.encode(JSON.stringify(value)));
}

export async function signJwt(claims: AccessClaims, secret: string): Promise<string> {
  const head = `${encodeJson({ alg: JWT_ALGORITHM, typ: "JWT" })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("HMAC", await hmacKey(secret), encoder.encode(head));
  return `${head}.${base64UrlEncode(new Uint8Array(signature))}`;
}

const decoder = new TextDecoder();

function decodeJson(part: string): unknown {
  return JSON.parse(decoder.decode(base64UrlDecode(part)));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Verifies signature, algorithm, expiry, issuer and audience; returns the claims or why it failed. */
export async function verifyJwt(
  token: string,
  config: JwtConfig,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<{ ok: true; claims: AccessClaims } | { ok: false; reason: JwtFailure }> {
  const parts = token.split(".");
  if (parts.length !== 3) return { ok: false, reason: "malformed" };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  let signature: Uint8Array;
  try {
    header = decodeJson(headerPart);
    payload = decodeJson(payloadPart);
    signature = base64UrlDecode(signaturePart);
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (!isRecord(header) || header.alg !== JWT_ALGORITHM) return { ok: false, reason: "algorithm" };
  const valid = await crypto.subtle.verify(
    "HMAC",
    await hmacKey(config.secret),
    signature,
    encoder.encode(`${headerPart}.${payloadPart}`),
  );
  if (!valid) return { ok: false, reason: "signature" };
  if (
    !isRecord(payload) ||
    typeof payload.sub !== "string" ||
    typeof payload.exp !== "number" ||
    typeof payload.sid !== "string"
  ) {
    return { ok: false, reason: "malformed" };
  }
  if (payload.exp <= nowSeconds) return { ok: false, reason: "expired" };
  if (payload.iss !== config.issuer) return { ok: false, reason: "issuer" };
  if (payload.aud !== config.audience) return { ok: false, reason: "audience" };
  return { ok: true, claims: payload as unknown as AccessClaims };
}
