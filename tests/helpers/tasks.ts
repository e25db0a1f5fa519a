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
