/**
 * Pushing delivered notifications to every browser subscription and Expo device of their users. One
 * `notification_pushes` row per (notification, target) is written before anything is sent, and only
 * pending ones are sent, so a redelivered message never pushes twice to a target that took it.
 */
import { and, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { notificationPushes, notifications, pushDevices, pushSubscriptions } from "../../db/schema";
import type { Env } from "../../env";
import { chunkList, chunkRows } from "../../lib/chunk";
import { type ExpoMessage, type ExpoSendOutcome, sendExpoMessages } from "../../lib/push/expo";
import { type PushOutcome, sendWebPush } from "../../lib/push/web-push";
import { nowIso } from "../../lib/time";
import { pushConfig } from "./push-config";
import type { NotificationRow } from "./queries";

/** After this many tries a push to one target is given up on (the inbox still has the notification). */
export const MAX_PUSH_ATTEMPTS = 6;

type PushRow = typeof notificationPushes.$inferSelect;

/** What one push attempt came to, for the row that records it. */
type Result =
  | { status: "sent"; ticketId?: string }
  | { status: "gone"; detail: string }
  | { status: "failed"; detail: string }
  | { status: "retry"; retryAfterSeconds: number | null; detail: string };

/** What a phone or browser shows: small, and enough to open the right screen. */
function payloadOf(row: NotificationRow) {
  return {
    notification_id: row.id,
    kind: row.kind,
    title: row.title,
    body: row.body,
    data: row.data,
  };
}

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

/** Makes sure every target of these notifications has its push row; answers the ones still pending. */
async function pendingPushes(db: Database, rows: readonly NotificationRow[]): Promise<PushRow[]> {
  const users = [...new Set(rows.map((r) => r.userId))];
  const [subscriptions, devices] = await db.batch([
    db
      .select({ id: pushSubscriptions.id, userId: pushSubscriptions.userId })
      .from(pushSubscriptions)
      .where(inArray(pushSubscriptions.userId, users)),
    db
      .select({ id: pushDevices.id, userId: pushDevices.userId })
      .from(pushDevices)
      .where(inArray(pushDevices.userId, users)),
  ]);
  const targets = [
    ...subscriptions.map((t) => ({ ...t, channel: "web_push" as const })),
    ...devices.map((t) => ({ ...t, channel: "expo" as const })),
  ];
  const wanted = rows.flatMap((row) =>
    targets
      .filter((t) => t.userId === row.userId)
      .map((t) => ({
        notificationId: row.id,
        targetId: t.id,
        channel: t.channel,
        userId: row.userId,
        status: "pending" as const,
      })),
  );
  const ids = rows.map((r) => r.id);
  const statements: BatchItem<"sqlite">[] = chunkRows(wanted, 5).map((chunk) =>
    db.insert(notificationPushes).values(chunk).onConflictDoNothing(),
  );
  const reads = chunkList(ids, 90).map((chunk) =>
    db
      .select()
      .from(notificationPushes)
      .where(
        and(inArray(notificationPushes.notificationId, chunk), sql`${notificationPushes.status} = 'pending'`),
      ),
  );
  const [first, ...rest] = [...statements, ...reads];
  if (!first) return [];
  const results = (await db.batch([first, ...rest])) as unknown[];
  return (results.slice(statements.length) as PushRow[][]).flat();
}

/** Sends the pending pushes: web pushes in parallel, Expo's in batches; each with its own timeout. */
async function send(
  env: Env,
  db: Database,
  pending: readonly PushRow[],
  byId: ReadonlyMap<string, NotificationRow>,
  now: number,
): Promise<Map<PushRow, Result>> {
  const results = new Map<PushRow, Result>();
  const config = await pushConfig(env);
  const web = pending.filter((p) => p.channel === "web_push");
  const expo = pending.filter((p) => p.channel === "expo");
  const [subscriptions, devices] = await db.batch([
    db
      .select()
      .from(pushSubscriptions)
      .where(inArray(pushSubscriptions.id, web.length > 0 ? web.map((p) => p.targetId) : [""])),
    db
      .select()
      .from(pushDevices)
      .where(inArray(pushDevices.id, expo.length > 0 ? expo.map((p) => p.targetId) : [""])),
  ]);
  const subscriptionOf = new Map(subscriptions.map((s) => [s.id, s]));
  const deviceOf = new Map(devices.map((d) => [d.id, d]));

  const webSends = web.map(async (push) => {
    const subscription = subscriptionOf.get(push.targetId);
    const row = byId.get(push.notificationId);
    if (!subscription || !row) return results.set(push, { status: "gone", detail: "subscription removed" });
    if (!config.vapid)
      return results.set(push, { status: "failed", detail: "VAPID keys are not configured" });
    const outcome = await sendWebPush(
      { endpoint: subscription.endpoint, p256dh: subscription.p256dh, auth: subscription.auth },
      JSON.stringify(payloadOf(row)),
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
    return results.set(push, webOutcome(outcome));
  });

  const expoTargets = expo.flatMap((push) => {
    const device = deviceOf.get(push.targetId);
    const row = byId.get(push.notificationId);
    if (!device || !row) {
      results.set(push, { status: "gone", detail: "device removed" });
      return [];
    }
    const message: ExpoMessage = {
      to: device.expoPushToken,
      title: row.title,
      body: row.body,
      data: payloadOf(row),
      sound: "default",
      priority: URGENT.has(row.kind) ? "high" : "default",
    };
    return [{ push, message }];
  });
  const expoSend = (async () => {
    if (expoTargets.length === 0) return;
    const outcomes = await sendExpoMessages(
      expoTargets.map((t) => t.message),
      { baseUrl: config.expoUrl, accessToken: config.expoAccessToken, timeoutMs: config.timeoutMs },
    );
    expoTargets.forEach((t, i) => {
      const outcome = outcomes[i];
      results.set(
        t.push,
        outcome ? expoOutcome(outcome) : { status: "retry", retryAfterSeconds: null, detail: "no ticket" },
      );
    });
  })();
  await Promise.all([...webSends, expoSend]);
  return results;
}

/** The statements recording what the sends came to, removing targets the services say are gone. */
function recordStatements(db: Database, results: Map<PushRow, Result>, now: number): BatchItem<"sqlite">[] {
  const at = nowIso(now);
  const statements: BatchItem<"sqlite">[] = [];
  for (const [push, result] of results) {
    const where = and(
      eq(notificationPushes.notificationId, push.notificationId),
      eq(notificationPushes.targetId, push.targetId),
    );
    const attempts = push.attempts + 1;
    if (result.status === "retry") {
      const giveUp = attempts >= MAX_PUSH_ATTEMPTS;
      statements.push(
        db
          .update(notificationPushes)
          .set({ attempts, status: giveUp ? "failed" : "pending", detail: result.detail })
          .where(where),
      );
      continue;
    }
    statements.push(
      db
        .update(notificationPushes)
        .set({
          attempts,
          status: result.status,
          ticketId: result.status === "sent" ? (result.ticketId ?? null) : null,
          detail: result.status === "sent" ? null : result.detail,
          sentAt: result.status === "sent" ? at : null,
        })
        .where(where),
    );
    if (result.status === "gone") {
      statements.push(
        push.channel === "web_push"
          ? db.delete(pushSubscriptions).where(eq(pushSubscriptions.id, push.targetId))
          : db.delete(pushDevices).where(eq(pushDevices.id, push.targetId)),
      );
    }
    if (result.status === "sent") {
      statements.push(
        push.channel === "web_push"
          ? db
              .update(pushSubscriptions)
              .set({ lastSuccessAt: at })
              .where(eq(pushSubscriptions.id, push.targetId))
          : db.update(pushDevices).set({ lastSuccessAt: at }).where(eq(pushDevices.id, push.targetId)),
      );
    }
  }
  return statements;
}

/**
 * Marks the notifications whose pushes are all settled as done, with the channels that took them.
 * Guarded: a notification with a push still pending (to retry) stays pending.
 */
function settleStatements(db: Database, ids: readonly string[]): BatchItem<"sqlite">[] {
  return chunkList(ids, 90).map((chunk) =>
    db
      .update(notifications)
      .set({
        pushState: "done",
        channels: sql`(SELECT json_group_array(c) FROM (SELECT 'in_app' AS c WHERE ${notifications.inApp} = 1 UNION ALL SELECT DISTINCT p.channel FROM notification_pushes p WHERE p.notification_id = ${notifications.id} AND p.status = 'sent'))`,
      })
      .where(
        and(
          inArray(notifications.id, chunk),
          sql`NOT EXISTS (SELECT 1 FROM notification_pushes p WHERE p.notification_id = ${notifications.id} AND p.status = 'pending')`,
        ),
      ),
  );
}

/**
 * Pushes these delivered notifications to their users' targets. Answers, per notification that must
 * be tried again, the delay to wait (null: the consumer's own backoff).
 */
export async function pushNotifications(
  env: Env,
  db: Database,
  rows: readonly NotificationRow[],
  now: number,
): Promise<Map<string, number | null>> {
  const retry = new Map<string, number | null>();
  const due = rows.filter((r) => r.status === "delivered" && r.pushState === "pending");
  if (due.length === 0) return retry;
  const pending = await pendingPushes(db, due);
  const results =
    pending.length > 0 ? await send(env, db, pending, new Map(due.map((r) => [r.id, r])), now) : new Map();
  for (const [push, result] of results) {
    if (result.status !== "retry" || push.attempts + 1 >= MAX_PUSH_ATTEMPTS) continue;
    const earlier = retry.get(push.notificationId);
    const after = result.retryAfterSeconds;
    retry.set(
      push.notificationId,
      earlier === undefined ? after : Math.max(earlier ?? 0, after ?? 0) || null,
    );
  }
  const statements = [
    ...recordStatements(db, results, now),
    ...settleStatements(
      db,
      due.map((r) => r.id),
    ),
  ];
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  return retry;
}
