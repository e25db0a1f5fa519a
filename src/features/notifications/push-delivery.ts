/**
 * Pushing delivered notifications to every browser subscription and Expo device of their users. Each
 * (notification, target) push is claimed before it is sent and recorded after, so neither a
 * redelivered message nor two overlapping deliveries send one notification twice to one target; a
 * failure of one target (a refusal, a timeout, a payload it cannot take) is that target's alone.
 */
import type { Database } from "../../db";
import type { Env } from "../../env";
import { type ExpoMessage, type ExpoSendOutcome, sendExpoMessages } from "../../lib/push/expo";
import { type PushOutcome, sendWebPush } from "../../lib/push/web-push";
import { type PushConfig, pushConfig } from "./push-config";
import { pushPayloadOf } from "./push-payload";
import {
  claimPushes,
  closeOrphanStatements,
  type PushRecord,
  type PushRow,
  recordStatements,
  settleStatements,
  type Targets,
  targetsOf,
} from "./push-records";
import type { NotificationRow } from "./queries";

/** After this many tries a push to one target is given up on (the inbox still has the notification). */
export const MAX_PUSH_ATTEMPTS = 6;
/** Queues delay a retry by at most 12 hours; a longer Retry-After waits that long and asks again. */
export const MAX_RETRY_DELAY_SECONDS = 43_200;
/** A queue consumer's invocation is stopped after 15 minutes of wall time. */
const MAX_CONSUMER_MS = 15 * 60_000;
/** Web pushes in flight at once: under the Workers limit of six open connections, with one to spare. */
const WEB_PUSH_CONCURRENCY = 5;

/** What one push attempt came to. */
type Result =
  | { status: "sent"; ticketId?: string }
  | { status: "gone"; detail: string }
  | { status: "failed"; detail: string }
  | { status: "retry"; retryAfterSeconds: number | null; detail: string };

/** Time-critical kinds ask the push service to wake the device now. */
const URGENT = new Set(["due_soon", "focus", "break"]);

function webOutcome(outcome: PushOutcome): Result {
  switch (outcome.kind) {
    case "delivered":
      return { status: "sent" };
    case "gone":
      return { status: "gone", detail: `push service answered ${outcome.status}` };
    case "retry":
      return { status: "retry", retryAfterSeconds: outcome.retryAfterSeconds, detail: outcome.detail };
    case "rejected":
      return { status: "failed", detail: outcome.detail };
  }
}

function expoOutcome(outcome: ExpoSendOutcome): Result {
  switch (outcome.kind) {
    case "ticket":
      return { status: "sent", ticketId: outcome.ticketId };
    case "device_not_registered":
      return { status: "gone", detail: outcome.detail };
    case "retry":
      return { status: "retry", retryAfterSeconds: outcome.retryAfterSeconds, detail: outcome.detail };
    case "error":
      return { status: "failed", detail: outcome.detail };
  }
}

const failure = (error: unknown): Result => ({
  status: "failed",
  detail: `Could not be sent: ${error instanceof Error ? error.message : String(error)}`.slice(0, 300),
});

/** Runs `work` over `items`, at most `limit` at a time. */
async function pooled<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

async function sendWeb(
  config: PushConfig,
  pushes: readonly PushRow[],
  targets: Targets,
  byId: ReadonlyMap<string, NotificationRow>,
  results: Map<PushRow, Result>,
  now: number,
) {
  await pooled(pushes, WEB_PUSH_CONCURRENCY, async (push) => {
    const subscription = targets.subscriptions.get(push.targetId);
    const row = byId.get(push.notificationId);
    // A target that left this user (removed, or moved to another account) is not sent to, nor deleted.
    if (!subscription || !row || subscription.userId !== push.userId) {
      results.set(push, { status: "failed", detail: "The subscription is no longer this user's." });
      return;
    }
    if (!config.vapid) {
      results.set(push, { status: "failed", detail: "VAPID keys are not configured." });
      return;
    }
    try {
      const outcome = await sendWebPush(
        { endpoint: subscription.endpoint, p256dh: subscription.p256dh, auth: subscription.auth },
        JSON.stringify(pushPayloadOf(row)),
        {
          vapid: config.vapid,
          subject: config.subject,
          urgency: URGENT.has(row.kind) ? "high" : "normal",
          // Replaces an undelivered copy at the push service if this push is ever sent again.
          topic: row.id.replaceAll("-", "").slice(0, 32),
          timeoutMs: config.timeoutMs,
          now,
        },
      );
      results.set(push, webOutcome(outcome));
    } catch (error) {
      results.set(push, failure(error));
    }
  });
}

async function sendExpo(
  config: PushConfig,
  pushes: readonly PushRow[],
  targets: Targets,
  byId: ReadonlyMap<string, NotificationRow>,
  results: Map<PushRow, Result>,
) {
  const sends = pushes.flatMap((push) => {
    const device = targets.devices.get(push.targetId);
    const row = byId.get(push.notificationId);
    if (!device || !row || device.userId !== push.userId) {
      results.set(push, { status: "failed", detail: "The device is no longer this user's." });
      return [];
    }
    const payload = pushPayloadOf(row);
    const message: ExpoMessage = {
      to: device.expoPushToken,
      title: payload.title,
      body: payload.body,
      data: payload,
      sound: "default",
      priority: URGENT.has(row.kind) ? "high" : "default",
    };
    return [{ push, message }];
  });
  if (sends.length === 0) return;
  try {
    const outcomes = await sendExpoMessages(
      sends.map((s) => s.message),
      { baseUrl: config.expoUrl, accessToken: config.expoAccessToken, timeoutMs: config.timeoutMs },
    );
    // One outcome per message, in order (sendExpoMessages answers every message it is given).
    for (const [i, s] of sends.entries()) results.set(s.push, expoOutcome(outcomes[i]!));
  } catch (error) {
    for (const s of sends) results.set(s.push, failure(error));
  }
}

