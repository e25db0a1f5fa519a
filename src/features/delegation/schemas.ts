import { z } from "@hono/zod-openapi";
import { AGENT_STATUSES, ASSIGNMENT_ROLES, ASSIGNMENT_STATUSES } from "../../db/schema/delegation";
import { DELEGATION_MODES, TASK_PRIORITIES, TASK_STATUSES } from "../../db/schema/tasks";
import { caseInsensitiveEnum, QueryBoolean } from "../../lib/enums";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { HoursSchema } from "../tasks/schemas";

export const MAX_AGENT_CAPACITY = 100;
/** Agents one account may register: each holds a live token, so an account cannot mint them without end. */
export const MAX_AGENTS_PER_USER = 100;
/** A note's length, after trimming (a completion's `notes` took as many before they became notes). */
export const MAX_NOTE_CHARS = 5000;
/** A note's author when the person wrote it; an agent's notes are by `agent:<agent_id>`. */
export const OWNER_AUTHOR = "owner";
/** Notes one assignment may hold: a conversation, not a log an agent can grow without end. */
export const MAX_NOTES_PER_ASSIGNMENT = 200;

/**
 * Client-chosen ids are opaque strings (the seed's agents are "backend-agent-1"), not UUIDs. They are
 * per account: two accounts may both have a "backend-agent-1".
 */
export const AGENT_ID_PATTERN = /^[\w.:@-]{1,100}$/;
/** A note's author when an agent wrote it: `agent:` and its agent_id. */
export const AGENT_AUTHOR_PATTERN = /^agent:[\w.:@-]{1,100}$/;

const AgentId = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(AGENT_ID_PATTERN, "Use letters, digits and . _ : @ -")
  .openapi({ example: "backend-agent-1" });
const Capability = z.string().trim().min(1).max(50);
/** A display name (the original API's `agent_name`). */
export const AgentName = z.string().trim().min(1).max(100).openapi({ example: "Backend agent" });
/** Accepted and ignored: the subject is always the caller. */
const IgnoredUserId = z
  .string()
  .max(200)
  .optional()
  .openapi({ description: "Ignored: always you (accepted for clients of the original API)" });

/** The agent's fields as a request takes them, for the original API's register (compat). */
export const AgentFields = {
  agent_id: AgentId,
  agent_type: z.string().trim().min(1).max(50).openapi({ example: "backend-tdd" }),
  capability: Capability,
  name: AgentName,
  max_concurrent_tasks: z.number().int().min(1).max(MAX_AGENT_CAPACITY).default(1),
};

export const RegisterAgentBodySchema = z
  .object({
    agent_id: AgentFields.agent_id,
    agent_type: AgentFields.agent_type,
    capabilities: z
      .array(Capability)
      .max(50)
      .default([])
      .openapi({ example: ["python", "pytest", "fastapi"] }),
    max_concurrent_tasks: AgentFields.max_concurrent_tasks,
    name: AgentName.optional(),
    agent_name: AgentName.optional().openapi({ description: "The original API's name for `name`" }),
  })
  .superRefine((body, ctx) => {
    if (body.name !== undefined && body.agent_name !== undefined && body.name !== body.agent_name)
      ctx.addIssue({
        code: "custom",
        path: ["agent_name"],
        message: "Send name or agent_name, not two names",
      });
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
    // The original API's names, for its clients (scripts/dogfood.sh).
    capability_id: z.string().openapi({ description: "The original API's name for agent_id" }),
    agent_name: z.string().openapi({ description: "The agent's name; its agent_id when it has none" }),
    skills: z.array(z.string()).openapi({ description: "The original API's name for capabilities" }),
    is_available: z.boolean().openapi({ description: "Online and with a free slot" }),
    updated_at: z.string(),
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
  available_only: QueryBoolean.optional().openapi({
    description: "true: only agents that are online and have a free slot (is_available)",
  }),
});

export const AgentIdParamsSchema = z.object({ agent_id: AgentId });

