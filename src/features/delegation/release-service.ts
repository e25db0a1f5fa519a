import { and, eq, inArray, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { agents, apiTokens, taskAssignments, tasks } from "../../db/schema";
import type { AssignmentStatus } from "../../db/schema/delegation";
import type { Principal } from "../../lib/auth/principal";
import { ApiError, notFound } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { nowIso } from "../../lib/time";
import { requireOwner } from "./agents-service";
import { delegateTask } from "./delegate-service";

/** The agent whose work goes back to the pool. */
export interface LeavingAgent {
  userId: string;
  agentId: string;
  agentType: string;
}

export const REMOVED_REASON = "The agent was removed.";

const OPEN_STATUSES = sql`('pending', 'accepted', 'in_progress')`;

/**
 * Ends the open assignments of many tasks at once, for a bulk writer that deletes them (an import's
 * replace), as deleting one task by delegation does: each agent gets back one slot per task it held,
 * and the assignments are cancelled with `reason`. `taskIds` is a subquery of task ids; run both
 * statements, in this order, in the batch that deletes the tasks, before the deletion.
 */
export function cancelAssignmentsOfTasks(
  db: Database,
  userId: string,
  taskIds: SQL,
  reason: string,
  now: number,
) {
  // Qualified by hand: inside the subquery a bare agent_id would be x's own.
  const held = sql`(SELECT count(DISTINCT x.task_id) FROM task_assignments x
    WHERE x.user_id = ${userId} AND x.agent_id = ${sql.raw('"agents"."agent_id"')} AND x.status IN ${OPEN_STATUSES}
      AND x.task_id IN ${taskIds})`;
  return [
    db
      .update(agents)
      .set({
        currentTaskCount: sql`max(0, ${agents.currentTaskCount} - ${held})`,
        status: sql`CASE WHEN ${agents.status} = 'offline' THEN 'offline' WHEN ${agents.currentTaskCount} - ${held} >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`,
        updatedAt: nowIso(now),
      })
      .where(
        and(
          eq(agents.userId, userId),
          sql`${agents.agentId} IN (SELECT x.agent_id FROM task_assignments x
            WHERE x.user_id = ${userId} AND x.status IN ${OPEN_STATUSES} AND x.agent_id IS NOT NULL
              AND x.task_id IN ${taskIds})`,
        ),
      ),
    db
      .update(taskAssignments)
      .set({ status: "cancelled", reason, updatedAt: nowIso(now) })
      .where(
        and(
          eq(taskAssignments.userId, userId),
          sql`${taskAssignments.status} IN ${OPEN_STATUSES}`,
          sql`${taskAssignments.taskId} IN ${taskIds}`,
        ),
      ),
  ] as const;
}

/**
 * Ends the agent's assignments that are in `statuses`, answering the tasks they were about. One
 * statement for a batch; `guard` makes it conditional on the rest of the batch.
 */
export function endAssignmentsOf(
  db: Database,
  agent: LeavingAgent,
  end: {
    statuses: AssignmentStatus[];
    status: "rejected" | "cancelled";
    reason: string;
    now: number;
    guard?: SQL | undefined;
  },
) {
  return db
    .update(taskAssignments)
    .set({
      status: end.status,
      reason: end.reason,
      ...(end.status === "rejected" ? { rejectedAt: nowIso(end.now) } : {}),
      updatedAt: nowIso(end.now),
    })
    .where(
      and(
        eq(taskAssignments.userId, agent.userId),
        eq(taskAssignments.agentId, agent.agentId),
        inArray(taskAssignments.status, end.statuses),
        end.guard,
      ),
    )
    .returning({ taskId: taskAssignments.taskId, role: taskAssignments.role });
}

/**
 * Puts back in the pool each task the agent held as its owner: the task is no longer assigned to it
 * and is delegated again to another free agent of the same type when there is one; otherwise it waits
 * for the person to delegate it. Collaborations end with the agent: the person still leads the task.
 */
export async function handBackTasks(
  db: Database,
  agent: LeavingAgent,
  released: readonly { taskId: string; role: string }[],
  now: number,
): Promise<{ events: Envelope[]; redelegated: number }> {
  const events: Envelope[] = [];
  let redelegated = 0;
  for (const { taskId, role } of released) {
    if (role !== "owner") continue;
    await db
      .update(tasks)
      .set({ assignedTo: null, updatedAt: nowIso(now) })
      .where(
        and(
          eq(tasks.id, taskId),
          eq(tasks.userId, agent.userId),
          eq(tasks.assignedTo, `agent:${agent.agentId}`),
        ),
      )
      .run();
    try {
      const delegated = await delegateTask(db, agent.userId, {
        task_id: taskId,
        delegation_mode: "DELEGATE",
        prefer_agent_type: agent.agentType,
      });
      events.push(...delegated.events);
      redelegated += 1;
    } catch (error) {
      // No free agent (503) or the task changed meanwhile: it waits for the person to delegate it.
      if (!(error instanceof ApiError)) throw error;
    }
  }
  return { events, redelegated };
}

/**
 * Removes an agent for good: in one batch its tokens are revoked, its open assignments (started ones
 * too: nobody will finish them now) are cancelled, its tasks are no longer assigned to it and its row
 * goes; then each task is offered to another free agent of its type (best effort: otherwise it waits
 * for the person).
 */
export async function removeAgent(
  db: Database,
  principal: Principal,
  agentId: string,
): Promise<{ events: Envelope[] }> {
  requireOwner(principal, agentId);
  const { userId } = principal;
  const now = Date.now();
  const [agent] = await db
    .select({ userId: agents.userId, agentId: agents.agentId, agentType: agents.agentType })
    .from(agents)
    .where(and(eq(agents.userId, userId), eq(agents.agentId, agentId)))
    .limit(1)
    .all();
  if (!agent) throw notFound("Agent");
  // The row is deleted last: the statements before it act only while it still exists, so a
  // concurrent removal releases the work once.
  const stillThere = sql`EXISTS (SELECT 1 FROM agents g WHERE g.user_id = ${userId} AND g.agent_id = ${agentId})`;
  const [released, , , removed] = await db.batch([
    endAssignmentsOf(db, agent, {
      statuses: ["pending", "accepted", "in_progress"],
      status: "cancelled",
      reason: REMOVED_REASON,
      now,
      guard: stillThere,
    }),
    db
      .update(apiTokens)
      .set({ revokedAt: nowIso(now) })
      .where(
        and(
          eq(apiTokens.userId, userId),
          eq(apiTokens.agentId, agentId),
          sql`${apiTokens.revokedAt} IS NULL`,
          stillThere,
        ),
      ),
    // In the same batch, so a failure after it never leaves a task held by an agent that is gone.
    db
      .update(tasks)
      .set({ assignedTo: null, updatedAt: nowIso(now) })
      .where(and(eq(tasks.userId, userId), eq(tasks.assignedTo, `agent:${agentId}`), stillThere)),
    db
      .delete(agents)
      .where(and(eq(agents.userId, userId), eq(agents.agentId, agentId)))
      .returning({ id: agents.id }),
  ]);
  if (removed.length === 0) throw notFound("Agent");
  return handBackTasks(db, agent, released, now);
}
