import { describe, expect, it } from "vitest";
import { encryptPayload, MAX_PLAINTEXT_BYTES, validateSubscriptionKeys } from "../src/lib/push/aes128gcm";
import { base64UrlDecode, base64UrlEncode } from "../src/lib/push/base64url";
import {
  generateVapidKeys,
  importVapidKeys,
  type VapidKeys,
  vapidAuthorization,
} from "../src/lib/push/vapid";
import { isPushEndpoint, parseRetryAfter, sendWebPush, type Urgency } from "../src/lib/push/web-push";
import { routeOutbound } from "./fakes/outbound";
import { b64u, createFakePushService, decryptPushMessage } from "./fakes/push-service";

/** RFC 8291 Appendix A (the example of §5): fixed keys and salt give exactly this body. */
const RFC8291 = {
  plaintext: "When I grow up, I want to be a watermelon",
  asPublic: "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8",
  asPrivate: "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw",
  uaPublic: "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
  uaPrivate: "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94",
  salt: "DGv6ra1nlYgDCS1FRnbzlw",
  auth: "BTBZMqHH6r4Tts7J_aSIgg",
  body:
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A" +
    "_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
};

/** Printed by `node scripts/vapid-keys.mjs`; the same pair is the suggested test binding in vitest.config.ts. */
const TEST_VAPID = {
  publicKey: "BF_JfCZ2PnBCIZk7KBbmX0JSoqwHviyAEBnzguH5RKefvm1Ob7kYu8ntJg5b43BcFQc1RrNCri84qRFluq9m47o",
  privateKey: "j9sGAPGLGOrX-_sMM7ft67VuprGPyeFk4-HL7BU8888",
};

const ECDH = { name: "ECDH", namedCurve: "P-256" } as const;
const HOST = "push.fake.test";
const SUBJECT = "mailto:push-admin@example.com";

/** A P-256 private key from the RFC's base64url point and scalar, through JWK. */
function privateJwk(publicPoint: string, d: string): JsonWebKey {
  const point = b64u.decode(publicPoint);
  return { kty: "EC", crv: "P-256", x: b64u.encode(point.slice(1, 33)), y: b64u.encode(point.slice(33)), d };
}

async function rfcSenderKeys(): Promise<CryptoKeyPair> {
  const privateKey = await crypto.subtle.importKey(
    "jwk",
    privateJwk(RFC8291.asPublic, RFC8291.asPrivate),
    ECDH,
    false,
    ["deriveBits"],
  );
  const publicKey = await crypto.subtle.importKey("raw", b64u.decode(RFC8291.asPublic), ECDH, true, []);
  return { privateKey, publicKey };
}

const freshVapid = async (): Promise<VapidKeys & { privateText: string }> => {
  const pair = await generateVapidKeys();
  return { ...(await importVapidKeys(pair.publicKey, pair.privateKey)), privateText: pair.privateKey };
};

const jwtOf = (authorization: string) => {
  const match = /^vapid t=([^,]+), k=(.+)$/.exec(authorization);
  if (!match) throw new Error(`not a vapid header: ${authorization}`);
  const [header, claims, signature] = match[1]!.split(".");
  const json = (part: string) => JSON.parse(new TextDecoder().decode(b64u.decode(part)));
  return {
    header: json(header!),
    claims: json(claims!),
    signature: signature!,
    signed: match[1]!,
    k: match[2]!,
  };
};

/** A fake push service at HOST, reached through the Worker's global fetch, and one subscription to it. */
async function pushSetup(subscribe: { applicationServerKey?: string } = {}) {
  const fake = createFakePushService(HOST);
  routeOutbound(HOST, fake.handle);
  const subscription = await fake.subscribe(subscribe);
  const target = { endpoint: subscription.endpoint, ...subscription.keys };
  return { fake, subscription, target };
}

