/**
 * Finished work feeds the pet: each completed step, task and focus session (of at least 5 minutes)
 * gives the user's pet treats worth the XP the work earned (before bonuses) and a little fullness and
 * happiness. The pet's object remembers each source for a week, so a redelivered event — or a step
 * reopened and completed again — feeds it once; work older than that week feeds nothing.
 */
import { inArray } from "drizzle-orm";
import { createDatabase } from "../../db";
import { userPets } from "../../db/schema";
import type { EventHandler } from "../../jobs/event-handlers";
import { chunkList } from "../../lib/chunk";
import type { EventEnvelope } from "../../lib/events";
import { focusXp, MIN_REWARDED_FOCUS_MINUTES, stepXp, taskXp } from "../gamification/xp";
import type { Nourishment } from "./live";
import { petState } from "./service";

const textOf = (value: unknown) => (typeof value === "string" ? value : "");
const numberOf = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? value : 0);

/** What an event gives the pet, if anything. */
export function nourishmentOf(event: EventEnvelope): Nourishment | undefined {
  const d = event.data;
  // An unreadable time counts as the oldest: such work is refused rather than risk feeding twice.
  const occurred_at = Date.parse(event.occurred_at) || 0;
  switch (event.type) {
    case "step.completed":
      return {
        source_key: `step:${textOf(d.step_id)}`,
        kind: "step",
        xp: stepXp(d.task_priority, d.estimated_minutes).total,
        occurred_at,
      };
    case "task.completed":
      return {
        source_key: `task:${textOf(d.task_id)}`,
        kind: "task",
        xp: taskXp(d.priority, d.estimated_minutes).total,
        occurred_at,
      };
    case "focus.completed":
      if (numberOf(d.actual_minutes) < MIN_REWARDED_FOCUS_MINUTES) return undefined;
      return {
        source_key: `focus:${textOf(d.session_id)}`,
        kind: "focus",
        xp: focusXp(d.actual_minutes).total,
        occurred_at,
      };
    default:
      return undefined;
  }
}

const FEEDING_EVENTS = new Set(["step.completed", "task.completed", "focus.completed"]);

export const petCareHandler: EventHandler = {
  name: "pet-care",
  handles: (type) => FEEDING_EVENTS.has(type),
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
