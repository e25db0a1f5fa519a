import { and, desc, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { tasks } from "../../db/schema";
import type { DelegationMode, TaskPriority, TaskStatus } from "../../db/schema/tasks";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { scopeOf } from "../splitting/sizing";
import { OUTER_TASK_ID, visibleLive } from "../tasks/statements";
import { hoursFromMinutes } from "./units";

export const DELEGATION_TASK_FILTERS = ["all", "coding", "personal", "unassigned", "meta"] as const;
export type DelegationTaskFilter = (typeof DELEGATION_TASK_FILTERS)[number];

/** Tags that make a task coding work, as the original's dogfooding page filed them. */
export const CODING_TAGS = ["coding", "backend", "frontend", "refactor", "test"] as const;

// instr, not LIKE: D1 refuses LIKE patterns over 50 bytes, and these need no wildcards.
const isCoding = sql`(EXISTS (SELECT 1 FROM json_each(${tasks.tags}) WHERE lower(value) IN (${sql.join(
  CODING_TAGS.map((t) => sql`${t}`),
  sql`, `,
)})) OR instr(${tasks.title}, 'BE-') > 0 OR instr(${tasks.title}, 'FE-') > 0)`;
const hasOpenAssignment = sql`EXISTS (SELECT 1 FROM task_assignments x WHERE x.task_id = ${OUTER_TASK_ID}
  AND x.role = 'owner' AND x.status IN ('pending', 'accepted', 'in_progress'))`;

const FILTERS: Record<DelegationTaskFilter, SQL | undefined> = {
  all: undefined,
  coding: isCoding,
  personal: sql`NOT ${isCoding}`,
  unassigned: sql`NOT ${hasOpenAssignment}`,
  meta: sql`${tasks.isMetaTask} = 1`,
};

/** A task as the original API's delegation page read it. */
export interface DelegationTaskItem {
  task_id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  delegation_mode: DelegationMode;
  estimated_hours: number | null;
  /** The raw JSON text, as the original sent its column. */
  tags: string;
  is_meta_task: 0 | 1;
  scope: "SIMPLE" | "MULTI" | "PROJECT" | null;
  project_id: string | null;
  assigned_to: string | null;
  created_at: string;
  updated_at: string;
}

const selection = {
  id: tasks.id,
  title: tasks.title,
  description: tasks.description,
  status: tasks.status,
  priority: tasks.priority,
  delegationMode: tasks.delegationMode,
  estimatedMinutes: tasks.estimatedMinutes,
  // The column's own text: the original answered tags as the JSON string it stored.
  tags: sql<string>`${tasks.tags}`.as("tags_json"),
  isMetaTask: tasks.isMetaTask,
  parentTaskId: tasks.parentTaskId,
  assignedTo: tasks.assignedTo,
  createdAt: tasks.createdAt,
  updatedAt: tasks.updatedAt,
};

interface Row {
  id: string;
  title: string;
  description: string | null;
  status: TaskStatus;
  priority: TaskPriority;
  delegationMode: DelegationMode;
  estimatedMinutes: number | null;
  tags: string;
  isMetaTask: boolean;
  parentTaskId: string | null;
  assignedTo: string | null;
  createdAt: string;
  updatedAt: string;
}

export function toDelegationTaskItem(row: Row): DelegationTaskItem {
  return {
    task_id: row.id,
    title: row.title,
    description: row.description,
    status: row.status,
    priority: row.priority,
    delegation_mode: row.delegationMode,
    estimated_hours: hoursFromMinutes(row.estimatedMinutes),
    tags: row.tags,
    is_meta_task: row.isMetaTask ? 1 : 0,
    scope: row.estimatedMinutes === null ? null : scopeOf(row.estimatedMinutes),
    project_id: row.parentTaskId,
    assigned_to: row.assignedTo,
    created_at: row.createdAt,
    updated_at: row.updatedAt,
  };
}

/** A page of the caller's live tasks for the original API's delegation page, newest first. */
export async function delegationTasks(
  db: Database,
  userId: string,
  options: {
    filter: DelegationTaskFilter;
    limit: number;
    afterId: string | null;
    agentId?: string | undefined;
  },
): Promise<Page<DelegationTaskItem>> {
  const rows = await db
    .select(selection)
    .from(tasks)
    .where(
      and(
        visibleLive(userId, options.agentId),
        FILTERS[options.filter],
        options.afterId ? lt(tasks.id, options.afterId) : undefined,
      ),
    )
    .orderBy(desc(tasks.id))
    .limit(rowsToFetch(options.limit))
    .all();
  return pageOf(rows, options.limit, toDelegationTaskItem, (r) => r.id);
}
