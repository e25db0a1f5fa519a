/**
 * What follows an attempt: pure rules for retries, giving up, and when an endpoint has failed long
 * enough to be disabled.
 */
import type { AttemptResult } from "./delivery";

/** Attempts per round (the first send and its retries; a replay starts a new round). */
export const MAX_ATTEMPTS = 8;
/** Queues delay a message by at most this. */
const MAX_DELAY_SECONDS = 43_200;
/** An endpoint failing this many attempts in a row is disabled… */
export const DISABLE_AFTER_FAILURES = 100;
/** …or failing without a success for this long. */
export const DISABLE_AFTER_MS = 3 * 24 * 60 * 60_000;

/**
 * Backoff with jitter before attempt n+1 after n failed (n 1-based): about 30 s, 2 min, 8 min, 32 min,
 * 2 h, 8.5 h, then 12 h; eight attempts span about a day and a half.
 */
export function retryDelaySeconds(attempt: number, random = Math.random): number {
  const base = Math.min(MAX_DELAY_SECONDS, 30 * 4 ** Math.max(0, attempt - 1));
  // Clamped after the jitter: Queues delay a message by at most 12 hours.
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.round(base * (0.75 + random() * 0.5))));
}

export const succeeded = (result: AttemptResult) =>
  result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300;

export type Verdict =
  | { status: "succeeded" }
  | { status: "retrying"; retryAfterSeconds: number }
  | { status: "failed" };

/** The delivery's state after an attempt; `attemptInRound` counts this one (1 for the first). */
export function judgeAttempt(result: AttemptResult, attemptInRound: number, random = Math.random): Verdict {
  if (succeeded(result)) return { status: "succeeded" };
  if (attemptInRound >= MAX_ATTEMPTS) return { status: "failed" };
  return { status: "retrying", retryAfterSeconds: retryDelaySeconds(attemptInRound, random) };
}