describe("base64url", () => {
  it("round-trips every length without padding, and tolerates padding on input", () => {
    for (let n = 0; n < 40; n += 1) {
      const bytes = crypto.getRandomValues(new Uint8Array(n));
      const text = base64UrlEncode(bytes);
      expect(text).toMatch(/^[A-Za-z0-9_-]*$/);
      expect(base64UrlDecode(text)).toEqual(bytes);
      expect(base64UrlDecode(text + "=".repeat((4 - (text.length % 4)) % 4))).toEqual(bytes);
    }
    expect(base64UrlEncode(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
  });

  it("refuses what is not base64url, with a sentence", () => {
    expect(() => base64UrlDecode("ab+/")).toThrow(/only A-Z/);
    expect(() => base64UrlDecode("a b")).toThrow(/Not base64url/);
    expect(() => base64UrlDecode("abcde")).toThrow(/length is impossible/);
    expect(() => base64UrlDecode("ab=")).toThrow(/padding/);
  });
});

describe("RFC 8291 message encryption", () => {
  it("reproduces Appendix A byte for byte from the RFC's salt, sender key pair and subscription", async () => {
    const body = await encryptPayload(
      { p256dh: RFC8291.uaPublic, auth: RFC8291.auth },
      new TextEncoder().encode(RFC8291.plaintext),
      { salt: b64u.decode(RFC8291.salt), senderKeys: await rfcSenderKeys() },
    );
    expect(base64UrlEncode(body)).toBe(RFC8291.body);
  });

  it("the fake's own decryption opens Appendix A with the RFC's user agent key", async () => {
    const privateKey = await crypto.subtle.importKey(
      "jwk",
      privateJwk(RFC8291.uaPublic, RFC8291.uaPrivate),
      ECDH,
      false,
      ["deriveBits"],
    );
    const plaintext = await decryptPushMessage(b64u.decode(RFC8291.body), {
      privateKey,
      publicKey: b64u.decode(RFC8291.uaPublic),
      auth: b64u.decode(RFC8291.auth),
    });
    expect(new TextDecoder().decode(plaintext)).toBe(RFC8291.plaintext);
  });

  it("uses a fresh salt and sender key per message, in a 4096-byte single-record header", async () => {
    const keys = { p256dh: RFC8291.uaPublic, auth: RFC8291.auth };
    const a = await encryptPayload(keys, new TextEncoder().encode("same"));
    const b = await encryptPayload(keys, new TextEncoder().encode("same"));
    expect(a.slice(0, 16)).not.toEqual(b.slice(0, 16));
    expect(a.slice(21, 86)).not.toEqual(b.slice(21, 86));
    expect(new DataView(a.buffer).getUint32(16)).toBe(4096);
    expect(a[20]).toBe(65);
    expect(a.length).toBe(86 + 4 + 1 + 16);
  });

  it("fills one 4096-byte body at most: 3993 bytes of plaintext fit, one more is refused", async () => {
    const keys = { p256dh: RFC8291.uaPublic, auth: RFC8291.auth };
    expect(MAX_PLAINTEXT_BYTES).toBe(3993);
    expect((await encryptPayload(keys, new Uint8Array(3993))).length).toBe(4096);
    await expect(encryptPayload(keys, new Uint8Array(3994))).rejects.toThrow(/at most 3993 bytes/);
    await expect(encryptPayload(keys, new Uint8Array(100), { recordSize: 64 })).rejects.toThrow(
      /record size/,
    );
  });
});

describe("validateSubscriptionKeys", () => {
  const point = b64u.decode(RFC8291.uaPublic);

  it("accepts a real subscription's keys", async () => {
    expect(await validateSubscriptionKeys({ p256dh: RFC8291.uaPublic, auth: RFC8291.auth })).toEqual({
      ok: true,
    });
  });

  it("refuses a 64-byte p256dh", async () => {
    const result = await validateSubscriptionKeys({
      p256dh: b64u.encode(point.slice(0, 64)),
      auth: RFC8291.auth,
    });
    expect(result).toMatchObject({
      ok: false,
      field: "keys.p256dh",
      detail: expect.stringMatching(/65-byte/),
    });
  });

  it("refuses a point that is not on the curve", async () => {
    const off = point.slice();
    off[64] = off[64]! ^ 0x01;
    const result = await validateSubscriptionKeys({ p256dh: b64u.encode(off), auth: RFC8291.auth });
    expect(result).toEqual({
      ok: false,
      field: "keys.p256dh",
      detail: "keys.p256dh is not a point on the P-256 curve.",
    });
  });

  it("refuses a 15-byte auth secret, and text that is not base64url", async () => {
    const short = await validateSubscriptionKeys({
      p256dh: RFC8291.uaPublic,
      auth: b64u.encode(new Uint8Array(15)),
    });
    expect(short).toMatchObject({
      ok: false,
      field: "keys.auth",
      detail: expect.stringMatching(/16 bytes \(got 15\)/),
    });
    const garbled = await validateSubscriptionKeys({ p256dh: "not base64!", auth: RFC8291.auth });
    expect(garbled).toMatchObject({ ok: false, field: "keys.p256dh" });
  });
});

describe("VAPID", () => {
  it("imports a generated pair and refuses a mismatched or malformed one", async () => {
    const a = await generateVapidKeys();
    const b = await generateVapidKeys();
    expect((await importVapidKeys(a.publicKey, a.privateKey)).publicKey).toBe(a.publicKey);
    await expect(importVapidKeys(a.publicKey, b.privateKey)).rejects.toThrow("not the private half");
    const offCurve = b64u.decode(a.publicKey);
    offCurve[64] = offCurve[64]! ^ 0x01;
    await expect(importVapidKeys(b64u.encode(offCurve), a.privateKey)).rejects.toThrow(
      /not a point on the P-256/,
    );
    await expect(importVapidKeys(a.publicKey, b64u.encode(new Uint8Array(31)))).rejects.toThrow(/32 bytes/);
    await expect(importVapidKeys(a.publicKey.slice(0, 40), a.privateKey)).rejects.toThrow(/65 bytes/);
  });

  it("imports the pair scripts/vapid-keys.mjs printed (node crypto) for vitest.config.ts", async () => {
    const keys = await importVapidKeys(TEST_VAPID.publicKey, TEST_VAPID.privateKey);
    const { target, fake } = await pushSetup({ applicationServerKey: TEST_VAPID.publicKey });
    expect(await sendWebPush(target, "ok", { vapid: keys, subject: SUBJECT })).toEqual({
      kind: "delivered",
      status: 201,
    });
    expect(fake.received[0]?.publicKey).toBe(TEST_VAPID.publicKey);
  });

  it("signs an ES256 JWT for the endpoint's origin, expiring ttl seconds from now", async () => {
    const keys = await freshVapid();
    const now = Math.floor(Date.now() / 1000);
    const header = await vapidAuthorization(
      "https://push.fake.test:8443/push/abc?x=1",
      keys,
      SUBJECT,
      now,
      3600,
    );
    const jwt = jwtOf(header);
    expect(jwt.k).toBe(keys.publicKey);
    expect(jwt.header).toEqual({ typ: "JWT", alg: "ES256" });
    expect(jwt.claims).toEqual({ aud: "https://push.fake.test:8443", exp: now + 3600, sub: SUBJECT });
    const verifier = await crypto.subtle.importKey(
      "raw",
      b64u.decode(jwt.k),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const [h, c, s] = jwt.signed.split(".");
    const signature = b64u.decode(s!);
    expect(signature.length).toBe(64);
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      verifier,
      signature,
      new TextEncoder().encode(`${h}.${c}`),
    );
    expect(ok).toBe(true);
  });

  it("refuses a subject that is not mailto: or https:, and a lifetime over 24 hours", async () => {
    const keys = await freshVapid();
    const now = Math.floor(Date.now() / 1000);
    const endpoint = `https://${HOST}/push/x`;
    await expect(vapidAuthorization(endpoint, keys, "example.com", now)).rejects.toThrow(/mailto: or https:/);
    await expect(vapidAuthorization(endpoint, keys, "http://example.com", now)).rejects.toThrow(
      /mailto: or https:/,
    );
    await expect(vapidAuthorization(endpoint, keys, SUBJECT, now, 24 * 3600 + 1)).rejects.toThrow(RangeError);
    await expect(vapidAuthorization(endpoint, keys, "https://example.com/contact", now)).resolves.toMatch(
      /^vapid t=/,
    );
  });
});

describe("sendWebPush through a fake push service", () => {
  it("delivers a payload the receiving browser decrypts to exactly what was sent, with the headers asked for", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup({ applicationServerKey: vapid.publicKey });
    const payload = JSON.stringify({ title: "Focus time 🎯", body: "Step 2 of 5: write the intro" });
    const outcome = await sendWebPush(target, payload, {
      vapid,
      subject: SUBJECT,
      urgency: "high",
      topic: "task-reminder_1",
    });
    expect(outcome).toEqual({ kind: "delivered", status: 201 });
    expect(fake.received).toHaveLength(1);
    const got = fake.received[0]!;
    expect(got.payload).toBe(payload);
    expect(got.endpoint).toBe(target.endpoint);
    expect(got.publicKey).toBe(vapid.publicKey);
    expect(got.headers).toMatchObject({
      "content-encoding": "aes128gcm",
      "content-type": "application/octet-stream",
      ttl: "86400",
      urgency: "high",
      topic: "task-reminder_1",
    });
    expect(got.claims.aud).toBe(`https://${HOST}`);
    expect(got.claims.sub).toBe(SUBJECT);
  });

  it("uses a fetch passed in, and the TTL asked for", async () => {
    const fake = createFakePushService("push.other.test");
    const subscription = await fake.subscribe();
    const vapid = await freshVapid();
    const outcome = await sendWebPush({ endpoint: subscription.endpoint, ...subscription.keys }, "hi", {
      vapid,
      subject: SUBJECT,
      ttlSeconds: 60,
      fetch: async (input, init) => fake.handle(new Request(input, init)),
    });
    expect(outcome).toEqual({ kind: "delivered", status: 201 });
    expect(fake.received[0]).toMatchObject({ payload: "hi", headers: { ttl: "60" } });
  });

  it("is rejected (403) when the subscription belongs to another VAPID key", async () => {
    const owner = await freshVapid();
    const stranger = await freshVapid();
    const { fake, target } = await pushSetup({ applicationServerKey: owner.publicKey });
    const outcome = await sendWebPush(target, "hello", { vapid: stranger, subject: SUBJECT });
    expect(outcome).toMatchObject({ kind: "rejected", status: 403 });
    expect(fake.received).toHaveLength(0);
  });

  it("is rejected (401) when the JWT is not signed by the key it names", async () => {
    const named = await freshVapid();
    const signer = await freshVapid();
    const { fake, target } = await pushSetup();
    const forged: VapidKeys = { publicKey: named.publicKey, privateKey: signer.privateKey };
    const outcome = await sendWebPush(target, "hello", { vapid: forged, subject: SUBJECT });
    expect(outcome).toMatchObject({
      kind: "rejected",
      status: 401,
      detail: expect.stringMatching(/signature/),
    });
    expect(fake.received).toHaveLength(0);
  });

  it("is rejected (401) when its clock makes the JWT expired, or valid for more than a day", async () => {
    const vapid = await freshVapid();
    const { target } = await pushSetup();
    const past = await sendWebPush(target, "x", { vapid, subject: SUBJECT, now: Date.now() - 13 * 3600_000 });
    expect(past).toMatchObject({ kind: "rejected", status: 401, detail: expect.stringMatching(/expired/) });
    const ahead = await sendWebPush(target, "x", {
      vapid,
      subject: SUBJECT,
      now: Date.now() + 13 * 3600_000,
    });
    expect(ahead).toMatchObject({ kind: "rejected", status: 401, detail: expect.stringMatching(/24 hours/) });
  });

  it("reports 404 and 410 as gone, so the caller deletes the subscription", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    fake.respond(target.endpoint, 404, 1);
    fake.respond(target.endpoint, 410, 1);
    expect(await sendWebPush(target, "a", { vapid, subject: SUBJECT })).toEqual({
      kind: "gone",
      status: 404,
    });
    expect(await sendWebPush(target, "b", { vapid, subject: SUBJECT })).toEqual({
      kind: "gone",
      status: 410,
    });
    expect(await sendWebPush(target, "c", { vapid, subject: SUBJECT })).toEqual({
      kind: "delivered",
      status: 201,
    });
    expect(fake.received.map((m) => m.payload)).toEqual(["c"]);
  });

  it("retries after a 429, for the Retry-After seconds or HTTP-date", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    const now = Date.now();
    fake.respond(target.endpoint, 429, 1, { "Retry-After": "120" });
    fake.respond(target.endpoint, 429, 1, { "Retry-After": new Date(now + 90_000).toUTCString() });
    expect(await sendWebPush(target, "a", { vapid, subject: SUBJECT, now })).toMatchObject({
      kind: "retry",
      status: 429,
      retryAfterSeconds: 120,
    });
    expect(await sendWebPush(target, "b", { vapid, subject: SUBJECT, now })).toMatchObject({
      kind: "retry",
      status: 429,
      retryAfterSeconds: 90,
    });
  });

  it("retries after a 5xx, and the next attempt is delivered", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    fake.respond(target.endpoint, 500, 1);
    expect(await sendWebPush(target, "a", { vapid, subject: SUBJECT })).toMatchObject({
      kind: "retry",
      status: 500,
      retryAfterSeconds: null,
      detail: expect.stringMatching(/answered 500/),
    });
    expect(await sendWebPush(target, "a", { vapid, subject: SUBJECT })).toEqual({
      kind: "delivered",
      status: 201,
    });
  });

  it("gives up on a push service that never answers at timeoutMs, as a retry", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    fake.respond(target.endpoint, "hang");
    const started = Date.now();
    const outcome = await sendWebPush(target, "a", { vapid, subject: SUBJECT, timeoutMs: 200 });
    const elapsed = Date.now() - started;
    expect(outcome).toMatchObject({
      kind: "retry",
      status: null,
      detail: expect.stringMatching(/within 200 ms/),
    });
    expect(elapsed).toBeGreaterThanOrEqual(150);
    expect(elapsed).toBeLessThan(2000);
    expect(fake.answered).toEqual([{ endpoint: target.endpoint, status: "hang" }]);
  });

  it("gives up at timeoutMs even when the fetch ignores its abort signal", async () => {
    const vapid = await freshVapid();
    const started = Date.now();
    const outcome = await sendWebPush(
      { endpoint: `https://${HOST}/push/x`, p256dh: RFC8291.uaPublic, auth: RFC8291.auth },
      "a",
      {
        vapid,
        subject: SUBJECT,
        timeoutMs: 100,
        fetch: () => new Promise<Response>(() => undefined),
      },
    );
    expect(outcome).toMatchObject({ kind: "retry", status: null });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("retries when the network fails, and rejects the other 4xx answers", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    const down = await sendWebPush(target, "a", {
      vapid,
      subject: SUBJECT,
      fetch: () => Promise.reject(new TypeError("connection refused")),
    });
    expect(down).toMatchObject({
      kind: "retry",
      status: null,
      detail: expect.stringMatching(/connection refused/),
    });
    fake.respond(target.endpoint, 413, 1);
    expect(await sendWebPush(target, "a", { vapid, subject: SUBJECT })).toMatchObject({
      kind: "rejected",
      status: 413,
    });
  });

  it("throws, before any request, on inputs the caller should have checked", async () => {
    const vapid = await freshVapid();
    const { fake, target } = await pushSetup();
    const options = { vapid, subject: SUBJECT };
    await expect(sendWebPush(target, "a", { ...options, topic: "not a topic!" })).rejects.toThrow(/topic/);
    await expect(sendWebPush(target, "a", { ...options, topic: "x".repeat(33) })).rejects.toThrow(/topic/);
    await expect(sendWebPush(target, "a", { ...options, ttlSeconds: -1 })).rejects.toThrow(/TTL/);
    const urgency = "urgent" as Urgency;
    await expect(sendWebPush(target, "a", { ...options, urgency })).rejects.toThrow(/Urgency/);
    await expect(sendWebPush(target, "é".repeat(2000), options)).rejects.toThrow(/at most 3993 bytes/);
    await expect(
      sendWebPush({ ...target, endpoint: "http://push.example.com/x" }, "a", options),
    ).rejects.toThrow(/endpoint/);
    await expect(sendWebPush({ ...target, auth: "AAAA" }, "a", options)).rejects.toThrow(/keys.auth/);
    expect(fake.answered).toEqual([]);
  });
});

