/**
 * The `notification_pushes` statements: one row per (notification, target), claimed by one delivery at
 * a time with a lease, then recorded set by set (a delivery's many pushes cost few statements).
 */
import { and, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { notificationPushes, notifications, pushDevices, pushSubscriptions } from "../../db/schema";
import { rawStatement } from "../../lib/batch";
import { chunkList, chunkRows } from "../../lib/chunk";
import { nowIso } from "../../lib/time";
import type { NotificationRow } from "./queries";

export type PushRow = typeof notificationPushes.$inferSelect;
export type Subscription = typeof pushSubscriptions.$inferSelect;
export type Device = typeof pushDevices.$inferSelect;

/** Every push target of these users, by id (users in chunks, under D1's bound-parameter limit). */
export async function targetsOf(db: Database, users: readonly string[]) {
  const subscriptions = new Map<string, Subscription>();
  const devices = new Map<string, Device>();
  for (const chunk of chunkList(users, 90)) {
    const [s, d] = await db.batch([
      db.select().from(pushSubscriptions).where(inArray(pushSubscriptions.userId, chunk)),
      db.select().from(pushDevices).where(inArray(pushDevices.userId, chunk)),
    ]);
    for (const row of s) subscriptions.set(row.id, row);
    for (const row of d) devices.set(row.id, row);
  }
  return { subscriptions, devices };
}

export type Targets = Awaited<ReturnType<typeof targetsOf>>;

/**
 * Writes the push rows these notifications lack, then claims the ones this delivery may send now:
 * pending and due (past any Retry-After), or left `sending` by a delivery whose lease lapsed. Two
 * deliveries of one notification claim disjoint rows, so no target is sent one notification twice.
 */
export async function claimPushes(
  db: Database,
  rows: readonly NotificationRow[],
  targets: Targets,
  claim: { id: string; now: number; leaseMs: number; maxAttempts: number },
): Promise<PushRow[]> {
  const all = [
    ...[...targets.subscriptions.values()].map((t) => ({
      id: t.id,
      userId: t.userId,
      channel: "web_push" as const,
    })),
    ...[...targets.devices.values()].map((t) => ({ id: t.id, userId: t.userId, channel: "expo" as const })),
  ];
  const wanted = rows.flatMap((row) =>
    all
      .filter((t) => t.userId === row.userId)
      .map((t) => ({
        notificationId: row.id,
        targetId: t.id,
        channel: t.channel,
        userId: row.userId,
        status: "pending" as const,
        attempts: 0,
      })),
  );
  const at = nowIso(claim.now);
  const inserts: BatchItem<"sqlite">[] = chunkRows(wanted, 6).map((chunk) =>
    db.insert(notificationPushes).values(chunk).onConflictDoNothing(),
  );
  const claimable = sql`((${notificationPushes.status} = 'pending' AND (${notificationPushes.nextAttemptAt} IS NULL OR ${notificationPushes.nextAttemptAt} <= ${at})) OR (${notificationPushes.status} = 'sending' AND ${notificationPushes.leaseUntil} <= ${at}))`;
  const chunks = chunkList(
    rows.map((r) => r.id),
    90,
  );
  // A push out of tries is given up here, whether its tries ended in answers or in deliveries that died.
  const exhausted = chunks.map((chunk) =>
    db
      .update(notificationPushes)
      .set({
        status: "failed",
        leaseUntil: null,
        claimId: null,
        detail: `Gave up after ${claim.maxAttempts} tries.`,
      })
      .where(
        and(
          inArray(notificationPushes.notificationId, chunk),
          claimable,
          sql`${notificationPushes.attempts} >= ${claim.maxAttempts}`,
        ),
      ),
  );
  // Each claim counts as a try, so a push whose delivery keeps dying still runs out of tries.
  const claims = chunks.map((chunk) =>
    db
      .update(notificationPushes)
      .set({
        status: "sending",
        claimId: claim.id,
        leaseUntil: nowIso(claim.now + claim.leaseMs),
        attempts: sql`${notificationPushes.attempts} + 1`,
      })
      .where(and(inArray(notificationPushes.notificationId, chunk), claimable))
      .returning(),
  );
  const [first, ...rest] = [...inserts, ...exhausted, ...claims];
  if (!first) return [];
  const results = (await db.batch([first, ...rest])) as unknown[];
  return (results.slice(inserts.length + exhausted.length) as PushRow[][]).flat();
}

/** What one send came to, as the push row records it. */
export interface PushRecord {
  push: PushRow;
  status: "pending" | "sent" | "gone" | "failed";
  ticketId: string | null;
  detail: string | null;
  /** For a push back to pending: not before this (ms). */
  nextAttemptAt: number | null;
}

/**
 * The statements recording a delivery's sends: one UPDATE … FROM (VALUES …) per 12 pushes, fenced by
 * the claim (a delivery whose lease lapsed and was taken over writes nothing), then the targets the
 * services called gone removed (only while still the push's user's) and the rest stamped.
 */
export function recordStatements(
  db: Database,
  records: readonly PushRecord[],
  claimId: string,
  now: number,
): BatchItem<"sqlite">[] {
  const at = nowIso(now);
  const statements: BatchItem<"sqlite">[] = [];
  for (const chunk of chunkList(records, 12)) {
    const values = chunk.map(
      (r) =>
        sql`(${r.push.notificationId}, ${r.push.targetId}, ${r.status}, ${r.ticketId}, ${r.detail}, ${r.nextAttemptAt === null ? null : nowIso(r.nextAttemptAt)}, ${r.status === "sent" ? at : null}, ${claimId})`,
    );
    statements.push(
      rawStatement(
        db,
        sql`UPDATE notification_pushes SET status = v.column3, ticket_id = v.column4, detail = v.column5,
        next_attempt_at = v.column6, sent_at = v.column7, lease_until = NULL, claim_id = NULL
        FROM (VALUES ${sql.join(values, sql`, `)}) AS v
        WHERE notification_pushes.notification_id = v.column1 AND notification_pushes.target_id = v.column2
          AND notification_pushes.status = 'sending' AND notification_pushes.claim_id = v.column8`,
      ),
    );
  }
  const gone = records.filter((r) => r.status === "gone");
  for (const chunk of chunkList(gone, 45)) {
    const pairs = (channel: string) =>
      chunk.filter((r) => r.push.channel === channel).map((r) => sql`(${r.push.targetId}, ${r.push.userId})`);
    const web = pairs("web_push");
    const expo = pairs("expo");
    if (web.length > 0)
      statements.push(
        db
          .delete(pushSubscriptions)
          .where(
            sql`(${pushSubscriptions.id}, ${pushSubscriptions.userId}) IN (VALUES ${sql.join(web, sql`, `)})`,
          ),
      );
    if (expo.length > 0)
      statements.push(
        db
          .delete(pushDevices)
          .where(sql`(${pushDevices.id}, ${pushDevices.userId}) IN (VALUES ${sql.join(expo, sql`, `)})`),
      );
  }
  const sent = records.filter((r) => r.status === "sent");
  for (const chunk of chunkList(sent, 90)) {
    const ids = (channel: string) =>
      chunk.filter((r) => r.push.channel === channel).map((r) => r.push.targetId);
    const web = ids("web_push");
    const expo = ids("expo");
    if (web.length > 0)
      statements.push(
        db.update(pushSubscriptions).set({ lastSuccessAt: at }).where(inArray(pushSubscriptions.id, web)),
      );
    if (expo.length > 0)
      statements.push(db.update(pushDevices).set({ lastSuccessAt: at }).where(inArray(pushDevices.id, expo)));
  }
  return statements;
}

/**
 * For users with no target left: their notifications' waiting pushes (to targets since removed) are
 * closed, so the notifications settle instead of waiting for the sweep for ever.
 */
export function closeOrphanStatements(
  db: Database,
  ids: readonly string[],
  now: number,
): BatchItem<"sqlite">[] {
  const at = nowIso(now);
  return chunkList(ids, 90).map((chunk) =>
    db
      .update(notificationPushes)
      .set({ status: "failed", detail: "The target was removed.", leaseUntil: null, claimId: null })
      .where(
        and(
          inArray(notificationPushes.notificationId, chunk),
          sql`(${notificationPushes.status} = 'pending' OR (${notificationPushes.status} = 'sending' AND ${notificationPushes.leaseUntil} <= ${at}))`,
        ),
      ),
  );
}

/**
 * Marks the notifications whose pushes have all settled as done, with the channels that took them.
 * A notification with a push still pending or being sent stays pending.
 */
export function settleStatements(db: Database, ids: readonly string[]): BatchItem<"sqlite">[] {
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
          sql`NOT EXISTS (SELECT 1 FROM notification_pushes p WHERE p.notification_id = ${notifications.id} AND p.status IN ('pending', 'sending'))`,
        ),
      ),
  );
}
