import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { microSteps, tasks } from "../../db/schema";
import { jsonBoolean, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { nowIso } from "../../lib/time";
import { OUTER_TASK_ID } from "./queries";

/**
 * Statements that complete a task, with its `task.completed` event written only if this request
 * made the change. `whenStepsDone` completes it only if no step is pending and one was completed
 * (the last step was just finished); otherwise leftover pending steps are marked skipped.
 */
export function completionStatements(
  db: Database,
  userId: string,
  taskId: string,
  now: number,
  options: {
    whenStepsDone: boolean /** an extra condition, e.g. "this request made its change" */;
    guard?: SQL;
    /** When the work was done, if earlier than `now` (a completion synced late). */
    completedAt?: number;
  },
) {
  const doneAt = options.completedAt ?? now;
  const guard = options.whenStepsDone
    ? sql`NOT EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'pending')
        AND EXISTS (SELECT 1 FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed')`
    : sql`1 = 1`;
  // Finished by its last step, a task is done when its latest step was: a step synced late (an offline
  // app) must not move the whole task, its XP and streak day, back to that step's time.
  const completedAt = options.whenStepsDone
    ? sql`coalesce((SELECT max(s.completed_at) FROM micro_steps s WHERE s.task_id = ${OUTER_TASK_ID} AND s.status = 'completed'), ${nowIso(doneAt)})`
    : nowIso(doneAt);
  const complete = db
    .update(tasks)
    .set({ status: "completed", completedAt, updatedAt: nowIso(now) })
    .where(
      and(
        eq(tasks.id, taskId),
        eq(tasks.userId, userId),
        isNull(tasks.deletedAt),
        sql`${tasks.status} != 'completed'`,
        guard,
        options.guard,
      ),
    );
  const data = sqlData("task.completed", {
    task_id: sql`t.id`,
    title: sql`t.title`,
    priority: sql`t.priority`,
    estimated_minutes: sql`t.estimated_minutes`,
    actual_minutes: sql`t.actual_minutes`,
    is_meta_task: jsonBoolean(sql`t.is_meta_task`),
    created_at: sql`t.created_at`,
    completed_steps: sql`(SELECT count(*) FROM micro_steps s WHERE s.task_id = t.id AND s.status = 'completed')`,
  });
  const event = writeEvent(
    db,
    sqlEvent(
      "task.completed",
      userId,
      sql`(SELECT ${data} FROM tasks t WHERE t.id = ${taskId})`,
      doneAt,
      sql`(SELECT t.completed_at FROM tasks t WHERE t.id = ${taskId})`,
    ),
    { changed: { table: tasks, id: tasks.id, value: taskId } },
  );
  const skipRest = db
    .update(microSteps)
    .set({ status: "skipped", updatedAt: nowIso(now) })
    .where(
      and(eq(microSteps.taskId, taskId), eq(microSteps.userId, userId), eq(microSteps.status, "pending")),
    );
  return { complete, event, skipRest };
}
