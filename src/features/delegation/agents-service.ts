import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { agents, apiTokens, users } from "../../db/schema";
import { AGENT_SCOPES, type Principal } from "../../lib/auth/principal";
import { newApiToken } from "../../lib/auth/tokens";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, forbidden, notFound } from "../../lib/errors";
import { newId } from "../../lib/ids";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { type AgentDto, MAX_AGENTS_PER_USER } from "./schemas";

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
    capability_id: row.agentId,
    agent_name: row.name ?? row.agentId,
    skills: row.capabilities,
    is_available: row.status !== "offline" && row.currentTaskCount < row.maxConcurrentTasks,
    updated_at: row.updatedAt,
  };
}

/** An agent is busy when it holds as many tasks as it can take. */
export const agentStatusAfterCount = sql`CASE WHEN ${agents.currentTaskCount} >= ${agents.maxConcurrentTasks} THEN 'busy' ELSE 'idle' END`;

/** Why no new token came back when an agent_id is registered again, and what to do about it. */
const keptTokenMessage = (agentId: string) =>
  `Agent "${agentId}" was already registered: its settings are updated and its current token stays valid; no new token was issued. If that token leaked, call POST /api/v1/delegation/agents/${agentId}/rotate-token.`;

export interface RegisteredAgent {
  created: boolean;
  agent: AgentDto;
  token?: string;
  message?: string;
}

export interface AgentInput {
  agent_id: string;
  agent_type: string;
  capabilities: string[];
  max_concurrent_tasks: number;
  /** A display name; registering again without one keeps the name it has. */
  name?: string | undefined;
  /** The original API's spelling of `name`. */
  agent_name?: string | undefined;
}

/**
 * Registers an agent, or updates it when its owner registers the same `agent_id` again. Agent ids are
 * the owner's own names: another account may use the same one. The first registration also issues
 * the agent's own API token (shown once); registering again keeps that token and says so.
 */
export async function registerAgent(
  db: Database,
  principal: Principal,
  input: AgentInput,
): Promise<RegisteredAgent> {
  if (principal.kind === "agent") throw forbidden("Agents cannot register agents.");
  return upsertAgent(db, principal.userId, { ...input, name: input.name ?? input.agent_name });
}

async function upsertAgent(db: Database, userId: string, input: AgentInput): Promise<RegisteredAgent> {
  const now = Date.now();
  const capabilities = [...new Set(input.capabilities)];
  const [row] = await db
    .update(agents)
    .set({
      agentType: input.agent_type,
      capabilities,
      maxConcurrentTasks: input.max_concurrent_tasks,
      ...(input.name !== undefined ? { name: input.name } : {}),
      status: sql`CASE WHEN ${agents.currentTaskCount} >= ${input.max_concurrent_tasks} THEN 'busy' ELSE 'idle' END`,
      lastActiveAt: nowIso(now),
      updatedAt: nowIso(now),
    })
    .where(and(eq(agents.userId, userId), eq(agents.agentId, input.agent_id)))
    .returning();
  if (row) return { created: false, agent: toAgentDto(row), message: keptTokenMessage(input.agent_id) };
  return insertAgent(db, userId, { ...input, capabilities }, now);
}

/**
 * A new agent and its token in one batch. The insert happens only while the account has fewer than
 * MAX_AGENTS_PER_USER agents, checked in the same statement: SQLite runs statements one at a time, so
 * simultaneous registrations cannot pass the cap together.
 */
async function insertAgent(
  db: Database,
  userId: string,
  input: AgentInput,
  now: number,
): Promise<RegisteredAgent> {
  const id = newId(now);
  const v = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  const underCap = sql`(SELECT count(*) FROM agents g WHERE g.user_id = ${userId}) < ${MAX_AGENTS_PER_USER}`;
  const { token, hash, displayPrefix } = await newApiToken();
  let results: [unknown, unknown, AgentRow[]];
  try {
    results = await db.batch([
      db.insert(agents).select(
        db
          .select({
            id: v<string>(id, "id"),
            userId: v<string>(userId, "user_id"),
            agentId: v<string>(input.agent_id, "agent_id"),
            agentType: v<string>(input.agent_type, "agent_type"),
            name: v<string | null>(input.name ?? null, "name"),
            capabilities: v<string[]>(JSON.stringify(input.capabilities), "capabilities"),
            maxConcurrentTasks: v<number>(input.max_concurrent_tasks, "max_concurrent_tasks"),
            currentTaskCount: v<number>(0, "current_task_count"),
            status: v<"idle">("idle", "status"),
            lastClaimId: sql<string | null>`NULL`.as("last_claim_id"),
            lastActiveAt: v<string>(nowIso(now), "last_active_at"),
            createdAt: v<string>(nowIso(now), "created_at"),
            updatedAt: v<string>(nowIso(now), "updated_at"),
          })
          .from(users)
          .where(and(eq(users.id, userId), underCap)),
      ),
      agentTokenInsert(db, userId, input.agent_id, { hash, displayPrefix }, id, now),
      db.select().from(agents).where(eq(agents.id, id)),
    ]);
  } catch (error) {
    // The same owner registered the same id at the same moment: that request created it.
    if (isUniqueViolation(error)) return upsertAgent(db, userId, input);
    throw error;
  }
  const [row] = results[2];
  if (!row) {
    throw new ApiError(
      409,
      "too_many_agents",
      `You already have ${MAX_AGENTS_PER_USER} agents, the most an account can have; remove one (DELETE /api/v1/delegation/agents/{agent_id}) before registering another.`,
    );
  }
  return { created: true, agent: toAgentDto(row), token };
}

