/**
 * What a piece of finished work is worth: the one answer gamification (XP) and the pet (treats) give.
 * Pure; both consumers read the same typed events.
 */
import type { DomainEvent } from "../../lib/events/catalog";
import { focusXp, MIN_REWARDED_FOCUS_MINUTES, stepXp, taskXp, type XpBreakdown } from "./xp";

export interface FinishedWork {
  kind: "step" | "task" | "focus";
  /** The key the work pays under, once per user: `step:<id>`, `task:<id>`, `focus:<session>`. */
  source_key: string;
  /** Its XP before bonus windows and the pet's boost. */
  xp: XpBreakdown;
}

/** The ledger key a rewarded event pays under, if it can pay at all. */
export function sourceKeyOf(event: DomainEvent): string | undefined {
  switch (event.type) {
    case "step.completed":
      return `step:${event.data.step_id}`;
    case "task.completed":
      return `task:${event.data.task_id}`;
    case "focus.completed":
      return `focus:${event.data.session_id}`;
    case "xp.manual":
      return `manual:${event.data.key}`;
    default:
      return undefined;
  }
}

/** The finished work an event records, if it is worth anything. */
export function finishedWork(event: DomainEvent): FinishedWork | undefined {
  switch (event.type) {
    case "step.completed":
      return {
        kind: "step",
        source_key: `step:${event.data.step_id}`,
        xp: stepXp(event.data.task_priority, event.data.estimated_minutes),
      };
    case "task.completed":
      return {
        kind: "task",
        source_key: `task:${event.data.task_id}`,
        xp: taskXp(event.data.priority, event.data.estimated_minutes),
      };
    case "focus.completed":
      // A session stopped within its first minutes is a misclick, not focus: it earns nothing.
      if (event.data.actual_minutes < MIN_REWARDED_FOCUS_MINUTES) return undefined;
      return {
        kind: "focus",
        source_key: `focus:${event.data.session_id}`,
        xp: focusXp(event.data.actual_minutes),
      };
    default:
      return undefined;
  }
}
