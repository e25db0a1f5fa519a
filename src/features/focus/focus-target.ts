import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { microSteps, tasks } from "../../db/schema";
import type { ActionError } from "./machine";

export type FocusTarget =
  | { ok: true; task_id: string | null; step_id: string | null }
  | { ok: false; error: ActionError };

const missing = (what: string): FocusTarget => ({
  ok: false,
  error: { status: 404, code: "not_found", detail: `${what} was not found.` },
});

/**
 * The task or step a session focuses on, proven to be the user's own (another user's ids look
 * missing) in one round trip; a step implies its task. No target, no query.
 */
export async function resolveFocusTarget(
  db: Database,
  userId: string,
  target: { task_id?: string | undefined; step_id?: string | undefined },
): Promise<FocusTarget> {
  if (target.task_id === undefined && target.step_id === undefined) {
    return { ok: true, task_id: null, step_id: null };
  }
  const [taskRows, stepRows] = await db.batch([
    db
      .select({ id: tasks.id })
      .from(tasks)
      .where(and(eq(tasks.id, target.task_id ?? ""), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
    db
      .select({ taskId: microSteps.taskId })
      .from(microSteps)
      .innerJoin(tasks, eq(tasks.id, microSteps.taskId))
      .where(
        and(eq(microSteps.id, target.step_id ?? ""), eq(microSteps.userId, userId), isNull(tasks.deletedAt)),
      ),
  ]);
  if (target.task_id !== undefined && taskRows.length === 0) return missing("Task");
  if (target.step_id === undefined) return { ok: true, task_id: target.task_id ?? null, step_id: null };
  const step = stepRows[0];
  if (!step || (target.task_id !== undefined && step.taskId !== target.task_id)) return missing("Step");
  return { ok: true, task_id: step.taskId, step_id: target.step_id };
}
