import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { microSteps, tasks } from "../../db/schema";
import type { FocusSettings } from "./kinds";
import type { ActionError } from "./machine";
import { settingsFromRow, settingsQuery } from "./settings";

export type StartContext =
  | { ok: true; settings: FocusSettings; task_id: string | null; step_id: string | null }
  | { ok: false; error: ActionError };

const missing = (what: string): StartContext => ({
  ok: false,
  error: { status: 404, code: "not_found", detail: `${what} was not found.` },
});

/**
 * What starting a session needs from D1, in one round trip: the user's settings, and proof that the
 * task or step to focus on is the user's own (another user's ids look missing). A step implies its task.
 */
export async function loadStartContext(
  db: Database,
  userId: string,
  target: { task_id?: string | undefined; step_id?: string | undefined },
): Promise<StartContext> {
  const stepQuery = db
    .select({ taskId: microSteps.taskId })
    .from(microSteps)
    .innerJoin(tasks, eq(tasks.id, microSteps.taskId))
    .where(
      and(eq(microSteps.id, target.step_id ?? ""), eq(microSteps.userId, userId), isNull(tasks.deletedAt)),
    );
  const taskQuery = db
    .select({ id: tasks.id })
    .from(tasks)
    .where(and(eq(tasks.id, target.task_id ?? ""), eq(tasks.userId, userId), isNull(tasks.deletedAt)));
  const [settingsRows, taskRows, stepRows] = await db.batch([
    settingsQuery(db, userId),
    taskQuery,
    stepQuery,
  ]);
  const settings = settingsFromRow(settingsRows[0]);
  if (target.task_id !== undefined && taskRows.length === 0) return missing("Task");
  if (target.step_id === undefined)
    return { ok: true, settings, task_id: target.task_id ?? null, step_id: null };
  const step = stepRows[0];
  if (!step || (target.task_id !== undefined && step.taskId !== target.task_id)) return missing("Step");
  return { ok: true, settings, task_id: step.taskId, step_id: target.step_id };
}
