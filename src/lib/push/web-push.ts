/**
 * Sending one Web Push message (RFC 8030 §5) and reading the push service's answer as an outcome the
 * caller acts on: delivered, gone (delete the subscription), retry later, or rejected (a fault of ours).
 */

import { bodyPrefix } from "../body-prefix";
import { encryptPayload } from "./aes128gcm";
import { type VapidKeys, vapidAuthorization } from "./vapid";

export interface PushSubscriptionTarget {
  endpoint: string;
  p256dh: string;
  auth: string;
}

export type Urgency = "very-low" | "low" | "normal" | "high";

export interface SendOptions {
  vapid: VapidKeys;
  /** mailto: or https: contact for the push service's operator (the JWT's `sub`). */
  subject: string;
  /** How long the push service keeps an undelivered message; default 24 hours. */
  ttlSeconds?: number;
  urgency?: Urgency;
  /** Replaces an undelivered message with the same topic (at most 32 base64url characters). */
  topic?: string;
  /** The whole exchange, answer body included, is given up after this; default 10 s. */
  timeoutMs?: number;
  /** The current time in ms (for the JWT and Retry-After dates); default Date.now(). */
  now?: number;
  fetch?: typeof fetch;
}

export type PushOutcome =
  | { kind: "delivered"; status: number }
  | { kind: "gone"; status: 404 | 410 }
  | { kind: "retry"; status: number | null; retryAfterSeconds: number | null; detail: string }
  | { kind: "rejected"; status: number; detail: string };

const DEFAULT_TTL_SECONDS = 24 * 3600;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_ENDPOINT_LENGTH = 2048;
const URGENCIES: readonly string[] = ["very-low", "low", "normal", "high"];
const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;
const DETAIL_CHARS = 300;

/**
 * True for a URL we are willing to POST push messages to: https, no credentials, at most 2048 characters.
 * Plain http is allowed only for `localhost` and the reserved `.test` domain (RFC 6761), which never
 * resolve to a public host: local fakes and development push services can then run without TLS, while a
 * subscription can never make us send a payload in clear text across the internet.
 */
export function isPushEndpoint(url: string): boolean {
  if (url.length > MAX_ENDPOINT_LENGTH) return false;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username !== "" || parsed.password !== "" || parsed.hostname === "") return false;
  if (parsed.protocol === "https:") return true;
  const host = parsed.hostname.toLowerCase();
  const local = host === "localhost" || host.endsWith(".localhost") || host.endsWith(".test");
  return parsed.protocol === "http:" && local;
}

/** Retry-After as seconds from `nowMs`: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); null if absent or bad. */
export function parseRetryAfter(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

function checkOptions(subscription: PushSubscriptionTarget, options: SendOptions): void {
  if (!isPushEndpoint(subscription.endpoint)) {
    throw new Error("The subscription's endpoint is not an https URL a push message can be sent to.");
  }
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
  if (!Number.isInteger(ttl) || ttl < 0)
    throw new RangeError("TTL must be a whole number of seconds, 0 or more.");
  if (options.urgency !== undefined && !URGENCIES.includes(options.urgency)) {
    throw new RangeError(`Urgency must be one of ${URGENCIES.join(", ")}.`);
  }
  if (options.topic !== undefined && !TOPIC.test(options.topic)) {
    throw new RangeError("A topic is 1 to 32 characters of the base64url alphabet (A-Z a-z 0-9 - _).");
  }
}

class PushTimeout extends Error {}

/** A promise that rejects when `signal` aborts, and is never reported as unhandled. */
function whenAborted(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  return aborted;
}

/** The most of an error body read: a push service's explanation is short; anything more is not read at all. */
const MAX_DETAIL_BYTES = 1024;

/**
 * The start of an error answer's body, for the record. Read a chunk at a time and cut at
 * MAX_DETAIL_BYTES: an endpoint is chosen by whoever subscribed, and must not make us buffer a huge body.
 */
async function readDetail(response: Response, aborted: Promise<never>): Promise<string> {
  return (await bodyPrefix(response, MAX_DETAIL_BYTES, aborted)).trim().slice(0, DETAIL_CHARS);
}

function outcomeOf(status: number, detail: string, retryAfterSeconds: number | null): PushOutcome {
  if (status >= 200 && status < 300) return { kind: "delivered", status };
  if (status === 404 || status === 410) return { kind: "gone", status };
  const said = `The push service answered ${status}${detail ? `: ${detail}` : "."}`;
  if (status === 429 || status >= 500) return { kind: "retry", status, retryAfterSeconds, detail: said };
  return { kind: "rejected", status, detail: said };
}

/**
 * Encrypts `payload` for the subscription and POSTs it to its push service. Throws only for inputs the
 * caller should have checked (endpoint, keys, topic, urgency, TTL, a payload over 3993 bytes, the VAPID
 * subject); everything the push service or the network does becomes a PushOutcome.
 */
export async function sendWebPush(
  subscription: PushSubscriptionTarget,
  payload: string,
  options: SendOptions,
): Promise<PushOutcome> {
  checkOptions(subscription, options);
  const now = options.now ?? Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const body = await encryptPayload(
    { p256dh: subscription.p256dh, auth: subscription.auth },
    new TextEncoder().encode(payload),
  );
  const headers: Record<string, string> = {
    "Content-Encoding": "aes128gcm",
    "Content-Type": "application/octet-stream",
    TTL: String(options.ttlSeconds ?? DEFAULT_TTL_SECONDS),
    Authorization: await vapidAuthorization(
      subscription.endpoint,
      options.vapid,
      options.subject,
      Math.floor(now / 1000),
    ),
  };
  if (options.urgency) headers.Urgency = options.urgency;
  if (options.topic) headers.Topic = options.topic;

  const doFetch = options.fetch ?? globalThis.fetch;
  const controller = new AbortController();
  const aborted = whenAborted(controller.signal);
  // Our own timer, not only the signal: a fetch that ignores its signal must not hold us either.
  const timer = setTimeout(
    () => controller.abort(new PushTimeout(`The push service did not answer within ${timeoutMs} ms.`)),
    timeoutMs,
  );
  try {
    const response = await Promise.race([
      doFetch(subscription.endpoint, {
        method: "POST",
        headers,
        body,
        signal: controller.signal,
        // A redirect would resend the message somewhere the subscription never named.
        redirect: "manual",
      }),
      aborted,
    ]);
    const delivered = response.status >= 200 && response.status < 300;
    const detail = delivered ? "" : await readDetail(response, aborted);
    if (delivered) response.body?.cancel().catch(() => undefined);
    return outcomeOf(response.status, detail, parseRetryAfter(response.headers.get("Retry-After"), now));
  } catch (error) {
    const detail =
      error instanceof PushTimeout
        ? error.message
        : `The push service could not be reached: ${error instanceof Error ? error.message : String(error)}`;
    return { kind: "retry", status: null, retryAfterSeconds: null, detail };
  } finally {
    clearTimeout(timer);
  }
}
