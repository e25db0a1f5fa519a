import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { agents, apiTokens } from "../../db/schema";
import { AGENT_SCOPES, type Principal } from "../../lib/auth/principal";
import { newApiToken } from "../../lib/auth/tokens";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { AgentDto } from "./schemas";

type AgentRow = typeof agents.$inferSelect;

export function toAgentDto(row: AgentRow): AgentDto {
  return {
    agent_id: row.agentId,
    agent_type: row.agentType,
    capabilities: row.capabilities,
    max_concurrent_tasks: row.maxConcurrentTasks,
    current_task_count: row.currentTaskCount,
    status: row.status,
    last_active_at: row.lastActiveAt,
    created_at: row.createdAt,
  };
}

/** An agent is busy when it holds as many tasks as it can take. */
export const agentStatusAfterCount = sql`CASE WHEN ${agents.currentTaskCount} >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`;

/**
 * Registers an agent, or updates it when its owner registers the same `agent_id` again. The first
 * registration also issues the agent's own API token (shown once).
 */
export async function registerAgent(
  db: Database,
  userId: string,
  input: { agent_id: string; agent_type: string; capabilities: string[]; max_concurrent_tasks: number },
): Promise<{ created: boolean; agent: AgentDto; token?: string }> {
  const now = Date.now();
  const capabilities = [...new Set(input.capabilities)];
  const existing = await db.select().from(agents).where(eq(agents.agentId, input.agent_id)).get();
  if (existing && existing.userId !== userId) {
    throw new ApiError(
      409,
      "agent_id_taken",
      `The agent id "${input.agent_id}" is registered by another account.`,
    );
  }
  if (existing) {
    const [row] = await db
      .update(agents)
      .set({
        agentType: input.agent_type,
        capabilities,
        maxConcurrentTasks: input.max_concurrent_tasks,
        status: sql`CASE WHEN ${agents.currentTaskCount} >= ${input.max_concurrent_tasks} THEN 'busy' ELSE 'idle' END`,
        lastActiveAt: nowIso(now),
        updatedAt: nowIso(now),
      })
      .where(and(eq(agents.id, existing.id), eq(agents.userId, userId)))
      .returning();
    return { created: false, agent: toAgentDto(row ?? existing) };
  }
  const row: AgentRow = {
    id: newId(now),
    userId,
    agentId: input.agent_id,
    agentType: input.agent_type,
    capabilities,
    maxConcurrentTasks: input.max_concurrent_tasks,
    currentTaskCount: 0,
    status: "idle",
    lastClaimId: null,
    lastActiveAt: nowIso(now),
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  };
  const { token, hash, displayPrefix } = await newApiToken();
  try {
    await db.batch([
      db.insert(agents).values(row),
      db.insert(apiTokens).values({
        id: newId(now),
        userId,
        agentId: input.agent_id,
        name: `agent ${input.agent_id}`,
        tokenHash: hash,
        tokenPrefix: displayPrefix,
        scopes: AGENT_SCOPES,
        createdAt: nowIso(now),
      }),
    ]);
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ApiError(409, "agent_id_taken", `The agent id "${input.agent_id}" is already registered.`);
    }
    throw error;
  }
  return { created: true, agent: toAgentDto(row), token };
}

export async function listAgents(
  db: Database,
  userId: string,
  filters: { agent_type?: string | undefined; status?: AgentRow["status"] | undefined },
): Promise<AgentDto[]> {
  const rows = await db
    .select()
    .from(agents)
    .where(
      and(
        eq(agents.userId, userId),
        filters.agent_type ? eq(agents.agentType, filters.agent_type) : undefined,
        filters.status ? eq(agents.status, filters.status) : undefined,
      ),
    )
    .orderBy(agents.agentId)
    .all();
  return rows.map(toAgentDto);
}

/** The agent a caller may act for: its owner, or the agent itself. Anyone else gets 404. */
export function agentVisibleTo(principal: Principal, agentId: string) {
  return and(
    eq(agents.agentId, agentId),
    eq(agents.userId, principal.userId),
    principal.agentId ? eq(agents.agentId, principal.agentId) : undefined,
  );
}

/** Marks the agent alive; an offline agent comes back idle (or busy if it still holds work). */
export async function heartbeat(db: Database, principal: Principal, agentId: string): Promise<AgentDto> {
  const now = nowIso();
  const [row] = await db
    .update(agents)
    .set({ lastActiveAt: now, status: agentStatusAfterCount, updatedAt: now })
    .where(agentVisibleTo(principal, agentId))
    .returning();
  if (!row) throw notFound("Agent");
  return toAgentDto(row);
}
