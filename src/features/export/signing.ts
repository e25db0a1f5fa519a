/**
 * Signed download links: a browser follows them without a bearer token, so the link itself is the
 * credential — HMAC-SHA256 over the export id and the expiry, with a key derived from JWT_SECRET by
 * HKDF under a label of its own (no new secret to manage, and no way to turn a link into a token).
 * Verification goes through WebCrypto's `verify`, which compares in constant time.
 */
import { base64UrlDecode, base64UrlEncode } from "../../lib/ids";

const LABEL = "proxy-agent-platform/export-download/v1";
const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function downloadKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle
      .importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveKey"])
      .then((material) =>
        crypto.subtle.deriveKey(
          { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode(LABEL) },
          material,
          { name: "HMAC", hash: "SHA-256", length: 256 },
          false,
          ["sign", "verify"],
        ),
      );
    keys.set(secret, key);
  }
  return key;
}

const signedText = (exportId: string, expires: number) => encoder.encode(`${exportId}.${expires}`);

/** The signature of a link to `exportId` valid until `expires` (Unix seconds). */
export async function signDownload(secret: string, exportId: string, expires: number): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await downloadKey(secret), signedText(exportId, expires));
  return base64UrlEncode(new Uint8Array(mac));
}

/** Whether `signature` is this server's for `exportId` and `expires` (not whether the link is still valid). */
export async function verifyDownload(
  secret: string,
  exportId: string,
  expires: number,
  signature: string,
): Promise<boolean> {
  let mac: Uint8Array;
  try {
    mac = base64UrlDecode(signature);
  } catch {
    return false;
  }
  if (mac.length !== 32) return false;
  return crypto.subtle.verify("HMAC", await downloadKey(secret), mac, signedText(exportId, expires));
}

/** The link itself, valid until `expiresAt`. */
export async function downloadUrl(
  origin: string,
  secret: string,
  exportId: string,
  expiresAt: string,
): Promise<string> {
  const expires = Math.floor(Date.parse(expiresAt) / 1000);
  const signature = await signDownload(secret, exportId, expires);
  return `${origin}/api/v1/export/${encodeURIComponent(exportId)}/download?expires=${expires}&signature=${signature}`;
}
