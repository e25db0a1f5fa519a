import { z } from "@hono/zod-openapi";
import { AGENT_STATUSES, ASSIGNMENT_ROLES, ASSIGNMENT_STATUSES } from "../../db/schema/delegation";
import { DELEGATION_MODES, TASK_PRIORITIES, TASK_STATUSES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";

export const MAX_AGENT_CAPACITY = 100;
/** Agents one account may register: each holds a live token, so an account cannot mint them without end. */
export const MAX_AGENTS_PER_USER = 100;

/**
 * Client-chosen ids are opaque strings (the seed's agents are "backend-agent-1"), not UUIDs. They are
 * per account: two accounts may both have a "backend-agent-1".
 */
export const AGENT_ID_PATTERN = /^[\w.:@-]{1,100}$/;

const AgentId = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(AGENT_ID_PATTERN, "Use letters, digits and . _ : @ -")
  .openapi({ example: "backend-agent-1" });
const Capability = z.string().trim().min(1).max(50);

export const RegisterAgentBodySchema = z
  .object({
    agent_id: AgentId,
    agent_type: z.string().trim().min(1).max(50).openapi({ example: "backend-tdd" }),
    capabilities: z
      .array(Capability)
      .max(50)
      .default([])
      .openapi({ example: ["python", "pytest", "fastapi"] }),
    max_concurrent_tasks: z.number().int().min(1).max(MAX_AGENT_CAPACITY).default(1),
  })
  .openapi("RegisterAgentRequest");

export const AgentSchema = z
  .object({
    agent_id: z.string(),
    agent_type: z.string(),
    capabilities: z.array(z.string()),
    max_concurrent_tasks: z.number().int(),
    current_task_count: z.number().int(),
    status: z.enum(AGENT_STATUSES),
    last_active_at: z.string(),
    created_at: z.string(),
  })
  .openapi("Agent");

export const RegisteredAgentSchema = AgentSchema.extend({
  token: z.string().optional().openapi({
    description: "The agent's own API token, shown once: at first registration and at each rotation",
  }),
  token_issued: z.boolean().openapi({
    description: "False when registering an existing agent_id again: its current token stays valid",
  }),
  message: z.string().optional().openapi({ description: "What happened to the agent's token" }),
}).openapi("RegisteredAgent");

export const ListAgentsQuerySchema = PaginationQuerySchema.extend({
  agent_type: z.string().max(50).optional(),
  status: caseInsensitiveEnum(AGENT_STATUSES).optional(),
});

export const AgentIdParamsSchema = z.object({ agent_id: AgentId });

export const DelegateBodySchema = z
  .object({
    task_id: z.string().min(1).max(64),
    delegation_mode: caseInsensitiveEnum(DELEGATION_MODES),
    prefer_agent_type: z.string().trim().min(1).max(50).optional(),
    required_capabilities: z.array(Capability).max(20).optional(),
  })
  .openapi("DelegateRequest");

export const AssignmentSchema = z
  .object({
    assignment_id: z.string(),
    task_id: z.string(),
    agent_id: z.string().nullable(),
    assignee: z.string().openapi({ example: "agent:backend-agent-1" }),
    role: z.enum(ASSIGNMENT_ROLES),
    delegation_mode: z.enum(DELEGATION_MODES),
    status: z.enum(ASSIGNMENT_STATUSES),
    reason: z.string().nullable(),
    created_at: z.string(),
    accepted_at: z.string().nullable(),
    started_at: z.string().nullable(),
    completed_at: z.string().nullable(),
    rejected_at: z.string().nullable(),
    task: z
      .object({
        title: z.string(),
        description: z.string().nullable(),
        priority: z.enum(TASK_PRIORITIES),
        status: z.enum(TASK_STATUSES),
        estimated_minutes: z.number().int().nullable(),
      })
      .openapi({ description: "The task, as the assignee needs it" }),
  })
  .openapi("Assignment");

export const DelegationResultSchema = z
  .object({
    assignment: nullableRef(AssignmentSchema),
    assigned_agent: nullableRef(AgentSchema),
    collaborator_assignment: nullableRef(AssignmentSchema).optional(),
    message: z.string(),
  })
  .openapi("DelegationResult");

export const ListAssignmentsQuerySchema = PaginationQuerySchema.extend({
  status: caseInsensitiveEnum(ASSIGNMENT_STATUSES).optional(),
});

export const AssignmentIdParamsSchema = z.object({ assignment_id: z.string().min(1).max(64) });

export const RejectBodySchema = z
  .object({ reason: z.string().trim().min(1).max(1000) })
  .openapi("RejectAssignmentRequest");

export const CompleteAssignmentBodySchema = z
  .object({
    actual_minutes: z.number().int().min(0).max(100_000).optional(),
    notes: z.string().max(5000).optional(),
  })
  .openapi("CompleteAssignmentRequest");

export type AgentDto = z.infer<typeof AgentSchema>;
export type AssignmentDto = z.infer<typeof AssignmentSchema>;
export type RegisteredAgentDto = z.infer<typeof RegisteredAgentSchema>;
export type RegisterAgentInput = z.infer<typeof RegisterAgentBodySchema>;
export type DelegationResultDto = z.infer<typeof DelegationResultSchema>;
