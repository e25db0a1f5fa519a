/**
 * Standard Webhooks signing (standardwebhooks.com): a secret is `whsec_` + base64 of random bytes; a
 * delivery carries `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, a space-separated
 * list of `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">` — one per secret in force, so a
 * receiver keeps verifying while a secret is being rotated.
 */

export const WEBHOOK_SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;
/** Standard Webhooks keys are 24 to 64 bytes. */
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;

const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return null;
  }
}

/** A fresh secret, shown to the endpoint's owner once. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))}`;
}

/** The HMAC key a secret stands for, or null when it is not one. */
export function webhookKeyOf(secret: string): Uint8Array | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const key = fromBase64(secret.slice(WEBHOOK_SECRET_PREFIX.length));
  return key && key.length >= MIN_KEY_BYTES && key.length <= MAX_KEY_BYTES ? key : null;
}

async function hmac(key: Uint8Array, content: string): Promise<string> {
  const cryptoKey = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  return toBase64(new Uint8Array(await crypto.subtle.sign("HMAC", cryptoKey, encoder.encode(content))));
}

/** The headers of one delivery attempt, signed with every secret in force (the newest first). */
export async function signedHeaders(
  secrets: readonly string[],
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<"webhook-id" | "webhook-timestamp" | "webhook-signature", string>> {
  const content = `${id}.${timestampSeconds}.${body}`;
  const signatures: string[] = [];
  for (const secret of secrets) {
    const key = webhookKeyOf(secret);
    if (!key) throw new Error("not a webhook secret");
    signatures.push(`v1,${await hmac(key, content)}`);
  }
  if (signatures.length === 0) throw new Error("a delivery needs at least one secret");
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": signatures.join(" "),
  };
}