/** The agent's own token row, written only when the agent row `agentRowId` exists (same batch). */
function agentTokenInsert(
  db: Database,
  userId: string,
  agentId: string,
  secret: { hash: string; displayPrefix: string },
  agentRowId: string | null,
  now: number,
) {
  const v = <T>(value: unknown, name: string) => sql<T>`${value}`.as(name);
  return db.insert(apiTokens).select(
    db
      .select({
        id: v<string>(newId(now), "id"),
        userId: v<string>(userId, "user_id"),
        name: v<string>(`agent ${agentId}`, "name"),
        tokenHash: v<string>(secret.hash, "token_hash"),
        tokenPrefix: v<string>(secret.displayPrefix, "token_prefix"),
        scopes: v<string[]>(JSON.stringify(AGENT_SCOPES), "scopes"),
        agentId: v<string>(agentId, "agent_id"),
        expiresAt: sql<string | null>`NULL`.as("expires_at"),
        lastUsedAt: sql<string | null>`NULL`.as("last_used_at"),
        createdAt: v<string>(nowIso(now), "created_at"),
        revokedAt: sql<string | null>`NULL`.as("revoked_at"),
      })
      .from(agents)
      .where(
        and(
          eq(agents.userId, userId),
          eq(agents.agentId, agentId),
          agentRowId ? eq(agents.id, agentRowId) : undefined,
        ),
      ),
  );
}

/**
 * Removing or rotating an agent is its owner's act. An agent's own token gets 403 for itself, and for
 * any other id the same 404 as a missing agent.
 */
export function requireOwner(principal: Principal, agentId: string): void {
  if (!principal.agentId) return;
  if (principal.agentId === agentId)
    throw forbidden("An agent cannot remove itself or rotate its own token; its owner can.");
  throw notFound("Agent");
}

/**
 * A new token for the agent, shown once; every token it had stops working in the same batch. For an
 * owner who fears the agent's token leaked.
 */
export async function rotateAgentToken(
  db: Database,
  principal: Principal,
  agentId: string,
): Promise<{ agent: AgentDto; token: string }> {
  requireOwner(principal, agentId);
  const { userId } = principal;
  const now = Date.now();
  const { token, hash, displayPrefix } = await newApiToken();
  const [, , [row]] = await db.batch([
    db
      .update(apiTokens)
      .set({ revokedAt: nowIso(now) })
      .where(and(eq(apiTokens.userId, userId), eq(apiTokens.agentId, agentId), isNull(apiTokens.revokedAt))),
    agentTokenInsert(db, userId, agentId, { hash, displayPrefix }, null, now),
    db
      .select()
      .from(agents)
      .where(and(eq(agents.userId, userId), eq(agents.agentId, agentId))),
  ]);
  if (!row) throw notFound("Agent");
  return { agent: toAgentDto(row), token };
}

/** A page of the caller's agents in agent_id order; an agent's own token sees only itself. */
export async function listAgents(
  db: Database,
  principal: Principal,
  filters: {
    agent_type?: string | undefined;
    status?: AgentRow["status"] | undefined;
    available_only?: boolean | undefined;
    limit: number;
    afterId: string | null;
  },
): Promise<Page<AgentDto>> {
  const rows = await db
    .select()
    .from(agents)
    .where(
      and(
        eq(agents.userId, principal.userId),
        principal.agentId ? eq(agents.agentId, principal.agentId) : undefined,
        filters.agent_type ? eq(agents.agentType, filters.agent_type) : undefined,
        filters.status ? eq(agents.status, filters.status) : undefined,
        filters.available_only
          ? sql`${agents.status} != 'offline' AND ${agents.currentTaskCount} < ${agents.maxConcurrentTasks}`
          : undefined,
        filters.afterId ? gt(agents.agentId, filters.afterId) : undefined,
      ),
    )
    .orderBy(asc(agents.agentId))
    .limit(rowsToFetch(filters.limit))
    .all();
  return pageOf(rows, filters.limit, toAgentDto, (r) => r.agentId);
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
