import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../db";
import type { Env } from "../env";
import { sendDelivery } from "../features/webhooks/delivery";
import {
  abandonStatement,
  bodyOf,
  type LoadedDelivery,
  loadDeliveries,
  recordAttempt,
} from "../features/webhooks/delivery-records";
import { type DeliveryMessage, DeliveryMessageSchema } from "../features/webhooks/message";
import { judgeAttempt, type Verdict } from "../features/webhooks/retry-policy";
import { recordedEvents } from "../lib/events/outbox";
import { publishEvents } from "../lib/events/queue";
import { writeDeadLetters } from "./dead-letters";

/** What one message comes to: its statements, and what to tell the queue once they are written. */
interface Handled {
  message: Message<unknown>;
  statements: BatchItem<"sqlite">[];
  /** The receiver has it: never send it again because recording failed. */
  delivered: boolean;
  verdict: Verdict | null;
  /** Given up on after the round's last attempt: kept as a dead letter. */
  dead: boolean;
}

const log = (message: string, fields: Record<string, unknown>) =>
  console.error(JSON.stringify({ level: "error", message, ...fields }));

/** Attempts one delivery (or drops a stale or abandoned one) and answers what to record. */
async function handle(
  db: Database,
  env: Env,
  message: Message<unknown>,
  body: DeliveryMessage,
  row: LoadedDelivery | undefined,
): Promise<Handled> {
  const none = { message, statements: [], delivered: false, verdict: null, dead: false };
  // Its endpoint was deleted, or the message is stale: another message (or none) is in charge.
  if (!row || row.delivery.seq !== body.seq) return none;
  if (row.delivery.status === "succeeded" || row.delivery.status === "failed") return none;
  const now = Date.now();
  if (!row.webhook.enabled)
    return {
      ...none,
      statements: [abandonStatement(db, row, "The webhook was disabled before this delivery was sent.", now)],
    };
  const payload = bodyOf(row);
  if (payload === null)
    return {
      ...none,
      statements: [abandonStatement(db, row, "The event behind this delivery is gone.", now)],
    };
  const result = await sendDelivery(env, row.webhook, row.delivery.id, payload);
  const verdict = judgeAttempt(result, row.delivery.attempts + 1 - row.delivery.roundBase);
  const gone = result.statusCode === 410 && row.webhook.source === "rest_hook";
  const final: Verdict = gone ? { status: "failed" } : verdict;
  return {
    message,
    statements: recordAttempt(db, row, result, final, gone),
    delivered: final.status === "succeeded",
    verdict: final,
    dead: final.status === "failed" && !gone,
  };
}

/** Acks or retries the message now that its statements are written. */
function settle({ message, verdict }: Handled): void {
  if (verdict?.status === "retrying") message.retry({ delaySeconds: verdict.retryAfterSeconds });
  else message.ack();
}

/** Writes the statements of every handled message, in one batch if it can, one message at a time if not. */
async function record(db: Database, env: Env, all: Handled[]): Promise<Handled[]> {
  const run = async (items: Handled[]) => {
    const statements = items.flatMap((h) => h.statements);
    const [first, ...rest] = statements;
    if (!first) return;
    const results = (await db.batch([first, ...rest])) as unknown[];
    // The `webhook.disabled` events the batch wrote (those are the only rows statements return here).
    const written = results.filter((r): r is Parameters<typeof recordedEvents>[0] => Array.isArray(r));
    await publishEvents(env.EVENTS_QUEUE, recordedEvents(...written)).catch((error: unknown) =>
      log("webhook.disabled not published; the outbox reconciler will", { error: String(error) }),
    );
  };
  try {
    await run(all);
    return all;
  } catch (error) {
    log("webhook attempts not recorded together", { error: String(error) });
  }
  const recorded: Handled[] = [];
  for (const handled of all) {
    try {
      await run([handled]);
      recorded.push(handled);
    } catch (error) {
      log("webhook attempt not recorded", { error: String(error), id: handled.message.id });
      // A delivery the receiver took is not sent again because its log line could not be written.
      if (handled.delivered) recorded.push(handled);
      else handled.message.retry({ delaySeconds: 60 });
    }
  }
  return recorded;
}

/**
 * The webhooks queue consumer: each message says "send delivery X". One query loads every delivery
 * of the batch with its endpoint and event; the sends run side by side (one slow receiver holds back
 * no other); one batch records them all. A failure is retried with backoff and jitter through the
 * queue's per-message delay; after the round's last attempt the delivery is failed and dead-lettered.
 */
export async function consumeWebhooks(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDatabase(env.DB);
  const malformed: Message<unknown>[] = [];
  const valid: { message: Message<unknown>; body: DeliveryMessage }[] = [];
  for (const message of batch.messages) {
    const parsed = DeliveryMessageSchema.safeParse(message.body);
    if (parsed.success) valid.push({ message, body: parsed.data });
    else malformed.push(message);
  }
  let rows: Awaited<ReturnType<typeof loadDeliveries>>;
  try {
    rows = await loadDeliveries(
      db,
      valid.map((v) => v.body.delivery_id),
    );
  } catch (error) {
    log("webhook deliveries not loaded", { error: String(error) });
    for (const { message } of valid) message.retry({ delaySeconds: 60 });
    rows = new Map();
    valid.length = 0;
  }
  const handled = await Promise.all(
    valid.map(({ message, body }) => handle(db, env, message, body, rows.get(body.delivery_id))),
  );
  const dead: Message<unknown>[] = [...malformed];
  for (const h of await record(db, env, handled)) {
    settle(h);
    if (h.dead) dead.push(h.message);
  }
  try {
    await writeDeadLetters(db, dead);
    for (const message of malformed) message.ack();
  } catch {
    for (const message of malformed) message.retry({ delaySeconds: 60 });
  }
}
