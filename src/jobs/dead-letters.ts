import { createDatabase, type Database } from "../db";
import { deadLetters } from "../db/schema";
import type { Env } from "../env";
import { chunkRows } from "../lib/chunk";
import { loggableError } from "../lib/db-errors";
import { newId } from "../lib/ids";
import { nowIso } from "../lib/time";

/** Which queue a dead message came from, as far as its body tells (the dead-letter queue is shared). */
export function sourceOf(body: unknown): string {
  if (typeof body !== "object" || body === null) return "unknown";
  const b = body as Record<string, unknown>;
  if (typeof b.version === "number" && typeof b.occurred_at === "string") return "events";
  if (
    b.type === "notify" ||
    b.type === "release" ||
    b.type === "push" ||
    b.type === "digest" ||
    b.type === "receipts"
  )
    return "notifications";
  if (typeof b.webhook_id === "string" || typeof b.delivery_id === "string") return "webhooks";
  if (b.type === "import.run" || b.type === "import.erase") return "imports";
  return "unknown";
}

function userOf(body: unknown): string | null {
  if (typeof body !== "object" || body === null) return null;
  const user = (body as Record<string, unknown>).user_id;
  return typeof user === "string" ? user.slice(0, 200) : null;
}

/** Bodies are kept whole up to this size; larger ones are cut (and say so). */
const MAX_BODY_CHARS = 64_000;

function bodyText(body: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(body) ?? String(body);
  } catch {
    text = String(body);
  }
  return text.length > MAX_BODY_CHARS ? `${text.slice(0, MAX_BODY_CHARS)}…[cut]` : text;
}

/** A message given up on, as it is recorded. */
export interface DeadMessage {
  id: string;
  body: unknown;
  attempts: number;
}

/** Records these messages as dead letters (once per message id). Throws when D1 does. */
export async function writeDeadLetters(db: Database, messages: readonly DeadMessage[], now = Date.now()) {
  const rows = messages.map((m) => ({
    id: newId(now),
    source: sourceOf(m.body),
    messageId: m.id,
    body: bodyText(m.body),
    attempts: m.attempts,
    userId: userOf(m.body),
    recordedAt: nowIso(now),
  }));
  const statements = chunkRows(rows, 7).map((chunk) =>
    db.insert(deadLetters).values(chunk).onConflictDoNothing(),
  );
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
}

/**
 * The dead-letter queue's consumer: every message a queue gave up on becomes a `dead_letters` row,
 * readable by administrators (GET /api/v1/admin/dead-letters), instead of a log line. Keyed by the
 * message id, so a redelivery records it once. If D1 fails the messages are retried.
 */
export async function recordDeadLetters(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  try {
    await writeDeadLetters(createDatabase(env.DB), batch.messages);
    batch.ackAll();
  } catch (error) {
    console.error(
      JSON.stringify({
        level: "error",
        message: "recording dead letters failed",
        error: loggableError(error),
      }),
    );
    batch.retryAll({ delaySeconds: 60 });
  }
}
