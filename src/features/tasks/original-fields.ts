/**
 * The original API's task fields (hours, `project_id`, `progress_percentage`, `is_overdue`): read from
 * its clients' bodies into ours, and answered beside ours. Pure.
 */
import type { TaskStatus } from "../../db/schema/tasks";
import { hoursFromMinutes, reconcileMinutes } from "../compat/units";

/** False when minutes and hours were both sent and say different things. */
export function minutesAgree(minutes: number | null | undefined, hours: number | undefined): boolean {
  return reconcileMinutes(minutes, hours).ok;
}

function minutesOf(minutes: number | null | undefined, hours: number | undefined) {
  const reconciled = reconcileMinutes(minutes, hours);
  // The schema refused disagreeing pairs already; what is left is one of them, or both agreeing.
  return reconciled.ok ? reconciled.minutes : minutes;
}

interface OriginalInput {
  estimated_minutes?: number | null | undefined;
  actual_minutes?: number | null | undefined;
  estimated_hours?: number | undefined;
  actual_hours?: number | undefined;
}

/** The body with the original's hours stored as our minutes (minutes sent too win: they agree). */
export function withMinutes<T extends OriginalInput>(input: T): T {
  return {
    ...input,
    estimated_minutes: minutesOf(input.estimated_minutes, input.estimated_hours),
    actual_minutes: minutesOf(input.actual_minutes, input.actual_hours),
  };
}

const CLOSED: ReadonlySet<TaskStatus> = new Set(["completed", "cancelled"]);

/** What the original API's clients read on a task, from our facts. */
export function originalTaskFields(
  task: {
    parentTaskId: string | null;
    estimatedMinutes: number | null;
    actualMinutes: number | null;
    status: TaskStatus;
    dueAt: string | null;
  },
  percent: number,
  now: number,
) {
  return {
    project_id: task.parentTaskId,
    estimated_hours: hoursFromMinutes(task.estimatedMinutes),
    actual_hours: hoursFromMinutes(task.actualMinutes),
    progress_percentage: percent,
    is_overdue: task.dueAt !== null && !CLOSED.has(task.status) && Date.parse(task.dueAt) < now,
  };
}
