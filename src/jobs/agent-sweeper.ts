import { and, eq, inArray, lt, ne, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import { agents, taskAssignments, tasks } from "../db/schema";
import type { Env } from "../env";
import { delegateTask } from "../features/delegation/delegate-service";
import { ApiError } from "../lib/errors";
import { publishEvents } from "../lib/outbox";
import { nowIso } from "../lib/time";

export const DEFAULT_AGENT_OFFLINE_MINUTES = 15;
/** Agents handled per run; the next run takes the rest. */
export const SWEEP_BATCH = 50;

export function offlineWindowMs(env: Env): number {
  const minutes = Number(env.AGENT_OFFLINE_MINUTES);
  return (Number.isFinite(minutes) && minutes > 0 ? minutes : DEFAULT_AGENT_OFFLINE_MINUTES) * 60_000;
}

/**
 * Cron: agents silent for longer than the window go offline; their assignments not yet started
 * (pending or accepted) are released and each task is delegated again to another free agent of the
 * same type when there is one. Idempotent: a second run finds no silent agent still online.
 */
export async function sweepSilentAgents(
  env: Env,
  now = Date.now(),
): Promise<{ offline: number; redelegated: number }> {
  const db = createDatabase(env.DB);
  const silent = await db
    .select()
    .from(agents)
    .where(and(ne(agents.status, "offline"), lt(agents.lastActiveAt, nowIso(now - offlineWindowMs(env)))))
    .limit(SWEEP_BATCH)
    .all();
  let redelegated = 0;
  for (const agent of silent) {
    const [released] = await db.batch([
      db
        .update(taskAssignments)
        .set({
          status: "rejected",
          reason: "The agent went offline.",
          rejectedAt: nowIso(now),
          updatedAt: nowIso(now),
        })
        .where(
          and(
            eq(taskAssignments.agentId, agent.agentId),
            inArray(taskAssignments.status, ["pending", "accepted"]),
          ),
        )
        .returning({
          taskId: taskAssignments.taskId,
          userId: taskAssignments.userId,
          role: taskAssignments.role,
        }),
      db
        .update(agents)
        .set({
          status: "offline",
          currentTaskCount: sql`(SELECT count(*) FROM task_assignments a WHERE a.agent_id = ${agent.agentId} AND a.status = 'in_progress')`,
          updatedAt: nowIso(now),
        })
        .where(eq(agents.id, agent.id)),
    ]);
    for (const { taskId, userId, role } of released) {
      if (role !== "owner") continue;
      await db
        .update(tasks)
        .set({ assignedTo: null, updatedAt: nowIso(now) })
        .where(and(eq(tasks.id, taskId), eq(tasks.assignedTo, `agent:${agent.agentId}`)))
        .run();
      try {
        const { events } = await delegateTask(db, userId, {
          task_id: taskId,
          delegation_mode: "DELEGATE",
          prefer_agent_type: agent.agentType,
        });
        await publishEvents(env, events);
        redelegated += 1;
      } catch (error) {
        // No free agent (503) or the task changed meanwhile: it waits for the person to delegate it.
        if (!(error instanceof ApiError)) throw error;
      }
    }
  }
  return { offline: silent.length, redelegated };
}
