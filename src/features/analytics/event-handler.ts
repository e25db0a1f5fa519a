/**
 * The analytics consumer of domain events: Insight's one set of rollups (per user, local day and
 * slice) and the time record of each task, both kept exactly once per event by the handler's receipt.
 *
 * It runs after the gamification handler (src/jobs/event-handlers.ts): in a batched delivery its
 * statements come after gamification's in the same D1 transaction, and on the one-by-one fallback
 * each event's handlers still run in that order (gamification's batch commits before this one
 * starts). So the XP read from the ledger by event id is every grant the event earned, and a
 * completion is counted only when its event paid the completion's ledger source.
 */
import type { BatchItem } from "drizzle-orm/batch";
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler, HandlerEffects } from "../../lib/events/handler";
import { nowIso } from "../../lib/time";
import {
  paidBy,
  readDeliveryContext,
  rollupUpsert,
  taskKey,
  taskTimeUpsert,
  timedCountersSync,
} from "./handler-queries";
import { ANALYTICS_EVENT_TYPES, rollupOf, type Slice, slicesOf } from "./rollup-rules";

export const analyticsHandler: EventHandler = {
  name: "analytics",
  types: ANALYTICS_EVENT_TYPES,
  prepare: async (db, events) => {
    const planned = events.map((event) => ({ event, rollup: rollupOf(event) }));
    const ctx = await readDeliveryContext(db, planned);
    const byId = new Map(planned.map((p) => [p.event.id, p.rollup]));
    const now = nowIso();
    return (event: DomainEvent): HandlerEffects => {
      const rollup = byId.get(event.id) ?? rollupOf(event);
      const timezone = ctx.timezones.get(event.user_id);
      // A user who no longer exists has no analytics to keep.
      if (timezone === undefined) return { statements: [], noReceipt: true };
      const category = rollup.taskId
        ? (ctx.categories.get(taskKey(event.user_id, rollup.taskId)) ?? null)
        : null;
      const known = { timezone, category, energy: ctx.energy.get(event.id) ?? null };
      const { day, slices } = slicesOf(rollup, known);
      const guard = rollup.countsOnceAs ? paidBy(event.user_id, event.id, rollup.countsOnceAs) : undefined;
      const statements: BatchItem<"sqlite">[] = [];
      const paid = rollup.xpAt === undefined ? undefined : slicesOf({ ...rollup, at: rollup.xpAt }, known);
      if (paid === undefined || sameSlices(paid, { day, slices })) {
        statements.push(rollupUpsert(db, { event, rollup, day, slices, now }, guard));
      } else {
        statements.push(
          rollupUpsert(db, { event, rollup, day, slices, now }, guard, { counters: true, xp: false }),
          rollupUpsert(db, { event, rollup, ...paid, now }, guard, { counters: false, xp: true }),
        );
      }
      if (rollup.taskId && rollup.taskTime) {
        const task = { userId: event.user_id, taskId: rollup.taskId, now };
        const delta = rollup.taskTime;
        statements.push(
          taskTimeUpsert(db, { ...task, category, delta, completedOn: { day, slices } }, guard),
        );
        // Only a completion and focus time change a task's actual minutes (a step does not).
        if (delta.completion || delta.focusSeconds > 0) statements.push(...timedCountersSync(db, task));
      }
      return { statements };
    };
  },
};

const sameSlices = (a: { day: string; slices: Slice[] }, b: { day: string; slices: Slice[] }) =>
  a.day === b.day && JSON.stringify(a.slices) === JSON.stringify(b.slices);
