import type {
  AgentDto,
  AssignmentDto,
  DelegationResultDto,
  RegisterAgentInput,
  RegisteredAgentDto,
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
