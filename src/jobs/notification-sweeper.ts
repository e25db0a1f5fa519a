import { createDatabase } from "../db";
import type { Env } from "../env";
import { enqueueNotifications } from "../features/notifications/message";
import {
  claimOf,
  claimReminders,
  expireOldTickets,
  markEnqueued,
  unsentReminders,
  waitingWork,
} from "../features/notifications/sweeps";

/**
 * Pages of due reminders one run claims (SWEEP_LIMIT each, about 50 D1 statements a page): 5,000
 * reminders a minute, within D1's 1,000 statements per invocation; a longer backlog waits a minute.
 */
const MAX_REMINDER_PAGES = 10;

/** Expo suggests asking for receipts about 15 minutes after sending. */
const DEFAULT_RECEIPT_DELAY_MINUTES = 15;

/**
 * Cron, every minute: finds the notification work that is due and enqueues it — nothing else. Due-soon
 * reminders are claimed exactly once however often the job runs or overlaps; each reminder is marked
 * once it reached the queue, and a run that failed in between is made good by the next.
 */
export async function sweepNotifications(
  env: Env,
  now = Date.now(),
): Promise<{ reminders: number; other: number }> {
  const db = createDatabase(env.DB);
  let reminders = await unsentReminders(db, now);
  let sent = 0;
  let from: string | null = null;
  // A page at a time, each enqueued and marked before the next is claimed: a run that dies midway
  // leaves at most one page for the next run's `unsentReminders`.
  for (let page = 0; page < MAX_REMINDER_PAGES; page++) {
    const claimed = await claimReminders(db, now, from);
    // Stamped as they leave, so enqueue-to-inbox latency does not count the run's earlier pages.
    const leaving = [...reminders, ...claimed.messages].map((m) => ({ ...m, enqueued_at: Date.now() }));
    await enqueueNotifications(env.NOTIFICATIONS_QUEUE, leaving);
    await markEnqueued(db, leaving.map(claimOf), now);
    sent += leaving.length;
    reminders = [];
    if (claimed.lastDueAt === null) break;
    from = claimed.lastDueAt;
  }
  const delay = Number(env.EXPO_RECEIPT_DELAY_MINUTES ?? DEFAULT_RECEIPT_DELAY_MINUTES);
  const [, waiting] = await Promise.all([
    expireOldTickets(db, now).run(),
    waitingWork(db, now, Number.isFinite(delay) && delay >= 0 ? delay : DEFAULT_RECEIPT_DELAY_MINUTES),
  ]);
  await enqueueNotifications(env.NOTIFICATIONS_QUEUE, waiting);
  return { reminders: sent, other: waiting.length };
}
