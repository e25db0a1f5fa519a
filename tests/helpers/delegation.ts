import { callJson, type TestUser } from "./api";

export interface Agent {
  agent_id: string;
  agent_type: string;
  capabilities: string[];
  max_concurrent_tasks: number;
  current_task_count: number;
  status: string;
  token?: string;
}

/** What registering (or rotating) answers: the agent, and its token when one was issued. */
export interface RegisteredAgent extends Agent {
  token_issued: boolean;
  message?: string;
}

export interface Assignment {
  assignment_id: string;
  task_id: string;
  agent_id: string | null;
  assignee: string;
  role: string;
  status: string;
  reason: string | null;
  accepted_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  rejected_at: string | null;
  task: { title: string; status: string };
}

export interface Delegation {
  assignment: Assignment | null;
  assigned_agent: Agent | null;
  collaborator_assignment?: Assignment | null;
  message: string;
}

let agentCounter = 0;

export function registerAgent(user: TestUser, body: Partial<Agent> = {}): Promise<Agent> {
  agentCounter += 1;
  return callJson<Agent>("/api/v1/delegation/agents/register", 201, {
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
