/**
 * A push service and the browser behind it, for tests: it hands out subscriptions the way a user agent
 * does (its own ECDH key pair and auth secret), checks each message's VAPID token and headers the way a
 * push service does, and decrypts the body as the browser would. Its RFC 8291 decryption and its
 * base64url are written here from the RFCs, apart from src/lib/push, so a shared mistake cannot pass.
 */

export interface VapidClaims {
  aud: string;
  exp: number;
  sub: string;
}

export interface ReceivedPush {
  endpoint: string;
  payload: string;
  /** Request headers, names lowercased. */
  headers: Record<string, string>;
  claims: VapidClaims;
  /** The `k` the message was signed for. */
  publicKey: string;
}

export interface FakeSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

export interface Receiver {
  privateKey: CryptoKey;
  /** The 65-byte uncompressed point of the receiver's key. */
  publicKey: Uint8Array;
  auth: Uint8Array;
}

type Programmed = { status: number | "hang"; left: number; headers: Record<string, string> };

const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;
const ascii = new TextEncoder();
const MAX_BODY_BYTES = 4096;
const DAY_SECONDS = 24 * 3600;

export const b64u = {
  encode(bytes: Uint8Array): string {
    return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(""))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replaceAll("=", "");
  },
  decode(text: string): Uint8Array {
    if (!/^[\w-]*=*$/.test(text)) throw new Error("not base64url");
    const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/").replaceAll("=", ""));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  },
};

const join = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => {
    out.set(p, at);
    return at + p.length;
  }, 0);
  return out;
};

async function hmac(key: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", k, data));
}

/** RFC 5869 with one block of output (all Web Push needs), spelled out in HMACs. */
async function hkdfOneBlock(salt: Uint8Array, ikm: Uint8Array, info: Uint8Array, length: number) {
  const prk = await hmac(salt, ikm);
  return (await hmac(prk, join(info, Uint8Array.of(1)))).slice(0, length);
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The browser's side of RFC 8291 / RFC 8188: one aes128gcm record opened with the receiver's keys. */
export async function decryptPushMessage(body: Uint8Array, receiver: Receiver): Promise<Uint8Array> {
  if (body.length < 21) throw new Refusal(400, "The body is shorter than an aes128gcm header.");
  const salt = body.slice(0, 16);
  const rs = new DataView(body.buffer, body.byteOffset).getUint32(16);
  const idlen = body[20]!;
  if (idlen !== 65) throw new Refusal(400, "The keyid must be the sender's 65-byte public key.");
  const senderPublic = body.slice(21, 21 + idlen);
  const record = body.slice(21 + idlen);
  if (rs < 18 || record.length > rs || record.length < 17) {
    throw new Refusal(400, "A push message must be exactly one record that fits its record size.");
  }
  let sender: CryptoKey;
  try {
    sender = await crypto.subtle.importKey("raw", senderPublic, ECDH, false, []);
  } catch {
    throw new Refusal(400, "The keyid is not a P-256 point.");
  }
  const peer = { name: "ECDH", public: sender } as SubtleCryptoDeriveKeyAlgorithm;
  const shared = new Uint8Array(await crypto.subtle.deriveBits(peer, receiver.privateKey, 256));
  const ikm = await hkdfOneBlock(
    receiver.auth,
    shared,
    join(ascii.encode("WebPush: info"), Uint8Array.of(0), receiver.publicKey, senderPublic),
    32,
  );
  const cek = await hkdfOneBlock(
    salt,
    ikm,
    join(ascii.encode("Content-Encoding: aes128gcm"), Uint8Array.of(0)),
    16,
  );
  const nonce = await hkdfOneBlock(
    salt,
    ikm,
    join(ascii.encode("Content-Encoding: nonce"), Uint8Array.of(0)),
    12,
  );
  const key = await crypto.subtle.importKey("raw", cek, { name: "AES-GCM" }, false, ["decrypt"]);
  let padded: Uint8Array;
  try {
    padded = new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: nonce }, key, record));
  } catch {
    throw new Refusal(400, "The message does not decrypt with this subscription's keys.");
  }
  let end = padded.length - 1;
  while (end >= 0 && padded[end] === 0) end -= 1;
  if (end < 0 || padded[end] !== 2)
    throw new Refusal(400, "The record does not end with the last-record delimiter.");
  return padded.slice(0, end);
}

