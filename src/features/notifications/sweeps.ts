/**
 * The scans the minute cron runs across all users, each on an index of its own, each finding only
 * work that is due: reminders to claim, deferred notifications to release, digests to fold, pushes
 * left pending, Expo tickets ready for their receipts.
 */
import { and, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { notificationPushes, notifications, reminderClaims, tasks } from "../../db/schema";
import { chunkList, chunkRows } from "../../lib/chunk";
import { nowIso } from "../../lib/time";
import type { NotificationMessage, NotifyMessage } from "./message";
import { notifyMessages } from "./message";
import { DEFAULT_DUE_SOON_MINUTES, MAX_DUE_SOON_MINUTES } from "./preferences";
import { dueReminders, type ReminderCandidate } from "./reminders";
import { dueSoonDraft } from "./render";

/** A delivered notification's pushes this long unsettled are the sweeper's to pick up. */
const STUCK_AFTER_MS = 2 * 60_000;

/** The most rows one scan takes in one run; the next run (a minute later) takes the rest. */
export const SWEEP_LIMIT = 500;

const isoAt = (now: number) => nowIso(now);

/**
 * Open tasks with a reminder due now and not yet claimed. `tasks_open_due` bounds the scan to tasks
 * due within the longest offset; the EXISTS keeps tasks whose reminders were all claimed out of it.
 */
export async function reminderCandidates(
  db: Database,
  now: number,
  fromDueAt: string | null,
): Promise<ReminderCandidate[]> {
  const defaults = JSON.stringify(DEFAULT_DUE_SOON_MINUTES);
  const nowText = isoAt(now);
  // A run's next page starts where the last one ended, instead of walking past what it just claimed.
  const from = fromDueAt !== null && fromDueAt > nowText ? fromDueAt : null;
  const rows = await db.all<{
    task_id: string;
    user_id: string;
    title: string;
    due_at: string;
    offsets: string;
    claimed: string;
  }>(sql`
    SELECT t.id AS task_id, t.user_id, t.title, t.due_at,
      COALESCE(p.due_soon_minutes, ${defaults}) AS offsets,
      (SELECT json_group_array(c.offset_minutes) FROM reminder_claims c
        WHERE c.task_id = t.id AND c.due_at = t.due_at) AS claimed
    FROM tasks t INDEXED BY tasks_open_due
    LEFT JOIN notification_preferences p ON p.user_id = t.user_id
    WHERE t.due_at IS NOT NULL AND t.deleted_at IS NULL AND t.status IN ('pending','in_progress','blocked')
      AND t.due_at > ${nowText} AND t.due_at <= ${isoAt(now + MAX_DUE_SOON_MINUTES * 60_000)}
      ${from === null ? sql`` : sql`AND t.due_at >= ${from}`}
      AND EXISTS (
        SELECT 1 FROM json_each(COALESCE(p.due_soon_minutes, ${defaults})) o
        WHERE t.due_at <= strftime('%Y-%m-%dT%H:%M:%fZ', ${now / 1000} + o.value * 60, 'unixepoch')
          AND NOT EXISTS (SELECT 1 FROM reminder_claims c
            WHERE c.task_id = t.id AND c.offset_minutes = o.value AND c.due_at = t.due_at))
    ORDER BY t.due_at
    LIMIT ${SWEEP_LIMIT}`);
  return rows.map((r) => ({
    task_id: r.task_id,
    user_id: r.user_id,
    title: r.title,
    due_at: r.due_at,
    offsets: JSON.parse(r.offsets) as number[],
    claimed: JSON.parse(r.claimed) as number[],
  }));
}

/**
 * Claims the due reminders and answers the notify messages of the ones this run won. Two runs that
 * overlap both try, and the claims' primary key lets exactly one win each reminder. The offsets a
 * reminder stands in for are claimed as already enqueued; the one it sends waits for `markEnqueued`.
 */
export async function claimReminders(
  db: Database,
  now: number,
  fromDueAt: string | null,
): Promise<{ messages: NotifyMessage[]; lastDueAt: string | null }> {
  const candidates = await reminderCandidates(db, now, fromDueAt);
  const lastDueAt = candidates.at(-1)?.due_at ?? null;
  const plans = dueReminders(candidates, now);
  if (plans.length === 0) return { messages: [], lastDueAt };
  const claimedAt = isoAt(now);
  const rows = plans.flatMap((plan) =>
    plan.claim.map((offset) => ({
      taskId: plan.send.task_id,
      offsetMinutes: offset,
      dueAt: plan.send.due_at,
      userId: plan.send.user_id,
      claimedAt,
      enqueuedAt: offset === plan.send.offset_minutes ? null : claimedAt,
    })),
  );
  const statements = chunkRows(rows, 6).map((chunk) =>
    db
      .insert(reminderClaims)
      .values(chunk)
      .onConflictDoNothing()
      .returning({ taskId: reminderClaims.taskId, offsetMinutes: reminderClaims.offsetMinutes }),
  );
  // Every plan claims at least the offset it sends: there is always a statement.
  const [first, ...rest] = statements;
  const won = new Set(
    ((await db.batch([first!, ...rest])) as { taskId: string; offsetMinutes: number }[][])
      .flat()
      .map((c) => `${c.taskId}:${c.offsetMinutes}`),
  );
  const messages = notifyMessages(
    plans
      .filter((p) => won.has(`${p.send.task_id}:${p.send.offset_minutes}`))
      .map((p) => dueSoonDraft(p.send, now)),
    now,
  );
  return { messages, lastDueAt };
}

/** Claims that never reached the queue (a run that failed after claiming): their messages again. */
export async function unsentReminders(db: Database, now: number): Promise<NotifyMessage[]> {
  const rows = await db
    .select({
      taskId: reminderClaims.taskId,
      offsetMinutes: reminderClaims.offsetMinutes,
      dueAt: reminderClaims.dueAt,
      userId: reminderClaims.userId,
      title: tasks.title,
      // Still worth sending: the task is open, still due then, and that is still ahead.
      live: sql<number>`(${tasks.deletedAt} IS NULL AND ${tasks.status} IN ('pending','in_progress','blocked') AND ${tasks.dueAt} = ${reminderClaims.dueAt} AND ${tasks.dueAt} > ${isoAt(now)})`,
    })
    .from(reminderClaims)
    .leftJoin(tasks, eq(tasks.id, reminderClaims.taskId))
    .where(and(isNull(reminderClaims.enqueuedAt), lt(reminderClaims.claimedAt, isoAt(now - 60_000))))
    .limit(SWEEP_LIMIT)
    .all();
  const stale = rows.filter((r) => !r.live);
  // A stale claim is closed as it is (marked, not sent), so it never crowds out the live ones.
  await markEnqueued(
    db,
    stale.map((r) => ({ task_id: r.taskId, due_at: r.dueAt, offset_minutes: r.offsetMinutes })),
    now,
  );
  return notifyMessages(
    rows
      .filter((r) => r.live)
      .map((r) =>
        dueSoonDraft(
          {
            user_id: r.userId,
            task_id: r.taskId,
            title: r.title ?? "",
            due_at: r.dueAt,
            offset_minutes: r.offsetMinutes,
          },
          now,
        ),
      ),
    now,
  );
}

/** A claimed reminder, by its key. */
interface ClaimKey {
  task_id: string;
  due_at: string;
  offset_minutes: number;
}

/** The claim a due-soon message stands for. */
export const claimOf = (m: NotifyMessage): ClaimKey => m.data as unknown as ClaimKey;

/** Records that these reminders reached the queue (or, stale, need not). */
export async function markEnqueued(db: Database, keys: readonly ClaimKey[], now: number): Promise<void> {
  const statements = chunkList(keys, 30).map((chunk) =>
    db
      .update(reminderClaims)
      .set({ enqueuedAt: isoAt(now) })
      .where(
        sql`(${reminderClaims.taskId}, ${reminderClaims.offsetMinutes}, ${reminderClaims.dueAt}) IN (VALUES ${sql.join(
          chunk.map((k) => sql`(${k.task_id}, ${k.offset_minutes}, ${k.due_at})`),
          sql`, `,
        )})`,
      ),
  );
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/** The scans for deferred notifications whose quiet hours ended, folded ones whose digest is due, pushes left pending, and Expo tickets ready for receipts. */
export function waitingScans(db: Database, now: number, receiptDelayMinutes: number) {
  const at = isoAt(now);
  return [
    db
      .select({ id: notifications.id, userId: notifications.userId })
      .from(notifications)
      .where(sql`${notifications.status} = 'deferred' AND ${notifications.deliverAt} <= ${at}`)
      .limit(SWEEP_LIMIT),
    // Not DISTINCT: SQLite would walk another index for it; users are made unique below.
    db
      .select({ userId: notifications.userId })
      .from(notifications)
      .where(sql`${notifications.status} = 'folded' AND ${notifications.deliverAt} <= ${at}`)
      .limit(SWEEP_LIMIT),
    // Pushes whose message is gone (a crash, retries run out, a Retry-After past the queue's reach),
    // once none of them is waiting for its time or held by a delivery: backoffs are kept, not overridden.
    db
      .select({ id: notifications.id, userId: notifications.userId })
      .from(notifications)
      .where(
        sql`${notifications.pushState} = 'pending' AND ${notifications.createdAt} <= ${isoAt(now - STUCK_AFTER_MS)} AND ${notifications.status} = 'delivered'
          AND NOT EXISTS (SELECT 1 FROM notification_pushes p WHERE p.notification_id = ${notifications.id}
            AND ((p.status = 'pending' AND p.next_attempt_at > ${at}) OR (p.status = 'sending' AND p.lease_until > ${at})))`,
      )
      .limit(SWEEP_LIMIT),
    db
      .select({
        notification_id: notificationPushes.notificationId,
        target_id: notificationPushes.targetId,
        ticket_id: sql<string>`${notificationPushes.ticketId}`,
      })
      .from(notificationPushes)
      .where(
        sql`${notificationPushes.ticketId} IS NOT NULL AND ${notificationPushes.receiptCheckedAt} IS NULL AND ${notificationPushes.sentAt} <= ${isoAt(now - receiptDelayMinutes * 60_000)}`,
      )
      .limit(1000),
  ] as const;
}

export async function waitingWork(
  db: Database,
  now: number,
  receiptDelayMinutes: number,
): Promise<NotificationMessage[]> {
  const [deferred, folded, stuck, tickets] = await db.batch([...waitingScans(db, now, receiptDelayMinutes)]);
  return [
    ...deferred.map((r) => ({ type: "release" as const, user_id: r.userId, notification_id: r.id })),
    ...[...new Set(folded.map((r) => r.userId))].map((userId) => ({
      type: "digest" as const,
      user_id: userId,
      until: now,
    })),
    ...stuck.map((r) => ({ type: "push" as const, user_id: r.userId, notification_id: r.id })),
    ...chunkList(tickets, 100).map((pushes) => ({ type: "receipts" as const, pushes })),
  ];
}

/** Expo tickets a day old are not asked about any more (Expo keeps receipts about a day). */
export function expireOldTickets(db: Database, now: number) {
  return db
    .update(notificationPushes)
    .set({ receiptCheckedAt: isoAt(now), detail: "no receipt within a day" })
    .where(
      and(
        sql`${notificationPushes.ticketId} IS NOT NULL AND ${notificationPushes.receiptCheckedAt} IS NULL`,
        lt(notificationPushes.sentAt, isoAt(now - 24 * 3_600_000)),
        inArray(notificationPushes.channel, ["expo"]),
      ),
    );
}
