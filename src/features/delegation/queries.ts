import { and, desc, eq, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskAssignments, tasks } from "../../db/schema";
import type { DelegationMode } from "../../db/schema/tasks";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import type { AssignmentDto } from "./schemas";

// Task columns are aliased: D1 returns batch rows keyed by column name, so a second "status"
// would overwrite the assignment's own.
const selection = {
  a: taskAssignments,
  title: sql<string>`${tasks.title}`.as("task_title"),
  description: sql<string | null>`${tasks.description}`.as("task_description"),
  priority: sql<AssignmentDto["task"]["priority"]>`${tasks.priority}`.as("task_priority"),
  taskStatus: sql<AssignmentDto["task"]["status"]>`${tasks.status}`.as("task_status"),
  estimatedMinutes: sql<number | null>`${tasks.estimatedMinutes}`.as("task_estimated_minutes"),
};

interface AssignmentRow {
  a: typeof taskAssignments.$inferSelect;
  title: string;
  description: string | null;
  priority: AssignmentDto["task"]["priority"];
  taskStatus: AssignmentDto["task"]["status"];
  estimatedMinutes: number | null;
}

export function toAssignmentDto(row: AssignmentRow): AssignmentDto {
  const a = row.a;
  return {
    assignment_id: a.id,
    task_id: a.taskId,
    agent_id: a.agentId,
    assignee: a.assignee,
    role: a.role,
    delegation_mode: a.delegationMode as DelegationMode,
    status: a.status,
    reason: a.reason,
    created_at: a.createdAt,
    accepted_at: a.acceptedAt,
    started_at: a.startedAt,
    completed_at: a.completedAt,
    rejected_at: a.rejectedAt,
    task: {
      title: row.title,
      description: row.description,
      priority: row.priority,
      status: row.taskStatus,
      estimated_minutes: row.estimatedMinutes,
    },
  };
}

/** Assignments with the task each is about; `where` must scope them to the caller. */
export function assignmentsQuery(db: Database, where: SQL | undefined) {
  return db
    .select(selection)
    .from(taskAssignments)
    .innerJoin(tasks, eq(tasks.id, taskAssignments.taskId))
    .where(where);
}

export function assignmentByIdQuery(db: Database, userId: string, assignmentId: string, agentId?: string) {
  return assignmentsQuery(
    db,
    and(
      eq(taskAssignments.id, assignmentId),
      eq(taskAssignments.userId, userId),
      agentId ? eq(taskAssignments.agentId, agentId) : undefined,
    ),
  ).limit(1);
}

export async function listAgentAssignments(
  db: Database,
  userId: string,
  agentId: string,
  options: { status?: AssignmentDto["status"] | undefined; limit: number; afterId: string | null },
): Promise<Page<AssignmentDto>> {
  const rows = await assignmentsQuery(
    db,
    and(
      eq(taskAssignments.agentId, agentId),
      eq(taskAssignments.userId, userId),
      options.status ? eq(taskAssignments.status, options.status) : undefined,
      options.afterId ? lt(taskAssignments.id, options.afterId) : undefined,
    ),
  )
    .orderBy(desc(taskAssignments.id))
    .limit(rowsToFetch(options.limit))
    .all();
  return pageOf(rows, options.limit, toAssignmentDto, (r) => r.a.id);
}

/** What every assignment event carries, read from the assignment `a` as the batch just stored it. */
export const assignmentEventFields = {
  assignment_id: sql`a.id`,
  task_id: sql`a.task_id`,
  agent_id: sql`a.agent_id`,
  assignee: sql`a.assignee`,
  role: sql`a.role`,
};

/** The row an assignment event's data is read from. */
export const fromAssignment = (assignmentId: string) =>
  sql`FROM task_assignments a WHERE a.id = ${assignmentId}`;
