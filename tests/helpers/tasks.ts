import { callJson, type TestUser } from "./api";

export interface Step {
  step_id: string;
  task_id: string;
  position: number;
  description: string;
  status: string;
  estimated_minutes: number;
  leaf_type: string;
  completed_at: string | null;
}

export interface Task {
  task_id: string;
  title: string;
  status: string;
  priority: string;
  tags: string[];
  depends_on: string[];
  delegation_mode: string;
  is_meta_task: boolean;
  due_at: string | null;
  progress: { completed_steps: number; total_steps: number; percent: number };
  micro_steps?: Step[];
  completed_at: string | null;
}

export function createTask(user: TestUser, body: Record<string, unknown>): Promise<Task> {
  return callJson<Task>("/api/v1/tasks", 201, { token: user.token, body });
}

/**
 * Completes a step (now, or at `completed_at` for late work) and answers the task, expecting 200.
 * Tests of the completion request itself (its refusals, its round trips) call the route directly.
 */
export function completeStep(
  user: TestUser,
  taskId: string,
  stepId: string | undefined,
  body?: { completed_at: string },
): Promise<Task> {
  if (!stepId) throw new Error(`completeStep: task ${taskId} has no such step`);
  return callJson<Task>(`/api/v1/tasks/${taskId}/steps/${stepId}/complete`, 200, {
    method: "POST",
    token: user.token,
    body,
  });
}

/** Completes a whole task (its open steps are skipped) and answers it, expecting 200. */
export function completeTask(user: TestUser, taskId: string): Promise<Task> {
  return callJson<Task>(`/api/v1/tasks/${taskId}/complete`, 200, { method: "POST", token: user.token });
}
