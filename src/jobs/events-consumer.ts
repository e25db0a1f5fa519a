import { eq, inArray } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../db";
import { eventReceipts, events } from "../db/schema";
import type { Env } from "../env";
import {
  abortIfAccountGone,
  abortIfAccountGoneOne,
  accountExists,
  existingAccountsQuery,
} from "../lib/auth/account";
import { D1Batch, isGuardAbort } from "../lib/batch";
import { chunkList } from "../lib/chunk";
import { isUniqueViolation, loggableError } from "../lib/db-errors";
import type { DomainEvent, Envelope } from "../lib/events/catalog";
import { parseEvent } from "../lib/events/envelope";
import { type EventHandler, handles } from "../lib/events/handler";
import { recordedEvents } from "../lib/events/outbox";
import { publishEvents } from "../lib/events/queue";
import { nowIso } from "../lib/time";
import { DEFAULT_HANDLERS } from "./event-handlers";

/** Exponential backoff between retries of a failing event: 10 s, 20 s, 40 s … capped at 5 minutes. */
export const MAX_RETRY_DELAY_SECONDS = 300;
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.max(1, attempts) * 5);
}

/** The account an event belongs to was deleted while it was being handled: it is dropped. */
class OwnerGone extends Error {}

/**
 * Runs one handler for one event, at most once: its effect and its receipt commit together, and only
 * while the event's account exists.
 */
async function runHandler(db: Database, handler: EventHandler, event: DomainEvent): Promise<string[]> {
  if (!handler.prepare) return [];
  const effects = (await handler.prepare(db, [event]))(event);
  if (effects.noReceipt && effects.statements.length === 0) return [];
  const receipt = db
    .insert(eventReceipts)
    .values({ eventId: event.id, handler: handler.name, processedAt: nowIso() });
  try {
    await db.batch([abortIfAccountGoneOne(db, event.user_id), receipt, ...effects.statements]);
    return effects.emits ?? [];
  } catch (error) {
    if (isUniqueViolation(error)) return [];
    if (isGuardAbort(error) && !(await accountExists(db, event.user_id))) throw new OwnerGone();
    throw error;
  }
}

/** Sends to the queue the events that handlers' statements actually wrote (guards may have held them back). */
async function publishWritten(db: Database, env: Env, ids: readonly string[]): Promise<void> {
  const written: Envelope[] = [];
  for (const chunk of chunkList([...new Set(ids)], 100)) {
    const rows = await db.select().from(events).where(inArray(events.id, chunk)).all();
    written.push(...recordedEvents(rows));
  }
  await publishEvents(env.EVENTS_QUEUE, written);
}

/** The effects outside D1 of every handler that wants these events (idempotent by contract). */
async function runAfter(env: Env, batchEvents: readonly DomainEvent[], handlers: readonly EventHandler[]) {
  for (const handler of handlers) {
    const mine = batchEvents.filter((e) => handles(handler, e.type));
    if (handler.after && mine.length > 0) await handler.after(env, mine);
  }
}

/** Events whose account was deleted: acknowledged and forgotten (their outbox rows went with it). */
function dropOrphans(orphans: readonly DomainEvent[]): void {
  if (orphans.length === 0) return;
  console.log(
    JSON.stringify({
      level: "info",
      message: "dropping events of deleted accounts",
      event_ids: orphans.map((e) => e.id),
    }),
  );
}

/** Dispatches one event to every handler that wants it, then marks the outbox row delivered. */
export async function dispatchEvent(
  db: Database,
  env: Env,
  event: DomainEvent,
  handlers: readonly EventHandler[] = DEFAULT_HANDLERS,
): Promise<void> {
  // A deleted account's events arrive late (queued before, or retried): they write nothing anywhere.
  if (!(await accountExists(db, event.user_id))) return dropOrphans([event]);
  const emitted: string[] = [];
  try {
    for (const handler of handlers) {
      if (handles(handler, event.type)) emitted.push(...(await runHandler(db, handler, event)));
    }
  } catch (error) {
    if (error instanceof OwnerGone) return dropOrphans([event]);
    throw error;
  }
  await db.update(events).set({ deliveredAt: nowIso() }).where(eq(events.id, event.id)).run();
  await publishWritten(db, env, emitted);
  await runAfter(env, [event], handlers);
}

/**
 * Handles a whole delivery in few D1 round trips: one read of the receipts already written, each
 * handler's read phase (most have none), then one batch with every pending effect, its receipt and
 * the delivered marks. If that batch loses a race (a receipt appeared meanwhile) or fails, nothing of
 * it is applied and the caller falls back to one event at a time.
 */
