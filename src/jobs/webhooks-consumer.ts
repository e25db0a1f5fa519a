import { createDatabase, type Database } from "../db";
import type { Env } from "../env";
import { sendDelivery } from "../features/webhooks/delivery";
import {
  abandonStatement,
  bodyOf,
  type LoadedDelivery,
  loadDeliveries,
  markDelivered,
  type Recording,
  recordAttempt,
} from "../features/webhooks/delivery-records";
import { type DeliveryMessage, DeliveryMessageSchema } from "../features/webhooks/message";
import { judgeAttempt, type Verdict } from "../features/webhooks/retry-policy";
import { loggableError } from "../lib/db-errors";
import { type EventRow, recordedEvents } from "../lib/events/outbox";
import { publishEvents } from "../lib/events/queue";
import { writeDeadLetters } from "./dead-letters";

/** A retry never arrives before its time (give or take clocks); a message that does is a twin. */
const EARLY_SLACK_MS = 5_000;

/** What one message comes to: what to write, and what to tell the queue once it is written. */
interface Handled {
  message: Message<unknown>;
  row: LoadedDelivery | null;
  recording: Recording | null;
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
  const none: Handled = { message, row: null, recording: null, delivered: false, verdict: null, dead: false };
  // Its endpoint was deleted, or the message is stale: another message (or none) is in charge.
  if (!row || row.delivery.seq !== body.seq) return none;
  if (row.delivery.status === "succeeded" || row.delivery.status === "failed") return none;
  const now = Date.now();
  // A twin of the fan-out's message (the events handler ran again) while the delivery waits for its
  // retry. Once the reconciler has re-sent a delivery (sends > 0) its seq moved on, so twins are stale
  // anyway, and its own message may well come before the backoff it wrote.
  if (
    row.delivery.status === "retrying" &&
    row.delivery.sends === 0 &&
    row.delivery.nextAttemptAt !== null &&
    Date.parse(row.delivery.nextAttemptAt) > now + EARLY_SLACK_MS
  )
    return none;
  const abandon = (reason: string): Handled => ({
    ...none,
    row,
    recording: { statements: [abandonStatement(db, row, reason, now)], fence: -1, event: null },
  });
  if (!row.webhook.enabled) return abandon("The webhook was disabled before this delivery was sent.");
  const payload = bodyOf(row);
  if (payload === null) return abandon("The event behind this delivery is gone.");
  const result = await sendDelivery(env, row.webhook, row.delivery.id, payload);
  const attemptInRound = row.delivery.attempts + 1 - row.delivery.roundBase;
  const gone = result.statusCode === 410 && row.webhook.source === "rest_hook";
  const verdict: Verdict = gone ? { status: "failed" } : judgeAttempt(result, attemptInRound);
  return {
    message,
    row,
    recording: recordAttempt(db, { row, result, verdict, attemptInRound, gone }),
    delivered: verdict.status === "succeeded",
    verdict,
    dead: verdict.status === "failed" && !gone,
  };
}

/** Writes the recordings of these messages in one batch; answers which attempts counted. */
async function write(db: Database, env: Env, items: readonly Handled[]): Promise<Set<Handled>> {
  const statements = [];
  const offsets = new Map<Handled, number>();
  for (const item of items) {
    if (!item.recording) continue;
    offsets.set(item, statements.length);
    statements.push(...item.recording.statements);
  }
  const counted = new Set<Handled>();
  const [first, ...rest] = statements;
  if (!first) return counted;
  const results = (await db.batch([first, ...rest])) as unknown[];
  const written: EventRow[][] = [];
  for (const [item, offset] of offsets) {
    const { fence, event } = item.recording ?? { fence: -1, event: null };
    const fenced = fence < 0 ? [] : results[offset + fence];
    if (Array.isArray(fenced) && fenced.length > 0) counted.add(item);
    const rows = event === null ? undefined : results[offset + event];
    if (Array.isArray(rows)) written.push(rows as EventRow[]);
  }
  await publishEvents(env.EVENTS_QUEUE, recordedEvents(...written)).catch((error: unknown) =>
    log("webhook.disabled not published; the outbox reconciler will", { error: loggableError(error) }),
  );
  return counted;
}

/** Acks or retries each message now that its attempt is written; answers the ones given up on. */
async function record(db: Database, env: Env, all: Handled[]): Promise<Message<unknown>[]> {
  const settle = (item: Handled, counted: boolean) => {
    // An attempt that did not count was overtaken (a replay, the reconciler, a twin): that one is in charge.
    if (counted && item.verdict?.status === "retrying")
      item.message.retry({ delaySeconds: item.verdict.retryAfterSeconds });
    else item.message.ack();
    return counted && item.dead ? [item.message] : [];
  };
  try {
    const counted = await write(db, env, all);
    return all.flatMap((item) => settle(item, counted.has(item)));
  } catch (error) {
    log("webhook attempts not recorded together", { error: loggableError(error) });
  }
  const dead: Message<unknown>[] = [];
  for (const item of all) {
    try {
      const counted = await write(db, env, [item]);
      dead.push(...settle(item, counted.has(item)));
    } catch (error) {
      log("webhook attempt not recorded", { error: loggableError(error), id: item.message.id });
      if (!item.delivered || !item.row) {
        item.message.retry({ delaySeconds: 60 });
        continue;
      }
      // The receiver took it: mark it delivered if D1 lets us, so nothing sends it again.
      await markDelivered(db, item.row)
        .run()
        .catch((markError: unknown) =>
          log("delivered delivery not marked", { error: loggableError(markError) }),
        );
      item.message.ack();
    }
  }
  return dead;
}

/** One message per delivery: of twins in a batch, the newest seq is kept and the rest acked. */
function withoutTwins(valid: { message: Message<unknown>; body: DeliveryMessage }[]) {
  const kept = new Map<string, { message: Message<unknown>; body: DeliveryMessage }>();
  for (const item of valid) {
    const other = kept.get(item.body.delivery_id);
    if (!other || item.body.seq > other.body.seq) {
      other?.message.ack();
      kept.set(item.body.delivery_id, item);
    } else item.message.ack();
  }
  return [...kept.values()];
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
  const unique = withoutTwins(valid);
  let rows: Awaited<ReturnType<typeof loadDeliveries>> = new Map();
  let loaded = true;
  try {
    rows = await loadDeliveries(
      db,
      unique.map((v) => v.body.delivery_id),
    );
  } catch (error) {
    log("webhook deliveries not loaded", { error: loggableError(error) });
    for (const { message } of unique) message.retry({ delaySeconds: 60 });
    loaded = false;
  }
  const handled = loaded
    ? await Promise.all(
        unique.map(({ message, body }) => handle(db, env, message, body, rows.get(body.delivery_id))),
      )
    : [];
  const dead = [...malformed, ...(await record(db, env, handled))];
  try {
    await writeDeadLetters(db, dead);
    for (const message of malformed) message.ack();
  } catch {
    for (const message of malformed) message.retry({ delaySeconds: 60 });
  }
}
