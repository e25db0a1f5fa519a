/**
 * Workers AI refines, after the fact, the category the local categoriser gave a new task. Only an
 * `after` step: nothing to write with a receipt, and the update is idempotent by itself — it applies
 * only while the category is still the local one, so a redelivery finds nothing left to do, and a
 * category the user chose meanwhile (category_source "user") always wins.
 */
import { and, eq, inArray, isNull, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../../db";
import { tasks } from "../../db/schema";
import type { Env } from "../../env";
import { chunkList } from "../../lib/chunk";
import { loggableError } from "../../lib/db-errors";
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler } from "../../lib/events/handler";
import type { Categoriser } from "./categoriser";
import { refiningCategoriser } from "./choice";
import { categoriseLocally } from "./local-categoriser";

/** At most this many tasks a delivery are sent to Workers AI (a calendar import must not flood it). */
export const MAX_REFINEMENTS_PER_DELIVERY = 20;
/** Model calls in flight at once. */
export const REFINE_CONCURRENCY = 4;
/**
 * The local categoriser is right on every held-out title it is this sure of (see the README): only
 * less certain choices are worth a model call.
 */
export const REFINE_BELOW_CONFIDENCE = 0.9;

interface LocalTask {
  id: string;
  userId: string;
  title: string;
  description: string | null;
  tags: string[];
}

/** The delivery's new tasks still filed by the local categoriser, in one read. */
async function locallyFiled(db: Database, events: readonly DomainEvent[]): Promise<LocalTask[]> {
  const owners = new Map<string, string>();
  for (const event of events) {
    if (event.type === "task.created") owners.set(event.data.task_id, event.user_id);
  }
  const found: LocalTask[] = [];
  for (const ids of chunkList([...owners.keys()], 90)) {
    const rows = await db
      .select({
        id: tasks.id,
        userId: tasks.userId,
        title: tasks.title,
        description: tasks.description,
        tags: tasks.tags,
      })
      .from(tasks)
      .where(and(inArray(tasks.id, ids), eq(tasks.categorySource, "local"), isNull(tasks.deletedAt)));
    // The event's owner must own the row: an event never reaches another user's task.
    found.push(...rows.filter((row) => owners.get(row.id) === row.userId));
  }
  return found;
}

/** Runs `work` on every item, at most `limit` at a time. */
async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Asks the categoriser about each task and returns the updates for those Workers AI answered. */
export async function refinements(
  db: Database,
  categoriser: Categoriser,
  found: readonly LocalTask[],
): Promise<BatchItem<"sqlite">[]> {
  const unsure = found
    .filter((task) => categoriseLocally(task).confidence < REFINE_BELOW_CONFIDENCE)
    .slice(0, MAX_REFINEMENTS_PER_DELIVERY);
  const updates: BatchItem<"sqlite">[] = [];
  await inPool(unsure, REFINE_CONCURRENCY, async (task) => {
    const answer = await categoriser.categorise(task);
    if (answer.by !== "ai") return;
    updates.push(
      db
        .update(tasks)
        // updated_at stays: it marks a person's edits (a calendar re-import yields to those), and this is none.
        .set({ category: answer.category, categorySource: "ai" })
        .where(
          and(
            eq(tasks.id, task.id),
            eq(tasks.userId, task.userId),
            // Still the local choice: a user's later choice, or an earlier refinement, stays.
            sql`${tasks.categorySource} = 'local'`,
          ),
        ),
    );
  });
  return updates;
}

export const categoriesHandler: EventHandler = {
  name: "categories",
  types: ["task.created"],
  after: async (env: Env, events) => {
    const categoriser = refiningCategoriser(env);
    if (!categoriser) return;
    const db = createDatabase(env.DB);
    try {
      const found = await locallyFiled(db, events);
      const [first, ...rest] = await refinements(db, categoriser, found);
      if (first) await db.batch([first, ...rest]);
    } catch (error) {
      // Refining is a nicety: the local category stands, and the delivery's other work is not retried for it.
      console.error(
        JSON.stringify({
          level: "error",
          message: "category refinement failed",
          error: loggableError(error),
        }),
      );
    }
  },
};