function parseVapidHeader(value: string | null): { t: string; k: string } {
  const match = /^vapid\s+(.+)$/i.exec(value ?? "");
  if (!match) throw new Refusal(401, "Authorization must use the vapid scheme.");
  const params = new Map<string, string>();
  for (const part of match[1]!.split(",")) {
    const at = part.indexOf("=");
    if (at > 0) params.set(part.slice(0, at).trim().toLowerCase(), part.slice(at + 1).trim());
  }
  const t = params.get("t");
  const k = params.get("k");
  if (!t || !k) throw new Refusal(401, "The vapid Authorization needs both t and k.");
  return { t, k };
}

function decodeJson(part: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(b64u.decode(part)));
    if (typeof value === "object" && value !== null) return value as Record<string, unknown>;
  } catch {
    // refused below
  }
  throw new Refusal(401, "The JWT is not JSON.");
}

/** RFC 8292 §2 and §4: the token is ES256 by k, for this origin, not expired, at most a day ahead. */
async function verifyVapid(request: Request, origin: string, nowMs: number) {
  const { t, k } = parseVapidHeader(request.headers.get("authorization"));
  const [header, payload, signature, ...rest] = t.split(".");
  if (!header || !payload || !signature || rest.length > 0) throw new Refusal(401, "The JWT is malformed.");
  const head = decodeJson(header);
  if (head.alg !== "ES256" || head.typ !== "JWT")
    throw new Refusal(401, "The JWT must be typ JWT, alg ES256.");
  let verifier: CryptoKey;
  let signatureBytes: Uint8Array;
  try {
    verifier = await crypto.subtle.importKey(
      "raw",
      b64u.decode(k),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    signatureBytes = b64u.decode(signature);
  } catch {
    throw new Refusal(401, "k is not a P-256 public key.");
  }
  const signed = ascii.encode(`${header}.${payload}`);
  const valid =
    signatureBytes.length === 64 &&
    (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, verifier, signatureBytes, signed));
  if (!valid) throw new Refusal(401, "The JWT signature does not verify with k.");
  const claims = decodeJson(payload);
  const now = Math.floor(nowMs / 1000);
  if (claims.aud !== origin) throw new Refusal(401, `The JWT audience must be ${origin}.`);
  if (typeof claims.exp !== "number" || claims.exp <= now) throw new Refusal(401, "The JWT has expired.");
  if (claims.exp > now + DAY_SECONDS) throw new Refusal(401, "The JWT expires more than 24 hours ahead.");
  if (typeof claims.sub !== "string" || !/^(mailto:|https:)/.test(claims.sub)) {
    throw new Refusal(401, "The JWT subject must be a mailto: or https: URI.");
  }
  return { k: b64u.encode(b64u.decode(k)), claims: { aud: claims.aud, exp: claims.exp, sub: claims.sub } };
}

const answer = (status: number, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ status, detail }), {
    status,
    headers: { "content-type": "application/json", ...headers },
  });

/** Never answers; gives up (as an aborted fetch does) only when the request's signal aborts. */
const hang = (signal: AbortSignal) =>
  new Promise<Response>((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });

