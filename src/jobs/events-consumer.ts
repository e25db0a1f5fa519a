import { eq } from "drizzle-orm";
import { createDatabase, type Database } from "../db";
import { eventReceipts, events } from "../db/schema";
import type { Env } from "../env";
import { isUniqueViolation } from "../lib/db-errors";
import type { EventEnvelope } from "../lib/events";
import { nowIso } from "../lib/time";
import { DEFAULT_HANDLERS, type EventHandler } from "./event-handlers";

/** Exponential backoff between retries of a failing event: 10 s, 20 s, 40 s … capped at 5 minutes. */
export const MAX_RETRY_DELAY_SECONDS = 300;
export function retryDelaySeconds(attempts: number): number {
  return Math.min(MAX_RETRY_DELAY_SECONDS, 2 ** Math.max(1, attempts) * 5);
}

function isEnvelope(body: unknown): body is EventEnvelope {
  if (typeof body !== "object" || body === null) return false;
  const b = body as Record<string, unknown>;
  return typeof b.id === "string" && typeof b.type === "string" && typeof b.user_id === "string";
}

/** Runs one handler for one event, at most once: its effect and its receipt commit together. */
async function runHandler(
  db: Database,
  handler: EventHandler,
  event: EventEnvelope,
): Promise<"done" | "duplicate"> {
  const receipt = db
    .insert(eventReceipts)
    .values({ eventId: event.id, handler: handler.name, processedAt: nowIso() });
  try {
    await db.batch([receipt, ...handler.statements(db, event)]);
    return "done";
  } catch (error) {
    if (isUniqueViolation(error)) return "duplicate";
    throw error;
  }
}

/** Dispatches one event to every handler that wants it, then marks the outbox row delivered. */
export async function dispatchEvent(
  db: Database,
  event: EventEnvelope,
  handlers: readonly EventHandler[] = DEFAULT_HANDLERS,
): Promise<void> {
  for (const handler of handlers) {
    if (handler.handles(event.type)) await runHandler(db, handler, event);
  }
  await db.update(events).set({ deliveredAt: nowIso() }).where(eq(events.id, event.id)).run();
}

/**
 * The events queue consumer. Each message is acked or retried on its own, so one failing event
 * (retried with backoff, then dead-lettered) does not hold back the rest of the batch.
 */
export async function consumeEvents(
  batch: MessageBatch<unknown>,
  env: Env,
  handlers: readonly EventHandler[] = DEFAULT_HANDLERS,
): Promise<void> {
  const db = createDatabase(env.DB);
  for (const message of batch.messages) {
    if (!isEnvelope(message.body)) {
      console.error(JSON.stringify({ level: "error", message: "dropping malformed event", id: message.id }));
      message.ack();
      continue;
    }
    try {
      await dispatchEvent(db, message.body, handlers);
      message.ack();
    } catch (error) {
      console.error(
        JSON.stringify({
          level: "error",
          message: "event handling failed",
          event_id: message.body.id,
          error: String(error),
        }),
      );
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}
