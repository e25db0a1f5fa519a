import type { Database } from "../../db";
import { explainNextPick } from "./progress";
import { findNextTask } from "./queries";
import type { NextStepDto, TaskDto } from "./schemas";

const NOTHING_READY = "Nothing is ready right now. Capture something, or take a break.";

/** A task's next step: its first pending micro-step (null when none is left), with why it is the one. */
export function nextStepOf(task: TaskDto, reason: string): NextStepDto {
  return { task, step: task.micro_steps?.find((s) => s.status === "pending") ?? null, reason };
}

/** Hunter mode: the one step to do now, across the caller's ready tasks (nulls when nothing is ready). */
export async function pickNextStep(db: Database, userId: string, agentId?: string): Promise<NextStepDto> {
  const task = await findNextTask(db, userId, agentId);
  if (!task) return { task: null, step: null, reason: NOTHING_READY };
  return nextStepOf(task, explainNextPick(task, Date.now()));
}
