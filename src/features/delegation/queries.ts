import { and, desc, eq, isNull, lt, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskAssignments, tasks } from "../../db/schema";
import type { DelegationMode } from "../../db/schema/tasks";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { hoursFromMinutes } from "../compat/units";
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
  actualMinutes: sql<number | null>`${tasks.actualMinutes}`.as("task_actual_minutes"),
  // The person's name for the original API's assignee_id: read only for the person's own rows.
  personName: sql<
    string | null
  >`CASE WHEN ${taskAssignments.agentId} IS NULL THEN (SELECT u.username FROM users u WHERE u.id = ${taskAssignments.userId}) END`.as(
    "assignee_username",
  ),
};

interface AssignmentRow {
  a: typeof taskAssignments.$inferSelect;
  title: string;
  description: string | null;
  priority: AssignmentDto["task"]["priority"];
  taskStatus: AssignmentDto["task"]["status"];
  estimatedMinutes: number | null;
  actualMinutes: number | null;
  personName: string | null;
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
    assignee_id: a.agentId ?? row.personName ?? "me",
    assignee_type: a.agentId === null ? "human" : "agent",
    assigned_at: a.createdAt,
    estimated_hours: hoursFromMinutes(row.estimatedMinutes),
    actual_hours: hoursFromMinutes(row.actualMinutes),
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

export interface AssignmentPageOptions {
  status?: AssignmentDto["status"] | undefined;
  limit: number;
  afterId: string | null;
}

/**
 * The rows of a page of the assignments of one of the user's agents, or with `agentId` null, of the
 * person's own (DO, and the lead of DO_WITH_ME), newest first.
 */
export function agentAssignmentsQuery(
  db: Database,
  userId: string,
  agentId: string | null,
  options: AssignmentPageOptions,
) {
  return assignmentsQuery(
    db,
    and(
      agentId === null ? isNull(taskAssignments.agentId) : eq(taskAssignments.agentId, agentId),
      eq(taskAssignments.userId, userId),
      options.status ? eq(taskAssignments.status, options.status) : undefined,
      options.afterId ? lt(taskAssignments.id, options.afterId) : undefined,
    ),
  )
    .orderBy(desc(taskAssignments.id))
    .limit(rowsToFetch(options.limit));
}

export function assignmentPage(rows: readonly AssignmentRow[], limit: number): Page<AssignmentDto> {
  return pageOf(rows, limit, toAssignmentDto, (r) => r.a.id);
}

export async function listAgentAssignments(
  db: Database,
  userId: string,
  agentId: string | null,
  options: AssignmentPageOptions,
): Promise<Page<AssignmentDto>> {
  return assignmentPage(await agentAssignmentsQuery(db, userId, agentId, options).all(), options.limit);
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