export async function dispatchBatch(
  db: Database,
  env: Env,
  batchEvents: DomainEvent[],
  handlers: readonly EventHandler[] = DEFAULT_HANDLERS,
): Promise<void> {
  const delivered = [...new Map(batchEvents.map((e) => [e.id, e])).values()];
  const owners = [...new Set(delivered.map((e) => e.user_id))];
  // One round trip: which accounts still exist, and the receipts already written.
  const reads = new D1Batch();
  const accountReads = chunkList(owners, 90).map((ids) => reads.add(existingAccountsQuery(db, ids)));
  const receiptReads = chunkList(
    delivered.map((e) => e.id),
    100,
  ).map((chunk) =>
    reads.add(
      db
        .select({ eventId: eventReceipts.eventId, handler: eventReceipts.handler })
        .from(eventReceipts)
        .where(inArray(eventReceipts.eventId, chunk)),
    ),
  );
  const results = await reads.run(db);
  const alive = new Set(accountReads.flatMap((read) => read(results).map((r) => r.id)));
  // A deleted account's events arrive late (queued before, or retried): they write nothing anywhere.
  dropOrphans(delivered.filter((e) => !alive.has(e.user_id)));
  const unique = delivered.filter((e) => alive.has(e.user_id));
  const ids = unique.map((e) => e.id);
  const done = new Set<string>();
  for (const read of receiptReads) for (const r of read(results)) done.add(`${r.eventId}:${r.handler}`);
  const statements: BatchItem<"sqlite">[] = [];
  const emitted: string[] = [];
  const processedAt = nowIso();
  for (const handler of handlers) {
    // Handlers with nothing to write in D1 leave no receipt either.
    if (!handler.prepare) continue;
    const pending = unique.filter((e) => handles(handler, e.type) && !done.has(`${e.id}:${handler.name}`));
    if (pending.length === 0) continue;
    const effectsOf = await handler.prepare(db, pending);
    for (const event of pending) {
      const effects = effectsOf(event);
      if (effects.noReceipt && effects.statements.length === 0) continue;
      statements.push(
        db.insert(eventReceipts).values({ eventId: event.id, handler: handler.name, processedAt }),
        ...effects.statements,
      );
      emitted.push(...(effects.emits ?? []));
    }
  }
  for (const chunk of chunkList(ids, 90)) {
    statements.push(db.update(events).set({ deliveredAt: processedAt }).where(inArray(events.id, chunk)));
  }
  // An account deleted since the read above aborts the whole batch: then each event goes on its own.
  const [first, ...rest] = [
    ...abortIfAccountGone(db, [...new Set(unique.map((e) => e.user_id))]),
    ...statements,
  ];
  if (first && statements.length > 0) await db.batch([first, ...rest]);
  await publishWritten(db, env, emitted);
  await runAfter(env, unique, handlers);
}

/**
 * The events queue consumer. The whole delivery is handled in one batch; if that fails, each
 * message is handled, acked or retried on its own, so one failing event (retried with backoff, then
 * dead-lettered) does not hold back the rest.
 */
export async function consumeEvents(
  batch: MessageBatch<unknown>,
  env: Env,
  handlers: readonly EventHandler[] = DEFAULT_HANDLERS,
): Promise<void> {
  const db = createDatabase(env.DB);
  const valid: { message: Message<unknown>; event: DomainEvent }[] = [];
  for (const message of batch.messages) {
    const parsed = parseEvent(message.body);
    if (parsed.ok) {
      valid.push({ message, event: parsed.event });
      continue;
    }
    const { kind, detail } = parsed.refusal;
    console.error(
      JSON.stringify({
        level: "error",
        message:
          kind === "malformed" ? "dropping malformed event" : "refusing an event this version does not know",
        id: message.id,
        detail,
      }),
    );
    // Junk can never be handled. An event from a newer (or broken) producer is kept: retried, then
    // dead-lettered where it can be looked at, never silently dropped.
    if (kind === "malformed") message.ack();
    else message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
  try {
    await dispatchBatch(
      db,
      env,
      valid.map((v) => v.event),
      handlers,
    );
    for (const { message } of valid) message.ack();
    return;
  } catch {
    // Fall through: find the failing event by handling them one by one.
  }
  for (const { message, event } of valid) {
    try {
      await dispatchEvent(db, env, event, handlers);
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          message: "event handling failed",
          event_id: event.id,
          error: loggableError(error),
        }),
      );
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
