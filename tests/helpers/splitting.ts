import type { SplitResponse, StepFeedbackResponse } from "../../src/features/splitting/schemas";
import { callJson, type TestUser } from "./api";

export type Split = SplitResponse;

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
  return callJson<StepFeedbackResponse>(`/api/v1/tasks/${taskId}/steps/${stepId}/feedback`, 200, {
    method: "POST",
    token: user.token,
    body,
  });
}
