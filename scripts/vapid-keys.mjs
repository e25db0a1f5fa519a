// `node scripts/vapid-keys.mjs`: prints a fresh VAPID key pair for Web Push, in the format
// `web-push generate-vapid-keys` uses and src/lib/push/vapid.ts reads: base64url of the 65-byte
// uncompressed P-256 public point, and base64url of the 32-byte private scalar d.
// Put them in .dev.vars (npm start does that) or `wrangler secret put VAPID_PRIVATE_KEY`.
import { generateKeyPairSync } from "node:crypto";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";

export function vapidKeyPair() {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const jwk = privateKey.export({ format: "jwk" });
  const point = Buffer.concat([
    Buffer.of(0x04),
    Buffer.from(jwk.x, "base64url"),
    Buffer.from(jwk.y, "base64url"),
  ]);
  return { publicKey: point.toString("base64url"), privateKey: jwk.d };
}

/** `VAPID_PUBLIC_KEY=…` and `VAPID_PRIVATE_KEY=…` lines, newline-terminated, for a .dev.vars file. */
export function vapidKeyLines() {
  const { publicKey, privateKey } = vapidKeyPair();
  return `VAPID_PUBLIC_KEY=${publicKey}\nVAPID_PRIVATE_KEY=${privateKey}\n`;
}

const runDirectly =
  process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (runDirectly) process.stdout.write(vapidKeyLines());