/**
 * How long a delivery holds what it claims: every request it may make, one timeout each in its lane
 * (web pushes WEB_PUSH_CONCURRENCY at a time, Expo's 100 to a request and six requests at a time), then
 * a minute for writing the results. Past that another delivery may take over, and this one's late
 * results are fenced out.
 */
function leaseFor(rows: readonly NotificationRow[], targets: Targets, timeoutMs: number): number {
  const count = (map: ReadonlyMap<string, { userId: string }>) =>
    rows.reduce((n, row) => n + [...map.values()].filter((t) => t.userId === row.userId).length, 0);
  const webRounds = Math.ceil(count(targets.subscriptions) / WEB_PUSH_CONCURRENCY);
  const expoRounds = Math.ceil(count(targets.devices) / (100 * 6));
  // Never past the longest a queue consumer may run: a delivery cannot still be sending after that.
  return Math.min(MAX_CONSUMER_MS, (webRounds + expoRounds + 1) * timeoutMs) + 60_000;
}

/** Exponential backoff for a push without Retry-After: 30 s, 60 s, 120 s … */
const backoffSeconds = (attempts: number) =>
  Math.min(MAX_RETRY_DELAY_SECONDS, 30 * 2 ** Math.max(0, attempts - 1));

/** How a result is stored: a retry goes back to pending until its time (or fails, out of tries). */
function recordOf(push: PushRow, result: Result, now: number): PushRecord {
  if (result.status !== "retry") {
    return {
      push,
      status: result.status,
      ticketId: result.status === "sent" ? (result.ticketId ?? null) : null,
      detail: result.status === "sent" ? null : result.detail,
      nextAttemptAt: null,
    };
  }
  // The claim counted this try already.
  const attempts = push.attempts;
  if (attempts >= MAX_PUSH_ATTEMPTS) {
    return { push, status: "failed", ticketId: null, detail: result.detail, nextAttemptAt: null };
  }
  const delay = Math.min(
    MAX_RETRY_DELAY_SECONDS,
    Math.max(1, result.retryAfterSeconds ?? backoffSeconds(attempts)),
  );
  return {
    push,
    status: "pending",
    ticketId: null,
    detail: result.detail,
    nextAttemptAt: now + delay * 1000,
  };
}

/**
 * Pushes these delivered notifications to their users' targets. Answers, per notification with a push
 * to try again, the seconds to wait before redelivering its message.
 */
export async function pushNotifications(
  env: Env,
  db: Database,
  rows: readonly NotificationRow[],
  now: number,
): Promise<Map<string, number>> {
  const retry = new Map<string, number>();
  const due = rows.filter((r) => r.status === "delivered" && r.pushState === "pending");
  if (due.length === 0) return retry;
  const targets = await targetsOf(db, [...new Set(due.map((r) => r.userId))]);
  if (targets.subscriptions.size === 0 && targets.devices.size === 0) {
    // Nobody here has a browser or phone registered: nothing to claim, the pushes are done.
    const ids = due.map((r) => r.id);
    const [first, ...rest] = [...closeOrphanStatements(db, ids, Date.now()), ...settleStatements(db, ids)];
    if (first) await db.batch([first, ...rest]);
    return retry;
  }
  const config = await pushConfig(env);
  const claimId = crypto.randomUUID();
  const claimed = await claimPushes(db, due, targets, {
    id: claimId,
    now: Date.now(),
    leaseMs: leaseFor(due, targets, config.timeoutMs),
    maxAttempts: MAX_PUSH_ATTEMPTS,
  });
  const results = new Map<PushRow, Result>();
  if (claimed.length > 0) {
    const byId = new Map(due.map((r) => [r.id, r]));
    // One after the other: together they could pass the six connections a Worker may hold open,
    // and a request waiting for a connection would spend its timeout waiting.
    await sendExpo(
      config,
      claimed.filter((p) => p.channel === "expo"),
      targets,
      byId,
      results,
    );
    await sendWeb(
      config,
      claimed.filter((p) => p.channel === "web_push"),
      targets,
      byId,
      results,
      now,
    );
  }
  const recordedAt = Date.now();
  const records = [...results].map(([push, result]) => recordOf(push, result, recordedAt));
  for (const record of records) {
    if (record.status !== "pending" || record.nextAttemptAt === null) continue;
    const seconds = Math.ceil((record.nextAttemptAt - recordedAt) / 1000);
    retry.set(record.push.notificationId, Math.max(retry.get(record.push.notificationId) ?? 0, seconds));
  }
  const statements = [
    ...recordStatements(db, records, claimId, recordedAt),
    ...settleStatements(
      db,
      due.map((r) => r.id),
    ),
  ];
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  return retry;
}
