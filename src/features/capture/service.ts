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

/** The account's zone (no row for an account being deleted): read beside the idempotency key's lookup. */
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
export async function captureTask(
  db: Database,
  userId: string,
  body: { text: string; timezone?: string | undefined },
  idempotency?: IdempotencyContext,
): Promise<WriteOutcome<CapturedTask, Envelope>> {
  let zone = body.timezone ?? "UTC";
  const outcome = await createTaskAfter(
    db,
    userId,
    idempotency,
    async () => {
      if (body.timezone === undefined) zone = (await accountZoneQuery(db, userId).get())?.timezone ?? zone;
      return zone;
    },
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
  // Answers stored before they kept what was understood hold the task alone: it is read again.
  if (!("capture" in outcome.body)) {
    const task: TaskDto = outcome.body;
    return {
      ...outcome,
      body: { ...task, capture: parseCapture(body.text, { timeZone: zone, now: new Date() }) },
    };
  }
  return outcome;
}