export const ASSIGNEE_TYPES = ["human", "agent"] as const;

/**
 * Two requests share this path: ours (`delegation_mode`) and the original API's (`assignee_id`, to a
 * named agent or to the person). Exactly one of the two fields says which.
 */
export const DelegateBodySchema = z
  .object({
    task_id: z.string().min(1).max(64),
    delegation_mode: caseInsensitiveEnum(DELEGATION_MODES).optional().openapi({
      description: "Ours: how to get it done. Send this or assignee_id.",
    }),
    prefer_agent_type: z.string().trim().min(1).max(50).optional(),
    required_capabilities: z.array(Capability).max(20).optional(),
    assignee_id: AgentId.optional().openapi({
      description:
        "The original API's: the agent_id of one of your agents (assignee_type agent), or the person, " +
        "who is always you (assignee_type human). Answers 201 with the assignment itself.",
    }),
    assignee_type: caseInsensitiveEnum(ASSIGNEE_TYPES)
      .optional()
      .openapi({ description: "With assignee_id: human (you do it) or agent (the default)" }),
    estimated_hours: HoursSchema.optional().openapi({
      description: "With assignee_id: the task's estimate, kept only when the task has none",
    }),
    user_id: IgnoredUserId,
  })
  .superRefine((body, ctx) => {
    const ours = body.delegation_mode !== undefined;
    const theirs = body.assignee_id !== undefined;
    if (ours === theirs) {
      ctx.addIssue({
        code: "custom",
        path: ["delegation_mode"],
        message: "Send delegation_mode, or assignee_id (the original API's request), not both or neither",
      });
      return;
    }
    if (ours) {
      for (const field of ["assignee_type", "estimated_hours"] as const) {
        if (body[field] !== undefined)
          ctx.addIssue({ code: "custom", path: [field], message: `${field} goes only with assignee_id` });
      }
    }
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
    // The original API's fields, for its clients (scripts/dogfood.sh).
    assignee_id: z.string().openapi({
      description: "The agent's agent_id; for the person, your username (or `me` when you have none)",
    }),
    assignee_type: z.enum(ASSIGNEE_TYPES),
    assigned_at: z.string().openapi({ description: "The original API's name for created_at" }),
    estimated_hours: z.number().nullable().openapi({ description: "The task's estimate, in hours" }),
    actual_hours: z.number().nullable().openapi({ description: "The task's actual time, in hours" }),
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
    actual_hours: HoursSchema.optional().openapi({
      description: "The original API's unit: hours (with actual_minutes too, the two must agree)",
    }),
    notes: z.string().trim().max(MAX_NOTE_CHARS).optional().openapi({
      description:
        "What was done: kept as a note on the assignment by whoever completes it (ignored when blank)",
    }),
  })
  .openapi("CompleteAssignmentRequest");

export const AddNoteBodySchema = z
  .object({
    text: z
      .string()
      .trim()
      .min(1)
      .max(MAX_NOTE_CHARS)
      .openapi({ example: "Tests pass; opening the PR next." }),
  })
  .openapi("AddAssignmentNoteRequest");

export const AssignmentNoteSchema = z
  .object({
    note_id: z.string(),
    assignment_id: z.string(),
    author: z.string().openapi({
      description: '"owner" (the person), or "agent:" and the agent_id of the agent that wrote it',
      example: "agent:backend-agent-1",
    }),
    text: z.string(),
    created_at: z.string(),
  })
  .openapi("AssignmentNote");

export type AgentDto = z.infer<typeof AgentSchema>;
export type DelegateBody = z.infer<typeof DelegateBodySchema>;
export type AssignmentDto = z.infer<typeof AssignmentSchema>;
export type RegisteredAgentDto = z.infer<typeof RegisteredAgentSchema>;
export type RegisterAgentInput = z.infer<typeof RegisterAgentBodySchema>;
export type DelegationResultDto = z.infer<typeof DelegationResultSchema>;
export type AssignmentNoteDto = z.infer<typeof AssignmentNoteSchema>;
