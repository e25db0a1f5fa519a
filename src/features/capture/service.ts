import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { users } from "../../db/schema";
import type { Envelope } from "../../lib/events/catalog";
import type { IdempotencyContext, WriteOutcome } from "../../lib/idempotency";
import type { TaskDto } from "../tasks/schemas";
import { createTaskAfter } from "../tasks/service";
import { type ParsedCapture, parseCapture } from "./parse";

/** A captured task: the task, and what was understood of the text. */
export type CapturedTask = TaskDto & { capture: ParsedCapture };

export const TITLE_MAX = 300;

/**
 * The account's zone, read only while the account is live (no row otherwise): a capture reads it beside
 * its idempotency key's lookup, a preview shows the account live by it.
 */
export function accountZoneQuery(db: Database, userId: string) {
  return db
    .select({ timezone: users.timezone })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deletingAt)));
}

/**
 * Turns one line of text into a task, its dates read in the zone sent with it, else the account's. A
 * title too long for a task keeps its whole text as the description, so nothing the user wrote is lost.
 * The answer (with what was understood) is stored under the idempotency key as it was given: a replay
 * the next day says "tomorrow" meant the day it did.
 */
export function captureTask(
  db: Database,
  userId: string,
  body: { text: string; timezone?: string | undefined },
  idempotency?: IdempotencyContext,
): Promise<WriteOutcome<CapturedTask, Envelope>> {
  const { timezone } = body;
  return createTaskAfter(
    db,
    userId,
    idempotency,
    async () => timezone ?? (await accountZoneQuery(db, userId).get())?.timezone ?? "UTC",
    (timeZone, now) => {
      const parsed = parseCapture(body.text, { timeZone, now: new Date(now) });
      return {
        input: {
          title: parsed.title.slice(0, TITLE_MAX),
          description: parsed.title.length > TITLE_MAX ? parsed.title : null,
          priority: parsed.priority ?? undefined,
          tags: parsed.tags,
          estimated_minutes: parsed.estimated_minutes,
          due_at: parsed.due_at,
        },
        answer: (task) => ({ ...task, capture: parsed }),
      };
    },
  );
}
