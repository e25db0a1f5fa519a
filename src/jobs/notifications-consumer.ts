import { createDatabase, type Database } from "../db";
import type { Env } from "../env";
import {
  deliveredRow,
  foldIntoDigest,
  type Handled,
  handledOf,
  releaseNotification,
  writeNotifications,
} from "../features/notifications/delivery";
import { sendLive } from "../features/notifications/live";
import {
  type NotificationMessage,
  NotificationMessageSchema,
  type NotifyMessage,
} from "../features/notifications/message";
import { pushNotifications } from "../features/notifications/push-delivery";
import { checkExpoReceipts } from "../features/notifications/receipts";
import { loggableError } from "../lib/db-errors";
import { writeDeadLetters } from "./dead-letters";
import { retryDelaySeconds } from "./events-consumer";

type Parsed = { message: Message<unknown>; body: NotificationMessage };

function logError(message: string, fields: Record<string, unknown>) {
  console.error(JSON.stringify({ level: "error", message, ...fields }));
}

/** The row one message names, for release, push and digest messages (one at a time: they are few). */
async function handleOne(db: Database, body: Exclude<NotificationMessage, NotifyMessage>, now: number) {
  switch (body.type) {
    case "release":
      return releaseNotification(db, body.user_id, body.notification_id, now);
    case "push":
      return deliveredRow(db, body.user_id, body.notification_id);
    case "digest":
      return foldIntoDigest(db, body.user_id, body.until, now);
    case "receipts":
      return undefined;
  }
}

/**
 * The notifications queue consumer: the one path every notification takes. Notify messages are
 * placed and written together (one read, one batch); then each new inbox row goes out live and every
 * delivered row with pushes pending is pushed. A message is acked once its row is written and its
 * pushes settled; a push worth retrying (429, 5xx, a timeout) retries the message after a backoff, and
 * its redelivery pushes only to the targets still pending.
 */
export async function consumeNotifications(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const db = createDatabase(env.DB);
  const now = Date.now();
  const parsed: Parsed[] = [];
  const malformed: Message<unknown>[] = [];
  for (const message of batch.messages) {
    const result = NotificationMessageSchema.safeParse(message.body);
    if (result.success) parsed.push({ message, body: result.data });
    else {
      logError("a malformed notification message goes to the dead letters", {
        id: message.id,
        detail: result.error.issues[0]?.message,
      });
      malformed.push(message);
    }
  }
  // It can never be handled, and retrying cannot change that: recorded at once, never dropped.
  try {
    await writeDeadLetters(db, malformed, now);
    for (const message of malformed) message.ack();
  } catch {
    for (const message of malformed) message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
  }
  const retry = (message: Message<unknown>, seconds: number | null = null) =>
    message.retry({ delaySeconds: seconds ?? retryDelaySeconds(message.attempts) });

  const rowsOf = new Map<Message<unknown>, Handled>();
  const notify = parsed.filter(
    (p): p is { message: Message<unknown>; body: NotifyMessage } => p.body.type === "notify",
  );
  try {
    const handled = await writeNotifications(
      db,
      notify.map((p) => p.body),
      now,
    );
    for (const p of notify) {
      const row = handledOf(handled, p.body);
      if (row) rowsOf.set(p.message, row);
      else p.message.ack();
    }
  } catch (error) {
    logError("writing notifications failed", { error: loggableError(error) });
    for (const p of notify) retry(p.message);
  }

  for (const p of parsed) {
    if (p.body.type === "notify") continue;
    try {
      if (p.body.type === "receipts") {
        await checkExpoReceipts(env, db, p.body.pushes, now);
        p.message.ack();
        continue;
      }
      const row = await handleOne(db, p.body, now);
      if (row) rowsOf.set(p.message, row);
      else p.message.ack();
    } catch (error) {
      logError("notification message failed", {
        type: p.body.type,
        id: p.message.id,
        error: loggableError(error),
      });
      retry(p.message);
    }
  }

  // Two messages may name one row (a producer's retry in the same delivery): each row goes out once.
  const handled = [...new Map([...rowsOf.values()].map((h) => [h.row.id, h])).values()];
  await sendLive(
    env,
    handled.filter((h) => h.fresh).map((h) => h.row),
  );
  let pushRetries: Map<string, number>;
  try {
    pushRetries = await pushNotifications(
      env,
      db,
      handled.map((h) => h.row),
      now,
    );
  } catch (error) {
    logError("pushing notifications failed", { error: loggableError(error) });
    for (const message of rowsOf.keys()) retry(message);
    return;
  }
  for (const [message, { row }] of rowsOf) {
    const wait = pushRetries.get(row.id);
    if (wait !== undefined) retry(message, wait);
    else message.ack();
  }
}
