import { eq } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { IdempotencyContext } from "../../lib/idempotency";
import type { TaskDto } from "../tasks/schemas";
import { createTask, type WriteResult } from "../tasks/service";
import { type ParsedCapture, parseCapture } from "./parse";

export const TITLE_MAX = 300;

/** The zone the text's dates are read in: the one sent with it, else the account's. */
export async function captureTimeZone(
  db: Database,
  userId: string,
  sent: string | undefined,
): Promise<string> {
  if (sent) return sent;
  const user = await db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)).get();
  return user?.timezone ?? "UTC";
}

/**
 * Turns one line of text into a task. A title too long for a task keeps its whole text as the
 * description, so nothing the user wrote is lost.
 */
export async function captureTask(
  db: Database,
  userId: string,
  body: { text: string; timezone?: string | undefined },
  idempotency?: IdempotencyContext,
): Promise<WriteResult<TaskDto & { capture: ParsedCapture }> & { replayed: boolean }> {
  const timeZone = await captureTimeZone(db, userId, body.timezone);
  const parsed = parseCapture(body.text, { timeZone, now: new Date() });
  const result = await createTask(
    db,
    userId,
    {
      title: parsed.title.slice(0, TITLE_MAX),
      description: parsed.title.length > TITLE_MAX ? parsed.title : null,
      priority: parsed.priority ?? undefined,
      tags: parsed.tags,
      estimated_minutes: parsed.estimated_minutes,
      due_at: parsed.due_at,
    },
    idempotency,
  );
  return { ...result, body: { ...result.body, capture: parsed } };
}
