import type { MicroStepDto, TaskDto } from "../../src/features/tasks/schemas";
import { callJson, type TestUser } from "./api";

export type Step = MicroStepDto;
export type Task = TaskDto;

export function createTask(user: TestUser, body: Record<string, unknown>): Promise<Task> {
  return callJson<Task>("/api/v1/tasks", 201, { token: user.token, body });
}

/** The task as its owner reads it now, expecting 200. */
export function getTask(user: TestUser, taskId: string): Promise<Task> {
  return callJson<Task>(`/api/v1/tasks/${taskId}`, 200, { token: user.token });
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
