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
import type { DomainEvent } from "../../lib/events/catalog";
import type { EventHandler, HandlerEffects } from "../../lib/events/handler";
import { nowIso } from "../../lib/time";
import { paidBy, readDeliveryContext, rollupUpsert, taskTimeUpsert } from "./handler-queries";
import { ANALYTICS_EVENT_TYPES, rollupOf, slicesOf } from "./rollup-rules";

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
      const category = rollup.taskId ? (ctx.categories.get(rollup.taskId) ?? null) : null;
      const { day, slices } = slicesOf(rollup, {
        timezone,
        category,
        energy: ctx.energy.get(event.id) ?? null,
      });
      const guard = rollup.countsOnceAs ? paidBy(event.user_id, event.id, rollup.countsOnceAs) : undefined;
      const statements = [rollupUpsert(db, { event, rollup, day, slices, now }, guard)];
      if (rollup.taskId && rollup.taskTime) {
        statements.push(
          taskTimeUpsert(
            db,
            { userId: event.user_id, taskId: rollup.taskId, category, delta: rollup.taskTime, now },
            guard,
          ),
        );
      }
      return { statements };
    };
  },
};
