/** The original API's answers about steps and progress, from our task. Pure. */
import { stepXp } from "../gamification/xp";
import type { TaskDto } from "../tasks/schemas";
import type { LegacyStepCompletion, LegacyTaskProgress } from "./micro-steps-schemas";

export function legacyProgress(task: TaskDto): LegacyTaskProgress {
  const percent = task.progress.percent;
  const remaining = (task.micro_steps ?? [])
    .filter((s) => s.status === "pending")
    .reduce((sum, s) => sum + s.estimated_minutes, 0);
  return {
    task_id: task.task_id,
    total_steps: task.progress.total_steps,
    completed_steps: task.progress.completed_steps,
    progress_percentage: percent,
    progress_percent: percent,
    completion_percentage: percent,
    estimated_time_remaining: remaining,
  };
}

/**
 * A step completion as the original answered it. `completedNow` says whether this call did it: only
 * then did it earn XP (the amount the XP consumer grants for it, before any bonus window).
 */
export function legacyCompletion(
  task: TaskDto,
  stepId: string,
  completedNow: boolean,
  actualMinutes: number | undefined,
): LegacyStepCompletion {
  const step = task.micro_steps?.find((s) => s.step_id === stepId);
  const xp = completedNow ? stepXp(task.priority, step?.estimated_minutes).total : 0;
  return {
    step_id: stepId,
    task_id: task.task_id,
    status: "completed",
    is_completed: true,
    completed_at: step?.completed_at ?? null,
    actual_minutes: actualMinutes ?? null,
    xp_earned: xp,
    xp_awarded: xp,
    message: completedNow ? `Nice — step done! +${xp} XP.` : "Already done.",
    task_progress: {
      total_steps: task.progress.total_steps,
      completed_steps: task.progress.completed_steps,
      progress_percentage: task.progress.percent,
    },
  };
}
