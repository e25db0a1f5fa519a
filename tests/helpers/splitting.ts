import { callJson, type TestUser } from "./api";
import type { Task } from "./tasks";

export interface SuggestedStep {
  step_order: number;
  description: string;
  short_label: string;
  estimated_minutes: number;
  leaf_type: string;
  reasoning: string;
  confidence: number;
}

export interface Split {
  split_id: string;
  task_id: string;
  step_id: string | null;
  split_method: string;
  scope: string;
  suggested_steps: SuggestedStep[];
  subtasks: {
    title: string;
    estimated_minutes: number;
    suggested_steps: SuggestedStep[];
    task_id: string | null;
  }[];
  total_estimated_minutes: number;
  task_estimated_minutes: number;
  energy_level: string;
  difficulty: number;
  category: string;
  reasoning: string;
  applied: boolean;
  task: (Task & { category: string | null; parent_task_id: string | null }) | null;
}

export function splitTask(
  user: TestUser,
  taskId: string,
  body: Record<string, unknown> = {},
  options: { path?: "seed" | "nested"; headers?: Record<string, string> } = {},
): Promise<Split> {
  const path = options.path === "nested" ? `/api/v1/tasks/${taskId}/split` : `/api/v1/tasks/split/${taskId}`;
  return callJson<Split>(path, 200, { method: "POST", token: user.token, body, headers: options.headers });
}

export function splitStep(
  user: TestUser,
  taskId: string,
  stepId: string,
  body: Record<string, unknown> = {},
) {
  return callJson<Split>(`/api/v1/tasks/${taskId}/steps/${stepId}/split`, 200, {
    method: "POST",
    token: user.token,
    body,
  });
}

export function rateStep(user: TestUser, taskId: string, stepId: string, body: Record<string, unknown>) {
  return callJson<{
    rating: string;
    preference: { step_minutes: number; samples: number; confidence: number };
  }>(`/api/v1/tasks/${taskId}/steps/${stepId}/feedback`, 200, { method: "POST", token: user.token, body });
}
