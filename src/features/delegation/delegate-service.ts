import { and, eq, inArray, isNull, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { agents, taskAssignments, tasks } from "../../db/schema";
import type { DelegationMode } from "../../db/schema/tasks";
import { D1Batch } from "../../lib/batch";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { recordedEvents, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { OUTER_TASK_ID } from "../tasks/statements";
import { toAgentDto } from "./agents-service";
import { assignmentByIdQuery, assignmentEventFields, fromAssignment, toAssignmentDto } from "./queries";
import type { AgentDto, AssignmentDto } from "./schemas";

export interface DelegateInput {
  task_id: string;
  delegation_mode: DelegationMode;
  prefer_agent_type?: string | undefined;
  required_capabilities?: string[] | undefined;
  /** Only this one of the user's agents may take it (the original API's assignee_id). */
  agent_id?: string | undefined;
  /** The task's estimate, stored only when it has none (the original API's estimated_hours). */
  estimated_minutes?: number | undefined;
  /**
   * The person's own assignment waits to be accepted, as the original API's clients expect (they
   * accept it next); ours starts accepted, since the person chose it.
   */
  person_starts_pending?: boolean | undefined;
}

export interface DelegationResult {
  assignment: AssignmentDto | null;
  assigned_agent: AgentDto | null;
  collaborator_assignment?: AssignmentDto | null;
  message: string;
}

const OPEN = sql`('pending', 'accepted', 'in_progress')`;
const liveTask = (userId: string, taskId: string) =>
  sql`EXISTS (SELECT 1 FROM tasks t WHERE t.id = ${taskId} AND t.user_id = ${userId} AND t.deleted_at IS NULL)`;
const noOpenAssignment = (taskId: string, role: "owner" | "collaborator") =>
  sql`NOT EXISTS (SELECT 1 FROM task_assignments x WHERE x.task_id = ${taskId} AND x.role = ${role} AND x.status IN ${OPEN})`;

/**
 * Claims the least-loaded available agent (one that has not rejected this task, when possible) in ONE statement: the subquery picks, the UPDATE takes a
 * slot only while there is one, and SQLite's single writer makes concurrent claims queue up, so no
 * agent ever goes over capacity. The claim id marks the row for the next statements of the batch.
 */
function claimAgent(
  db: Database,
  userId: string,
  taskId: string,
  claimId: string,
  role: "owner" | "collaborator",
  input: DelegateInput,
  now: number,
  requires?: SQL,
) {
  const filters: SQL[] = [
    sql`c.user_id = ${userId}`,
    sql`c.status != 'offline'`,
    sql`c.current_task_count < c.max_concurrent_tasks`,
  ];
  if (input.agent_id) filters.push(sql`c.agent_id = ${input.agent_id}`);
  if (input.prefer_agent_type) filters.push(sql`c.agent_type = ${input.prefer_agent_type}`);
  for (const capability of new Set(input.required_capabilities ?? [])) {
    filters.push(sql`EXISTS (SELECT 1 FROM json_each(c.capabilities) WHERE value = ${capability})`);
  }
  // The agents that rejected this task, read once through the (user, task) index: a subquery per
  // candidate, keyed on the task alone, read the whole assignments table once per agent.
  const rejected = sql`(SELECT r.agent_id FROM task_assignments r
    WHERE r.user_id = ${userId} AND r.task_id = ${taskId} AND r.status = 'rejected')`;
  const pick = sql`(SELECT c.id FROM agents c WHERE ${sql.join(filters, sql` AND `)}
    ORDER BY c.agent_id IN ${rejected},
      c.current_task_count * 1.0 / c.max_concurrent_tasks, c.current_task_count, c.last_active_at DESC LIMIT 1)`;
  return db
    .update(agents)
    .set({
      currentTaskCount: sql`${agents.currentTaskCount} + 1`,
      status: sql`CASE WHEN ${agents.currentTaskCount} + 1 >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`,
      lastClaimId: claimId,
      updatedAt: nowIso(now),
    })
    .where(
      and(sql`${agents.id} = ${pick}`, liveTask(userId, taskId), noOpenAssignment(taskId, role), requires),
    );
}

/** The assignment row for the agent the claim marked (nothing if no agent was claimed). */
function insertAgentAssignment(
  db: Database,
  userId: string,
  taskId: string,
  claimId: string,
  role: "owner" | "collaborator",
  mode: DelegationMode,
  now: number,
) {
  const v = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  return db.insert(taskAssignments).select(
    db
      .select({
        id: v<string>(claimId, "id"),
        userId: v<string>(userId, "user_id"),
        taskId: v<string>(taskId, "task_id"),
        agentId: sql<string>`${agents.agentId}`.as("agent_id"),
        assignee: sql<string>`'agent:' || ${agents.agentId}`.as("assignee"),
        role: v<"owner" | "collaborator">(role, "role"),
        delegationMode: v<string>(mode, "delegation_mode"),
        status: v<"pending">("pending", "status"),
        reason: sql<string | null>`NULL`.as("reason"),
        createdAt: v<string>(nowIso(now), "created_at"),
        acceptedAt: sql<string | null>`NULL`.as("accepted_at"),
        startedAt: sql<string | null>`NULL`.as("started_at"),
        completedAt: sql<string | null>`NULL`.as("completed_at"),
        rejectedAt: sql<string | null>`NULL`.as("rejected_at"),
        updatedAt: v<string>(nowIso(now), "updated_at"),
      })
      .from(agents)
      .where(eq(agents.lastClaimId, claimId)),
  );
}

/**
 * The person's own assignment (DO, and the lead of DO_WITH_ME): accepted from the start, unless
 * `pending` (an original client's, which accepts it itself).
 */
function insertPersonAssignment(
  db: Database,
  userId: string,
  taskId: string,
  id: string,
  mode: DelegationMode,
  now: number,
  pending = false,
) {
  const v = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  return db.insert(taskAssignments).select(
    db
      .select({
        id: v<string>(id, "id"),
        userId: v<string>(userId, "user_id"),
        taskId: v<string>(taskId, "task_id"),
        agentId: sql<string | null>`NULL`.as("agent_id"),
        assignee: v<string>(`user:${userId}`, "assignee"),
        role: v<"owner">("owner", "role"),
        delegationMode: v<string>(mode, "delegation_mode"),
        status: v<"accepted" | "pending">(pending ? "pending" : "accepted", "status"),
        reason: sql<string | null>`NULL`.as("reason"),
        createdAt: v<string>(nowIso(now), "created_at"),
        acceptedAt: v<string | null>(pending ? null : nowIso(now), "accepted_at"),
        startedAt: sql<string | null>`NULL`.as("started_at"),
        completedAt: sql<string | null>`NULL`.as("completed_at"),
        rejectedAt: sql<string | null>`NULL`.as("rejected_at"),
        updatedAt: v<string>(nowIso(now), "updated_at"),
      })
      .from(tasks)
      .where(
        and(
          eq(tasks.id, taskId),
          eq(tasks.userId, userId),
          isNull(tasks.deletedAt),
          noOpenAssignment(taskId, "owner"),
        ),
      ),
  );
}

function assignmentCreatedEvent(db: Database, userId: string, assignmentId: string, now: number) {
  const data = sqlData(
    "assignment.created",
    { ...assignmentEventFields, delegation_mode: sql`a.delegation_mode` },
    fromAssignment(assignmentId),
  );
  return writeEvent(db, sqlEvent("assignment.created", userId, data, now), {
    changed: { table: taskAssignments, id: taskAssignments.id, value: assignmentId },
  });
}

/** Releases the agent slots held by a task's open assignments (before they are cancelled). */
export function releaseAgentsOfTask(db: Database, userId: string, taskId: string, now: number) {
  return db
    .update(agents)
    .set({
      currentTaskCount: sql`max(0, ${agents.currentTaskCount} - 1)`,
      status: sql`CASE WHEN ${agents.status} = 'offline' THEN 'offline' WHEN ${agents.currentTaskCount} - 1 >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`,
      updatedAt: nowIso(now),
    })
    .where(
      and(
        eq(agents.userId, userId),
        sql`${agents.agentId} IN (SELECT x.agent_id FROM task_assignments x WHERE x.task_id = ${taskId} AND x.status IN ${OPEN} AND x.agent_id IS NOT NULL)`,
      ),
    );
}

export async function delegateTask(
  db: Database,
  userId: string,
  input: DelegateInput,
): Promise<{ result: DelegationResult; events: Envelope[] }> {
  const now = Date.now();
  const taskId = input.task_id;
  if (input.delegation_mode === "DELETE") return deleteByDelegation(db, userId, taskId, now);

  const ownerId = newId(now);
  const collaboratorId = newId(now);
  const mode = input.delegation_mode;
  const agentRole = mode === "DO_WITH_ME" ? "collaborator" : "owner";
  const batch = new D1Batch();

  // D1 has no interactive transactions: the claim, the assignment, the task's delegation fields and
  // the event are one batch, each statement guarded by what the one before it did.
  if (mode === "DO" || mode === "DO_WITH_ME") {
    batch.add(insertPersonAssignment(db, userId, taskId, ownerId, mode, now, input.person_starts_pending));
  }
  if (mode === "DELEGATE" || mode === "DO_WITH_ME") {
    const claimId = agentRole === "owner" ? ownerId : collaboratorId;
    // A collaborator joins only if the person's own assignment was just created.
    const requires =
      agentRole === "collaborator"
        ? sql`EXISTS (SELECT 1 FROM task_assignments o WHERE o.id = ${ownerId})`
        : undefined;
    batch.add(claimAgent(db, userId, taskId, claimId, agentRole, input, now, requires));
    batch.add(insertAgentAssignment(db, userId, taskId, claimId, agentRole, mode, now));
  }
  // Each guarded event insert follows the statement whose change it records.
  const collaboratorEvent =
    mode === "DO_WITH_ME" ? batch.add(assignmentCreatedEvent(db, userId, collaboratorId, now)) : undefined;
  batch.add(
    db
      .update(tasks)
      .set({
        delegationMode: mode,
        assignedTo: sql`(SELECT a.assignee FROM task_assignments a WHERE a.id = ${ownerId})`,
        agentType: sql`coalesce((SELECT g.agent_type FROM agents g WHERE g.last_claim_id IN (${ownerId}, ${collaboratorId})), ${tasks.agentType})`,
        ...(input.estimated_minutes !== undefined
          ? { estimatedMinutes: sql`coalesce(${tasks.estimatedMinutes}, ${input.estimated_minutes})` }
          : {}),
        updatedAt: nowIso(now),
      })
      .where(
        and(eq(tasks.id, taskId), sql`EXISTS (SELECT 1 FROM task_assignments a WHERE a.id = ${ownerId})`),
      ),
  );
  const ownerEvent = batch.add(assignmentCreatedEvent(db, userId, ownerId, now));
  const ownerRead = batch.add(assignmentByIdQuery(db, userId, ownerId));
  const collaboratorRead = batch.add(assignmentByIdQuery(db, userId, collaboratorId));
  const claimed = batch.add(
    db
      .select()
      .from(agents)
      .where(inArray(agents.lastClaimId, [ownerId, collaboratorId])),
  );
  const taskRead = batch.add(
    db
      .select({
        id: tasks.id,
        openAssignee: sql<
          string | null
        >`(SELECT a.assignee FROM task_assignments a WHERE a.task_id = ${OUTER_TASK_ID} AND a.role = 'owner' AND a.status IN ${OPEN})`,
      })
      .from(tasks)
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt))),
  );
  // Read with the rest: tells "no such agent" from "no free slot" without a round trip of its own.
  const namedAgent = input.agent_id
    ? batch.add(
        db
          .select({ id: agents.id })
          .from(agents)
          .where(and(eq(agents.userId, userId), eq(agents.agentId, input.agent_id))),
      )
    : undefined;

  let results: readonly unknown[];
  try {
    results = await batch.run(db);
  } catch (error) {
    // A concurrent delegation of the same task won: the unique open-assignment index refused ours.
    if (isUniqueViolation(error)) throw alreadyAssigned();
    throw error;
  }
  const owner = ownerRead(results)[0];
  const collaborator = collaboratorRead(results)[0];
  const agent = claimed(results)[0];
  if (!owner) {
    const task = taskRead(results)[0];
    if (!task) throw notFound("Task");
    if (namedAgent && namedAgent(results).length === 0) throw noSuchAgent();
    if (task.openAssignee && !owner) throw alreadyAssigned(task.openAssignee);
    if (input.agent_id) {
      throw new ApiError(
        503,
        "no_available_agents",
        `Agent ${input.agent_id} is offline or has no free slot; try again later.`,
      );
    }
    const kind = input.prefer_agent_type ? `"${input.prefer_agent_type}" ` : "";
    throw new ApiError(
      503,
      "no_available_agents",
      `No available ${kind}agents with free capacity${input.required_capabilities?.length ? " and the required capabilities" : ""}; register one or try again later.`,
    );
  }
  const events = recordedEvents(ownerEvent(results), collaboratorEvent ? collaboratorEvent(results) : []);
  const result: DelegationResult = {
    assignment: toAssignmentDto(owner),
    assigned_agent: agent ? toAgentDto(agent) : null,
    message:
      mode === "DO"
        ? "It's yours: assigned to you."
        : mode === "DELEGATE"
          ? `Delegated to agent ${agent?.agentId}.`
          : agent
            ? `You're doing it with agent ${agent.agentId}.`
            : "You're doing it; no agent is free to pair with right now.",
  };
  if (mode === "DO_WITH_ME")
    result.collaborator_assignment = collaborator ? toAssignmentDto(collaborator) : null;
  return { result, events };
}