export function createFakePushService(host = "push.fake.test", options: { now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const receivers = new Map<string, Receiver & { applicationServerKey?: string }>();
  const programmed = new Map<string, Programmed[]>();
  const received: ReceivedPush[] = [];
  /** Every request that reached a subscription, with the status it got ("hang" for none). */
  const answered: Array<{ endpoint: string; status: number | "hang" }> = [];

  const takeProgrammed = (endpoint: string): Programmed | undefined => {
    const queue = programmed.get(endpoint) ?? [];
    const next = queue[0];
    if (!next) return undefined;
    next.left -= 1;
    if (next.left <= 0) queue.shift();
    return next;
  };

  async function accept(
    request: Request,
    endpoint: string,
    receiver: Receiver & { applicationServerKey?: string },
  ) {
    const url = new URL(request.url);
    const { k, claims } = await verifyVapid(request, url.origin, now());
    // RFC 8292 §3.2: a subscription made with an applicationServerKey takes messages signed by it only.
    if (receiver.applicationServerKey !== undefined && receiver.applicationServerKey !== k) {
      throw new Refusal(403, "This subscription belongs to another application server key.");
    }
    if (request.headers.get("content-encoding") !== "aes128gcm") {
      throw new Refusal(400, "Content-Encoding must be aes128gcm.");
    }
    if (!/^\d+$/.test(request.headers.get("ttl") ?? "")) throw new Refusal(400, "A TTL header is required.");
    const body = new Uint8Array(await request.arrayBuffer());
    if (body.length > MAX_BODY_BYTES) throw new Refusal(413, "The message is larger than 4096 bytes.");
    const plaintext = await decryptPushMessage(body, receiver);
    let payload: string;
    try {
      payload = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(plaintext);
    } catch {
      throw new Refusal(400, "The payload is not UTF-8.");
    }
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return { endpoint, payload, headers, claims, publicKey: k };
  }

  return {
    received,
    answered,

    /** A new subscription, restricted to `applicationServerKey` when given (as PushManager.subscribe does). */
    async subscribe(subscribeOptions: { applicationServerKey?: string } = {}): Promise<FakeSubscription> {
      const pair = (await crypto.subtle.generateKey(ECDH, false, ["deriveBits"])) as CryptoKeyPair;
      const publicKey = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
      const auth = crypto.getRandomValues(new Uint8Array(16));
      const endpoint = `https://${host}/push/${b64u.encode(crypto.getRandomValues(new Uint8Array(16)))}`;
      receivers.set(endpoint, {
        privateKey: pair.privateKey,
        publicKey,
        auth,
        ...(subscribeOptions.applicationServerKey !== undefined
          ? { applicationServerKey: b64u.encode(b64u.decode(subscribeOptions.applicationServerKey)) }
          : {}),
      });
      return { endpoint, keys: { p256dh: b64u.encode(publicKey), auth: b64u.encode(auth) } };
    },

    /**
     * The next `times` valid messages to `endpoint` get `status` (with `headers`, e.g. Retry-After)
     * instead of 201, or no answer at all for "hang".
     */
    respond(endpoint: string, status: number | "hang", times = Number.POSITIVE_INFINITY, headers = {}) {
      const queue = programmed.get(endpoint) ?? [];
      queue.push({ status, left: times, headers });
      programmed.set(endpoint, queue);
    },

    async handle(request: Request): Promise<Response> {
      const url = new URL(request.url);
      const endpoint = `${url.origin}${url.pathname}`;
      const receiver = receivers.get(endpoint);
      if (!receiver) return answer(404, "No such subscription.");
      if (request.method !== "POST") return answer(405, "Push messages are POSTed.");
      let message: ReceivedPush;
      try {
        message = await accept(request, endpoint, receiver);
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        answered.push({ endpoint, status: error.status });
        return answer(error.status, error.message);
      }
      const next = takeProgrammed(endpoint);
      answered.push({ endpoint, status: next?.status ?? 201 });
      if (next?.status === "hang") return hang(request.signal);
      if (next) return answer(next.status, "Programmed answer.", next.headers);
      received.push(message);
      return new Response(null, {
        status: 201,
        headers: { location: `https://${host}/message/${crypto.randomUUID()}` },
      });
    },
  };
}

export type FakePushService = ReturnType<typeof createFakePushService>;
