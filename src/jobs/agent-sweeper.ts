import { and, eq, lt, ne, sql } from "drizzle-orm";
import { createDatabase } from "../db";
import { agents } from "../db/schema";
import type { Env } from "../env";
import { endAssignmentsOf, handBackTasks } from "../features/delegation/release-service";
import { publishEvents } from "../lib/events/queue";
import { type StatementMeter, unmetered } from "../lib/statement-meter";
import { nowIso } from "../lib/time";

export const DEFAULT_AGENT_OFFLINE_MINUTES = 15;
/** Agents handled per run; the next run takes the rest. */
export const SWEEP_BATCH = 50;
/** Statements one task handed back may take: its update, a delegation's read and batch. */
const HAND_BACK_STATEMENTS = 16;

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
  meter: StatementMeter = unmetered,
): Promise<{ offline: number; redelegated: number }> {
  const db = createDatabase(env.DB);
  const silent = await db
    .select()
    .from(agents)
    .where(and(ne(agents.status, "offline"), lt(agents.lastActiveAt, nowIso(now - offlineWindowMs(env)))))
    .limit(SWEEP_BATCH)
    .all();
  let redelegated = 0;
  let handled = 0;
  for (const agent of silent) {
    // Within the cron's share (jobs/cron-budget.ts; review4 L4): an agent's worst case is its batch and,
    // per task it held, the task's update and a delegation. The first one always goes (progress).
    if (handled > 0 && meter.left() < 2 + agent.maxConcurrentTasks * HAND_BACK_STATEMENTS) break;
    handled += 1;
    const [released] = await db.batch([
      endAssignmentsOf(db, agent, {
        statuses: ["pending", "accepted"],
        status: "rejected",
        reason: "The agent went offline.",
        now,
      }),
      db
        .update(agents)
        .set({
          status: "offline",
          currentTaskCount: sql`(SELECT count(*) FROM task_assignments a WHERE a.user_id = ${agent.userId} AND a.agent_id = ${agent.agentId} AND a.status = 'in_progress')`,
          updatedAt: nowIso(now),
        })
        .where(eq(agents.id, agent.id)),
    ]);
    const handedBack = await handBackTasks(db, agent, released, now);
    await publishEvents(env.EVENTS_QUEUE, handedBack.events);
    redelegated += handedBack.redelegated;
  }
  return { offline: handled, redelegated };
}
