import { createRoute, z } from "@hono/zod-openapi";
import { DELEGATION_MODES, TASK_PRIORITIES, TASK_STATUSES } from "../../db/schema/tasks";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { caseInsensitiveEnum } from "../../lib/enums";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { PaginationQuerySchema, pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { registerAgent } from "../delegation/agents-service";
import { AgentFields, MAX_AGENTS_PER_USER, RegisteredAgentSchema } from "../delegation/schemas";
import { DELEGATION_TASK_FILTERS, delegationTasks } from "./delegation-queries";

const tags = ["Original clients"];
const IgnoredUserId = z.string().max(200).optional().openapi({ description: "Ignored: always you" });

const LegacyRegisterAgentBodySchema = z
  .object({
    agent_id: AgentFields.agent_id,
    agent_name: AgentFields.name.optional().openapi({ description: "The agent's name" }),
    agent_type: AgentFields.agent_type.default("general").openapi({
      description: "Free text here (the original took backend, frontend or general)",
    }),
    skills: z
      .array(AgentFields.capability)
      .min(1)
      .max(50)
      .openapi({ description: "Our capabilities", example: ["python", "typescript"] }),
    max_concurrent_tasks: AgentFields.max_concurrent_tasks,
  })
  .openapi("LegacyRegisterAgentRequest");

export const legacyRegisterAgent = createRoute({
  method: "post",
  path: "/delegation/agents",
  tags,
  summary: "Register an agent (the original API's path)",
  description:
    "Our `POST /api/v1/delegation/agents/register`, with the original's field names (`agent_name`, " +
    "`skills`). 201 the first time, with the agent's own token shown once; 200 when the agent_id is " +
    `registered again (its token stays valid). At most ${MAX_AGENTS_PER_USER} agents per account.`,
  security: BEARER_SECURITY,
  // As our register: it mints a credential, so a login behind a session must still be alive.
  middleware: requireAuth({ scope: "agents:write", liveSession: true }),
  request: { body: jsonBody(LegacyRegisterAgentBodySchema) },
  responses: {
    201: jsonResponse(RegisteredAgentSchema, "Registered; the agent's own token is shown once"),
    200: jsonResponse(RegisteredAgentSchema, "Updated; the agent's current token stays valid"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

const DelegationTaskSchema = z
  .object({
    task_id: z.string(),
    title: z.string(),
    description: z.string().nullable(),
    status: z.enum(TASK_STATUSES),
    priority: z.enum(TASK_PRIORITIES),
    delegation_mode: z.enum(DELEGATION_MODES),
    estimated_hours: z.number().nullable(),
    tags: z
      .string()
      .openapi({ description: "The tags as a JSON text, as the original sent them", example: '["backend"]' }),
    is_meta_task: z.union([z.literal(0), z.literal(1)]),
    scope: z.enum(["SIMPLE", "MULTI", "PROJECT"]).nullable().openapi({
      description: "From the estimate (under 15 minutes, up to 2 hours, more); null without one",
    }),
    project_id: z.string().nullable().openapi({ description: "The parent task (project) it belongs to" }),
    assigned_to: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("LegacyDelegationTask");

const DelegationTasksQuerySchema = PaginationQuerySchema.extend({
  filter: caseInsensitiveEnum(DELEGATION_TASK_FILTERS)
    .default("all")
    .openapi({
      description:
        "all; coding (a tag coding, backend, frontend, refactor or test, or BE-/FE- in the title); " +
        "personal (not coding); unassigned (no open assignment); meta (is_meta_task)",
    }),
  user_id: IgnoredUserId,
});

export const legacyDelegationTasks = createRoute({
  method: "get",
  path: "/delegation/tasks",
  tags,
  summary: "Your tasks for delegation, filtered (the original API's path)",
  description:
    "Our `GET /api/v1/tasks` (filters `is_meta_task`, `tag`), in the original's item shape: `tags` a JSON " +
    'text, `is_meta_task` 0 or 1, `estimated_hours`, `scope`. Newest first; the next page is in `Link: <…>; rel="next"`.',
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:read" }),
  request: { query: DelegationTasksQuerySchema },
  responses: {
    200: pageResponse(DelegationTaskSchema, "A page of tasks"),
    ...errorResponses(400, 401, 403, 422),
  },
});

const registerHandler: AppRouteHandler<typeof legacyRegisterAgent> = async (c) => {
  const body = c.req.valid("json");
  const { created, agent, token, message } = await registerAgent(c.var.db, c.var.principal, {
    agent_id: body.agent_id,
    agent_type: body.agent_type,
    capabilities: body.skills,
    max_concurrent_tasks: body.max_concurrent_tasks,
    name: body.agent_name,
  });
  return created
    ? c.json({ ...agent, token, token_issued: true }, 201)
    : c.json({ ...agent, token_issued: false, message }, 200);
};

const tasksHandler: AppRouteHandler<typeof legacyDelegationTasks> = async (c) => {
  const { filter, limit, cursor } = c.req.valid("query");
  const page = await delegationTasks(c.var.db, c.var.principal.userId, {
    filter,
    limit,
    afterId: pageAfter(cursor),
    agentId: c.var.principal.agentId,
  });
  return c.json(withNextLink(c, page), 200);
};

export const delegationCompatRouter = createRouter()
  .openapi(legacyRegisterAgent, registerHandler)
  .openapi(legacyDelegationTasks, tasksHandler);
