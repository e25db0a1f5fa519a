/**
 * Finished work feeds the pet: each completed step, task and focus session (of at least 5 minutes)
 * gives the user's pet treats worth the XP the work earned (before bonuses) and a little fullness and
 * happiness. The pet's object remembers each source for a week, so a redelivered event — or a step
 * reopened and completed again — feeds it once; work older than that week feeds nothing.
 */
import { inArray } from "drizzle-orm";
import { createDatabase } from "../../db";
import { userPets } from "../../db/schema";
import { chunkList } from "../../lib/chunk";
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler } from "../../lib/events/handler";
import { finishedWork } from "../gamification/work";
import type { Nourishment } from "./protocol";
import { petState } from "./service";

/** What an event gives the pet, if anything: the work's worth, as gamification counts it. */
export function nourishmentOf(event: DomainEvent): Nourishment | undefined {
  const work = finishedWork(event);
  if (!work) return undefined;
  // An unreadable time counts as the oldest: such work is refused rather than risk feeding twice.
  const occurred_at = Date.parse(event.occurred_at) || 0;
  return { source_key: work.source_key, kind: work.kind, xp: work.xp.total, occurred_at };
}

export const petCareHandler: EventHandler = {
  name: "pet-care",
  types: ["step.completed", "task.completed", "focus.completed"],
  // No prepare: nothing in D1 (and no receipt). The pet's object keeps its own record of what it was fed.
  after: async (env, events) => {
    const db = createDatabase(env.DB);
    const userIds = [...new Set(events.map((e) => e.user_id))];
    const owners = new Set<string>();
    for (const ids of chunkList(userIds, 90)) {
      const rows = await db
        .select({ userId: userPets.userId })
        .from(userPets)
        .where(inArray(userPets.userId, ids));
      for (const row of rows) owners.add(row.userId);
    }
    // One user's events in order (their pet sees its work as it happened); users side by side.
    const byUser = new Map<string, Nourishment[]>();
    for (const event of events) {
      const work = owners.has(event.user_id) ? nourishmentOf(event) : undefined;
      if (work) byUser.set(event.user_id, [...(byUser.get(event.user_id) ?? []), work]);
    }
    await Promise.all(
      [...byUser].map(async ([userId, works]) => {
        const pet = petState(env, userId);
        for (const work of works) await pet.nourish(userId, work);
      }),
    );
  },
};
