import { env } from "cloudflare:workers";
import {
  type AgentDto,
  type AssignmentDto,
  type DelegationResultDto,
  MAX_NOTES_PER_ASSIGNMENT,
  type RegisterAgentInput,
  type RegisteredAgentDto,
} from "../../src/features/delegation/schemas";
import { callJson, type TestUser } from "./api";

export type Agent = AgentDto;
export type RegisteredAgent = RegisteredAgentDto;
export type Assignment = AssignmentDto;
export type Delegation = DelegationResultDto;

let agentCounter = 0;

export function registerAgent(
  user: TestUser,
  body: Partial<RegisterAgentInput> = {},
): Promise<RegisteredAgent> {
  agentCounter += 1;
  return callJson<RegisteredAgent>("/api/v1/delegation/agents/register", 201, {
    token: user.token,
    body: {
      agent_id: `agent-${agentCounter}-${crypto.randomUUID().slice(0, 6)}`,
      agent_type: "backend-tdd",
      capabilities: ["typescript"],
      ...body,
    },
  });
}

export function delegate(user: TestUser, body: Record<string, unknown>, status = 200): Promise<Delegation> {
  return callJson<Delegation>("/api/v1/delegation/delegate", status, { token: user.token, body });
}

/** The user's agents, as their owner lists them. */
export function agentsOf(user: TestUser): Promise<Agent[]> {
  return callJson<Agent[]>("/api/v1/delegation/agents", 200, { token: user.token });
}

/** An agent's assignments, as the user (its owner) lists them. */
export function assignmentsOf(user: TestUser, agentId: string): Promise<Assignment[]> {
  return callJson<Assignment[]>(`/api/v1/delegation/assignments/agent/${agentId}`, 200, {
    token: user.token,
  });
}

/** Stores as many notes as an assignment may hold, straight into D1 (faster than as many requests). */
export async function fillNotesToCap(user: TestUser, assignmentId: string): Promise<void> {
  const insert = env.DB.prepare(
    "INSERT INTO assignment_notes (id, user_id, assignment_id, author, text, created_at) VALUES (?, ?, ?, 'owner', 'n', ?)",
  );
  const now = new Date().toISOString();
  await env.DB.batch(
    Array.from({ length: MAX_NOTES_PER_ASSIGNMENT }, () =>
      insert.bind(crypto.randomUUID(), user.id, assignmentId, now),
    ),
  );
}
