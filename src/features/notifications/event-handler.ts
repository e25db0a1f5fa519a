/**
 * Domain events that tell someone something become notify messages: rendered here, placed and written
 * by the notifications consumer. Keyed by event id, so a redelivered event enqueues a message the
 * consumer recognises, and never a second notification.
 */
import { inArray } from "drizzle-orm";
import { createDatabase } from "../../db";
import { tasks } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler } from "../../lib/events/handler";
import { enqueueNotifications, notifyMessages } from "./message";
import { draftOf, NOTIFYING_EVENTS } from "./render";

/** The task ids events name, whose titles the messages show. */
function taskIdsOf(events: readonly DomainEvent[]): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    const data = event.data as { task_id?: unknown };
    if (typeof data.task_id === "string") ids.add(data.task_id);
  }
  return [...ids];
}

export const notificationsHandler: EventHandler = {
  name: "notifications",
  types: NOTIFYING_EVENTS,
  // No prepare: the consumer's key is the receipt. `after` throws when the queue refuses, so the
  // event is retried and the notification is not lost.
  after: async (env, events) => {
    const db = createDatabase(env.DB);
    const titles = new Map<string, string>();
    for (const chunk of chunkList(taskIdsOf(events), 90)) {
      const rows = await db
        .select({ id: tasks.id, userId: tasks.userId, title: tasks.title })
        .from(tasks)
        .where(inArray(tasks.id, chunk))
        .all();
      for (const row of rows) titles.set(`${row.userId}:${row.id}`, row.title);
    }
    const drafts = events.flatMap((event) => {
      const draft = draftOf(event, { taskTitle: (id) => titles.get(`${event.user_id}:${id}`) });
      return draft ? [draft] : [];
    });
    await enqueueNotifications(env.NOTIFICATIONS_QUEUE, notifyMessages(drafts));
  },
};
