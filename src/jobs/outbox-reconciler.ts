import { and, asc, inArray, isNull, lt, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import { events } from "../db/schema";
import type { Env } from "../env";
import { chunkList } from "../lib/chunk";
import { recordedEvents } from "../lib/events/outbox";
import { sendEvents } from "../lib/events/queue";
import { nowIso } from "../lib/time";

/** An outbox row still undelivered this long after it was written (or last re-sent) is re-sent. */
export const REDELIVERY_AFTER_MS = 5 * 60_000;
/** Rows re-sent per run; the next run takes the rest. */
export const RECONCILE_BATCH = 100;
/** After this many re-sends the row is left for a person to look at (the queue also dead-letters). */
export const MAX_SEND_ATTEMPTS = 10;

/**
 * Cron: finds outbox rows never acknowledged by a consumer and sends them to the events queue again.
 * Consumers are idempotent by event id, so a re-send of an event that was in fact handled is harmless.
 */
export async function reconcileOutbox(env: Env, now = Date.now()): Promise<number> {
  const db = createDatabase(env.DB);
  const cutoff = nowIso(now - REDELIVERY_AFTER_MS);
  const stale = await db
    .select()
    .from(events)
    .where(
      and(
        isNull(events.deliveredAt),
        lt(events.occurredAt, cutoff),
        sql`(${events.lastSentAt} IS NULL OR ${events.lastSentAt} < ${cutoff})`,
        lt(events.sendAttempts, MAX_SEND_ATTEMPTS),
      ),
    )
    .orderBy(asc(events.occurredAt))
    .limit(RECONCILE_BATCH)
    .all();
  if (stale.length === 0) return 0;
  await sendEvents(env.EVENTS_QUEUE, recordedEvents(stale));
  // 90 ids a statement, with the time, keeps each under D1's 100 bound parameters.
  const marks = chunkList(
    stale.map((e) => e.id),
    90,
  ).map((ids) =>
    db
      .update(events)
      .set({ sendAttempts: sql`${events.sendAttempts} + 1`, lastSentAt: nowIso(now) })
      .where(inArray(events.id, ids)),
  );
  const [first, ...rest] = marks;
  if (first) await db.batch([first, ...rest]);
  return stale.length;
}
