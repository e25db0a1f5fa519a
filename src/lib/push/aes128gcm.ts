/**
 * Web Push message encryption (RFC 8291) in the aes128gcm content coding (RFC 8188), with WebCrypto only.
 * A push message is one record: the header (salt, record size, the sender's ephemeral public key) and
 * the plaintext with its 0x02 "last record" delimiter, sealed with AES-128-GCM.
 */
import { base64UrlDecode } from "./base64url";

export interface SubscriptionKeys {
  /** base64url of the user agent's 65-byte uncompressed P-256 public key. */
  p256dh: string;
  /** base64url of the subscription's 16-byte authentication secret. */
  auth: string;
}

export interface EncryptOptions {
  /** 16 random bytes unless given (fixed only to reproduce a test vector). */
  salt?: Uint8Array;
  /** The application server's ephemeral ECDH P-256 pair; a fresh one per message unless given. */
  senderKeys?: CryptoKeyPair;
  /** RFC 8188 "rs"; defaults to 4096, the size every push service must accept. */
  recordSize?: number;
}

const SALT_BYTES = 16;
const TAG_BYTES = 16;
const POINT_BYTES = 65;
const AUTH_BYTES = 16;
/** salt(16) | rs(4) | idlen(1) | keyid(65) */
const HEADER_BYTES = SALT_BYTES + 4 + 1 + POINT_BYTES;
const DEFAULT_RECORD_SIZE = 4096;
/** Push services must accept bodies of at least 4096 bytes (RFC 8030 §7.2); larger ones may be refused. */
export const MAX_BODY_BYTES = 4096;
/** The largest plaintext whose one record, with header, delimiter and tag, fits MAX_BODY_BYTES (3993). */
export const MAX_PLAINTEXT_BYTES = MAX_BODY_BYTES - HEADER_BYTES - 1 - TAG_BYTES;

const P256_ECDH = { name: "ECDH", namedCurve: "P-256" } as const;
const text = new TextEncoder();

/** workers-types spells the ECDH peer key `$public` (a reserved word in its IDL); the runtime reads `public`. */
export const ecdhWith = (peer: CryptoKey) =>
  ({ name: "ECDH", public: peer }) as SubtleCryptoDeriveKeyAlgorithm;

const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
};

async function hkdf(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, bytes: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey("raw", ikm, "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits({ name: "HKDF", hash: "SHA-256", salt, info }, key, bytes * 8);
  return new Uint8Array(bits);
}

type KeyCheck = { ok: true } | { ok: false; field: "keys.p256dh" | "keys.auth"; detail: string };

function decodeField(value: string, field: string): Uint8Array | string {
  try {
    return base64UrlDecode(value);
  } catch (error) {
    return `${field} is not base64url: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Imports a subscription's p256dh, refusing anything but an uncompressed P-256 point on the curve. */
async function importUserAgentKey(p256dh: Uint8Array): Promise<CryptoKey | string> {
  if (p256dh.length !== POINT_BYTES || p256dh[0] !== 0x04) {
    return `keys.p256dh must be a 65-byte uncompressed P-256 point (got ${p256dh.length} bytes).`;
  }
  try {
    return await crypto.subtle.importKey("raw", p256dh, P256_ECDH, true, []);
  } catch {
    return "keys.p256dh is not a point on the P-256 curve.";
  }
}

/** Checks a subscription's keys as a push sender will use them, so a bad subscription is refused up front. */
export async function validateSubscriptionKeys(keys: SubscriptionKeys): Promise<KeyCheck> {
  const p256dh = decodeField(keys.p256dh, "keys.p256dh");
  if (typeof p256dh === "string") return { ok: false, field: "keys.p256dh", detail: p256dh };
  const imported = await importUserAgentKey(p256dh);
  if (typeof imported === "string") return { ok: false, field: "keys.p256dh", detail: imported };
  const auth = decodeField(keys.auth, "keys.auth");
  if (typeof auth === "string") return { ok: false, field: "keys.auth", detail: auth };
  if (auth.length !== AUTH_BYTES) {
    return { ok: false, field: "keys.auth", detail: `keys.auth must be 16 bytes (got ${auth.length}).` };
  }
  return { ok: true };
}

/**
 * The aes128gcm body of a push message for the subscription `keys`. Throws when the keys are invalid
 * or the plaintext does not fit one record within MAX_BODY_BYTES.
 */
export async function encryptPayload(
  keys: SubscriptionKeys,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Promise<Uint8Array> {
  const check = await validateSubscriptionKeys(keys);
  if (!check.ok) throw new Error(check.detail);
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new RangeError(
      `A push payload holds at most ${MAX_PLAINTEXT_BYTES} bytes (got ${plaintext.length}).`,
    );
  }
  const recordSize = options.recordSize ?? DEFAULT_RECORD_SIZE;
  const sealedBytes = plaintext.length + 1 + TAG_BYTES;
  if (!Number.isInteger(recordSize) || recordSize < sealedBytes || recordSize > 0xffffffff) {
    throw new RangeError(`The record size must be an integer of at least ${sealedBytes} for this payload.`);
  }
  const salt = options.salt ?? crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  if (salt.length !== SALT_BYTES) throw new RangeError("The salt must be 16 bytes.");

  const uaPublicBytes = base64UrlDecode(keys.p256dh);
  const authSecret = base64UrlDecode(keys.auth);
  const uaPublic = await crypto.subtle.importKey("raw", uaPublicBytes, P256_ECDH, true, []);
  const sender =
    options.senderKeys ??
    ((await crypto.subtle.generateKey(P256_ECDH, false, ["deriveBits"])) as CryptoKeyPair);
  const asPublicBytes = new Uint8Array(
    (await crypto.subtle.exportKey("raw", sender.publicKey)) as ArrayBuffer,
  );
  const ecdhSecret = new Uint8Array(
    await crypto.subtle.deriveBits(ecdhWith(uaPublic), sender.privateKey, 256),
  );

  // RFC 8291 §3.3–3.4: the auth secret and both public keys bind the shared secret to this subscription.
  const keyInfo = concat(text.encode("WebPush: info\0"), uaPublicBytes, asPublicBytes);
  const ikm = await hkdf(authSecret, ecdhSecret, keyInfo, 32);
  // RFC 8188 §2.2–2.3: the content key and nonce, from the per-message salt.
  const cek = await hkdf(salt, ikm, text.encode("Content-Encoding: aes128gcm\0"), 16);
  const nonce = await hkdf(salt, ikm, text.encode("Content-Encoding: nonce\0"), 12);

  const aesKey = await crypto.subtle.importKey("raw", cek, "AES-GCM", false, ["encrypt"]);
  // One record, so its sequence number is 0 and the nonce is used as derived.
  const record = concat(plaintext, Uint8Array.of(0x02));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt({ name: "AES-GCM", iv: nonce, tagLength: 128 }, aesKey, record),
  );

  const header = new Uint8Array(HEADER_BYTES);
  header.set(salt, 0);
  new DataView(header.buffer).setUint32(SALT_BYTES, recordSize);
  header[SALT_BYTES + 4] = POINT_BYTES;
  header.set(asPublicBytes, SALT_BYTES + 5);
  return concat(header, sealed);
}