function noSuchAgent() {
  const detail = "No such agent: register it with POST /api/v1/delegation/agents.";
  return validationFailed([{ field: "assignee_id", message: detail }], detail);
}

function alreadyAssigned(assignee?: string) {
  return new ApiError(
    409,
    "already_assigned",
    `This task already has an open assignment${assignee ? ` (${assignee})` : ""}; finish or reject it first.`,
  );
}

async function deleteByDelegation(
  db: Database,
  userId: string,
  taskId: string,
  now: number,
): Promise<{ result: DelegationResult; events: Envelope[] }> {
  const batch = new D1Batch();
  batch.add(releaseAgentsOfTask(db, userId, taskId, now));
  batch.add(
    db
      .update(taskAssignments)
      .set({ status: "cancelled", reason: "The task was deleted.", updatedAt: nowIso(now) })
      .where(
        and(
          eq(taskAssignments.taskId, taskId),
          eq(taskAssignments.userId, userId),
          sql`${taskAssignments.status} IN ${OPEN}`,
        ),
      ),
  );
  const deleted = batch.add(
    db
      .update(tasks)
      .set({ delegationMode: "DELETE", deletedAt: nowIso(now), updatedAt: nowIso(now) })
      .where(and(eq(tasks.id, taskId), eq(tasks.userId, userId), isNull(tasks.deletedAt)))
      .returning({ id: tasks.id }),
  );
  const written = batch.add(
    writeEvent(db, newEvent("task.deleted", userId, { task_id: taskId, delegation_mode: "DELETE" }, now), {
      changed: { table: tasks, id: tasks.id, value: taskId },
    }),
  );
  const results = await batch.run(db);
  if (deleted(results).length === 0) throw notFound("Task");
  return {
    result: {
      assignment: null,
      assigned_agent: null,
      message: "Dropped: the task is deleted and its open assignments cancelled.",
    },
    events: recordedEvents(written(results)),
  };
}
