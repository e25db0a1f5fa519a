import type { TaskPriority } from "../../db/schema/tasks";

export interface Progress {
  completed_steps: number;
  total_steps: number;
  percent: number;
}

/** Step progress of a task; a task completed without steps (or with skipped ones) shows 100%. */
export function computeProgress(
  completedSteps: number,
  totalSteps: number,
  taskCompleted: boolean,
): Progress {
  const percent =
    taskCompleted && completedSteps < totalSteps
      ? 100
      : totalSteps === 0
        ? taskCompleted
          ? 100
          : 0
        : Math.floor((completedSteps / totalSteps) * 100);
  return { completed_steps: completedSteps, total_steps: totalSteps, percent };
}

/** Lower is more urgent; used to order Hunter mode's pick. */
export const PRIORITY_RANK: Record<TaskPriority, number> = { critical: 0, high: 1, medium: 2, low: 3 };

const HOUR_MS = 3_600_000;

/** A short, kind sentence saying why this task is the one to do now. */
export function explainNextPick(
  task: { status: string; priority: TaskPriority; due_at: string | null },
  now: number,
): string {
  const parts: string[] = [];
  if (task.status === "in_progress") parts.push("you already started it");
  if (task.due_at) {
    const hours = (Date.parse(task.due_at) - now) / HOUR_MS;
    if (hours < 0) parts.push("it is past due");
    else if (hours < 24) parts.push(`it is due in ${hours < 1 ? "under an hour" : `${Math.round(hours)} h`}`);
  }
  if (task.priority === "critical" || task.priority === "high") parts.push(`it is ${task.priority} priority`);
  if (parts.length === 0) parts.push("it is the next ready task");
  return `Do this step now: ${parts.join(", ")}.`;
}
