/**
 * What a replace does to the tasks the account had, in the batch that shows the imported ones: every
 * live task is deleted (softly, as DELETE /tasks/{id} does), after
 * - its open delegation assignments are cancelled and the agents' slots given back (the delegation
 *   feature's own statements: no agent keeps working on a task that is gone), and
 * - calendar imports forget the tasks they made, so importing the calendar again brings those events
 *   back instead of skipping them as tasks the person deleted.
 * Subscribers learn it from `import.completed`: `replaced` counts the tasks, `replaced_task_ids` lists
 * the first MAX_REPLACED_IDS of them by id (`replaced_task_ids_truncated` when there were more) — one
 * event, not a `task.deleted` per task, for the reason imported tasks emit no `task.created`.
 * The imported tasks are still hidden when these run, so "live" means the earlier tasks only.
 */
import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { jsonBoolean } from "../../lib/events/outbox";
import { nowIso } from "../../lib/time";
import { forgetImportedTasks } from "../calendar/import-queries";
import { cancelAssignmentsOfTasks } from "../delegation/release-service";
import { deleteLiveTasks } from "../tasks/bulk-statements";

/** Ids `import.completed` lists (about 39 KB of JSON: well within a queue message and a webhook body). */
export const MAX_REPLACED_IDS = 1_000;
export const REPLACED_REASON = "The task was deleted: an import replaced the tasks.";

const liveTasks = (userId: string): SQL =>
  sql`(SELECT id FROM tasks WHERE user_id = ${userId} AND deleted_at IS NULL)`;

/** The statements that delete the account's live tasks, with what hangs off them, in order. */
export function replaceStatements(db: Database, userId: string, now: number): BatchItem<"sqlite">[] {
  return [
    ...cancelAssignmentsOfTasks(db, userId, liveTasks(userId), REPLACED_REASON, now),
    forgetImportedTasks(db, userId, liveTasks(userId)),
    deleteLiveTasks(db, userId, nowIso(now)),
  ];
}

/** The event's list of replaced ids, read before the deletion (a JSON array). */
export const replacedIdsSql = (userId: string): SQL =>
  sql`json((SELECT json_group_array(id) FROM (SELECT id FROM tasks WHERE user_id = ${userId} AND deleted_at IS NULL ORDER BY id LIMIT ${MAX_REPLACED_IDS})))`;

/** Whether the list leaves some out, from the count the same batch stored. */
export const replacedTruncatedSql = (replaced: SQL): SQL =>
  jsonBoolean(sql`${replaced} > ${MAX_REPLACED_IDS}`);
