/**
 * Scores logged predictions when the truth arrives: a completed task's reported minutes score its
 * duration predictions; a check-in scores the energy prediction of its local hour.
 */
import { inArray } from "drizzle-orm";
import { users } from "../../db/schema";
import type { EventHandler } from "../../lib/events/handler";
import { localParts } from "../../lib/time";
import { levelValue } from "./energy";
import { scorePredictions } from "./prediction-log";
import { energySubject } from "./predictions";

export const learningHandler: EventHandler = {
  name: "learning",
  types: ["task.completed", "energy.logged"],
  async prepare(db, events) {
    // Check-ins are scored in their owner's local hour: one read of the delivery's time zones.
    const owners = [...new Set(events.filter((e) => e.type === "energy.logged").map((e) => e.user_id))];
    const zones = new Map<string, string>();
    if (owners.length > 0) {
      const rows = await db
        .select({ id: users.id, timezone: users.timezone })
        .from(users)
        .where(inArray(users.id, owners));
      for (const row of rows) zones.set(row.id, row.timezone);
    }
    return (event) => {
      if (event.type === "task.completed") {
        const minutes = event.data.actual_minutes;
        if (minutes === null || minutes <= 0) return { statements: [], noReceipt: true };
        return { statements: [scorePredictions(db, event.user_id, "duration", event.data.task_id, minutes)] };
      }
      if (event.type === "energy.logged") {
        const local = localParts(zones.get(event.user_id) ?? "UTC", Date.parse(event.data.at));
        const subject = energySubject(local.date, local.hour);
        return {
          statements: [scorePredictions(db, event.user_id, "energy", subject, levelValue(event.data.level))],
        };
      }
      return { statements: [], noReceipt: true };
    };
  },
};
