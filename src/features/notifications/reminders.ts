import type { DueTask } from "./render";

/** Reminders this close to the one being sent are not sent on their own. */
export const NEAR_MS = 5 * 60_000;

/** An open task with a due time inside the reminder window, as the scan reads it. */
export interface ReminderCandidate {
  user_id: string;
  task_id: string;
  title: string;
  due_at: string;
  /** The user's offsets (minutes before due). */
  offsets: readonly number[];
  /** Offsets already claimed for this due time. */
  claimed: readonly number[];
}

/** What one run of the job does for one task: the offsets it claims, and the one reminder it sends. */
export interface ReminderPlan {
  claim: number[];
  send: DueTask;
}

/**
 * The reminders due now. An offset is due once the task is that close to its due time. When several
 * are due at once (a task created 10 minutes before it is due, or a run that came late), only the
 * closest is sent and the others are claimed with it: one nudge, never a burst of stale ones. So is
 * an offset that would come due within NEAR_MS (60 minutes' reminder at 16 minutes: 15's is folded in).
 */
export function dueReminders(candidates: readonly ReminderCandidate[], now: number): ReminderPlan[] {
  const plans: ReminderPlan[] = [];
  for (const task of candidates) {
    const left = Date.parse(task.due_at) - now;
    if (!(left > 0)) continue;
    const open = task.offsets.filter((o) => !task.claimed.includes(o));
    const due = open.filter((o) => o * 60_000 >= left);
    if (due.length === 0) continue;
    const closest = Math.min(...due);
    // An offset a few minutes off would nudge again right after this one: it is folded into it.
    const near = open.filter((o) => o < closest && left - o * 60_000 <= NEAR_MS);
    plans.push({
      claim: [...due, ...near],
      send: {
        user_id: task.user_id,
        task_id: task.task_id,
        title: task.title,
        due_at: task.due_at,
        offset_minutes: closest,
      },
    });
  }
  return plans;
}
