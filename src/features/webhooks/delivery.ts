/**
 * One delivery attempt on the wire: the endpoint's current secrets sign the Standard Webhooks body,
 * `safeFetch` sends it (every redirect hop checked, one timeout for the whole exchange), and what the
 * receiver answered is kept for the log. Deciding what happens next is `judgeAttempt`'s job.
 */
import type { Env } from "../../env";
import { bodyPrefix, deadlineOf } from "../../lib/body-prefix";
import { safeFetch } from "../../lib/webhooks/safe-fetch";
import { signedHeaders } from "../../lib/webhooks/signature";
import { allowsLocalReceivers, secretsInForce } from "./service";

/** A receiver gets this long to answer. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** The start of the receiver's answer kept in the log. */
const EXCERPT_BYTES = 2048;

export interface Target {
  url: string;
  secret: string;
  previousSecret: string | null;
  previousSecretExpiresAt: string | null;
}

export interface AttemptResult {
  startedAt: number;
  latencyMs: number;
  /** The receiver's HTTP status; null when there was no answer (refused, timed out, unreachable). */
  statusCode: number | null;
  excerpt: string | null;
  error: string | null;
}

/** The start of the answer, read until `deadline` at the latest: a receiver that trickles its body is cut off. */
async function excerptOf(response: Response, deadline: number): Promise<string> {
  const late = deadlineOf(deadline);
  try {
    return await bodyPrefix(response, EXCERPT_BYTES, late.stop);
  } finally {
    late.clear();
  }
}

/** Sends `body` to the target once, signed under `deliveryId` (the `webhook-id`). Never throws. */
export async function sendDelivery(
  env: Pick<Env, "WEBHOOKS_ALLOW_LOCAL">,
  target: Target,
  deliveryId: string,
  body: string,
): Promise<AttemptResult> {
  const startedAt = Date.now();
  let statusCode: number | null = null;
  let excerpt: string | null = null;
  let error: string | null = null;
  try {
    const headers = await signedHeaders(
      secretsInForce(target, startedAt),
      deliveryId,
      Math.floor(startedAt / 1000),
      body,
    );
    const response = await safeFetch(target.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "ProxyAgentPlatform-Webhooks/1",
        ...headers,
      },
      body,
      timeoutMs: DELIVERY_TIMEOUT_MS,
      allowLocal: allowsLocalReceivers(env),
    });
    statusCode = response.status;
    excerpt = await excerptOf(response, startedAt + DELIVERY_TIMEOUT_MS);
  } catch (failure) {
    error = failure instanceof Error ? failure.message.slice(0, 500) : String(failure).slice(0, 500);
  }
  return { startedAt, latencyMs: Date.now() - startedAt, statusCode, excerpt, error };
}