describe("isPushEndpoint and Retry-After", () => {
  it("takes https push services, and http only for localhost and .test hosts", () => {
    expect(isPushEndpoint("https://fcm.googleapis.com/fcm/send/abc")).toBe(true);
    expect(isPushEndpoint("https://updates.push.services.mozilla.com/wpush/v2/abc")).toBe(true);
    expect(isPushEndpoint("http://push.fake.test/push/abc")).toBe(true);
    expect(isPushEndpoint("http://localhost:8080/push")).toBe(true);
    expect(isPushEndpoint("http://push.example.com/push")).toBe(false);
    expect(isPushEndpoint("https://user:secret@push.example.com/push")).toBe(false);
    expect(isPushEndpoint("ftp://push.example.com/push")).toBe(false);
    expect(isPushEndpoint("not a url")).toBe(false);
    expect(isPushEndpoint(`https://push.example.com/${"a".repeat(2048)}`)).toBe(false);
  });

  it("reads seconds or an HTTP-date, and nothing else", () => {
    // Relative to now, whole seconds (an HTTP-date has no finer grain).
    const now = Math.floor(Date.now() / 1000) * 1000;
    expect(parseRetryAfter("30", now)).toBe(30);
    expect(parseRetryAfter(new Date(now + 60_000).toUTCString(), now)).toBe(60);
    expect(parseRetryAfter(new Date(now - 86_400_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
