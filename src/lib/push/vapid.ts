/**
 * VAPID (RFC 8292): the application server proves who it is to the push service with a short-lived
 * ES256 JWT and its public key, in `Authorization: vapid t=<jwt>, k=<public key>`.
 */
import { base64UrlDecode, base64UrlEncode } from "./base64url";

export interface VapidKeys {
  /** base64url of the 65-byte uncompressed P-256 point: the `k` parameter and the browser's applicationServerKey. */
  publicKey: string;
  /** The ECDSA P-256 signing key. */
  privateKey: CryptoKey;
}

/** RFC 8292 §2: push services may refuse a JWT that expires more than 24 hours ahead. */
export const MAX_VAPID_TTL_SECONDS = 24 * 3600;

const ES256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const json = new TextEncoder();

function decodeKey(value: string, name: string, bytes: number): Uint8Array {
  let decoded: Uint8Array;
  try {
    decoded = base64UrlDecode(value);
  } catch (error) {
    throw new Error(`${name} is not base64url: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (decoded.length !== bytes) throw new Error(`${name} must be ${bytes} bytes (got ${decoded.length}).`);
  return decoded;
}

/**
 * Imports the key pair `web-push generate-vapid-keys` prints (and `scripts/vapid-keys.mjs`): the public
 * key as base64url of the uncompressed point, the private key as base64url of the 32-byte scalar `d`.
 * Throws a plain sentence when either is malformed or they are not one pair.
 */
export async function importVapidKeys(publicKey: string, privateKey: string): Promise<VapidKeys> {
  const point = decodeKey(publicKey, "The VAPID public key", 65);
  if (point[0] !== 0x04)
    throw new Error("The VAPID public key must be an uncompressed P-256 point (0x04 …).");
  const d = decodeKey(privateKey, "The VAPID private key", 32);
  const x = base64UrlEncode(point.slice(1, 33));
  const y = base64UrlEncode(point.slice(33, 65));
  const notAPair = "The VAPID private key is not the private half of the VAPID public key.";
  let verifying: CryptoKey;
  try {
    verifying = await crypto.subtle.importKey("raw", point, ES256, false, ["verify"]);
  } catch {
    throw new Error("The VAPID public key is not a point on the P-256 curve.");
  }
  let signing: CryptoKey;
  try {
    // workerd refuses a JWK whose d does not match (x, y); the signature below checks on any runtime.
    signing = await crypto.subtle.importKey(
      "jwk",
      { kty: "EC", crv: "P-256", x, y, d: base64UrlEncode(d) },
      ES256,
      false,
      ["sign"],
    );
  } catch {
    throw new Error(notAPair);
  }
  const probe = json.encode("vapid key pair check");
  const signature = await crypto.subtle.sign(SIGN, signing, probe);
  if (!(await crypto.subtle.verify(SIGN, verifying, signature, probe))) throw new Error(notAPair);
  return { publicKey: base64UrlEncode(point), privateKey: signing };
}

/** A fresh key pair in the format importVapidKeys reads. */
export async function generateVapidKeys(): Promise<{ publicKey: string; privateKey: string }> {
  const pair = (await crypto.subtle.generateKey(ES256, true, ["sign", "verify"])) as CryptoKeyPair;
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const point = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
  if (!jwk.d) throw new Error("The runtime exported a private key without its scalar.");
  return { publicKey: base64UrlEncode(point), privateKey: jwk.d };
}

/** RFC 8292 §2.1: a contact for the push service's operator, as a mailto: or https: URI. */
function checkSubject(subject: string): void {
  let url: URL | undefined;
  try {
    url = new URL(subject);
  } catch {
    url = undefined;
  }
  const mailto = url?.protocol === "mailto:" && url.pathname.includes("@");
  const https = url?.protocol === "https:" && url.hostname !== "";
  if (!mailto && !https) {
    throw new Error(`The VAPID subject must be a mailto: or https: URI (got "${subject}").`);
  }
}

const encodeJson = (value: unknown) => base64UrlEncode(json.encode(JSON.stringify(value)));

/**
 * The Authorization header value for a push to `endpoint`: a JWT for the endpoint's origin, valid
 * `ttlSeconds` from `nowSeconds` (at most 24 hours), signed with the VAPID key.
 */
export async function vapidAuthorization(
  endpoint: string,
  keys: VapidKeys,
  subject: string,
  nowSeconds: number,
  ttlSeconds = 12 * 3600,
): Promise<string> {
  checkSubject(subject);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > MAX_VAPID_TTL_SECONDS) {
    throw new RangeError(`The VAPID token lifetime must be 1 to ${MAX_VAPID_TTL_SECONDS} seconds.`);
  }
  const claims = { aud: new URL(endpoint).origin, exp: Math.floor(nowSeconds) + ttlSeconds, sub: subject };
  const signingInput = `${encodeJson({ typ: "JWT", alg: "ES256" })}.${encodeJson(claims)}`;
  // WebCrypto's ECDSA signature is already JWS's raw r||s (64 bytes), not DER.
  const signature = await crypto.subtle.sign(SIGN, keys.privateKey, json.encode(signingInput));
  return `vapid t=${signingInput}.${base64UrlEncode(new Uint8Array(signature))}, k=${keys.publicKey}`;
}
