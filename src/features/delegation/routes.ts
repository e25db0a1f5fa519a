import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, forbidden } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { encodeCursor, nextLink, pageAfter } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import * as agentsService from "./agents-service";
import { listAgentAssignments } from "./assignment-queries";
import { type AssignmentMove, moveAssignment } from "./assignments-service";
import { delegateTask } from "./delegate-service";
import {
  AgentIdParamsSchema,
  AgentSchema,
  AssignmentIdParamsSchema,
  AssignmentSchema,
  CompleteAssignmentBodySchema,
  DelegateBodySchema,
  DelegationResultSchema,
  ListAgentsQuerySchema,
  ListAssignmentsQuerySchema,
  RegisterAgentBodySchema,
  RegisteredAgentSchema,
  RejectBodySchema,
} from "./schemas";

const tags = ["Delegation"];
const read = requireAuth({ scope: "agents:read" });
const write = requireAuth({ scope: "agents:write" });

export const registerAgent = createRoute({
  method: "post",
  path: "/agents/register",
  tags,
  summary: "Register an agent (or update it when you register its agent_id again)",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(RegisterAgentBodySchema) },
  responses: {
    201: jsonResponse(RegisteredAgentSchema, "Registered; the agent's own token is shown once"),
    200: jsonResponse(RegisteredAgentSchema, "Updated"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listAgents = createRoute({
  method: "get",
  path: "/agents",
  tags,
  summary: "Your agents",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListAgentsQuerySchema },
  responses: { 200: jsonResponse(z.array(AgentSchema), "Agents"), ...errorResponses(401, 403, 422) },
});

export const heartbeat = createRoute({
  method: "post",
  path: "/agents/{agent_id}/heartbeat",
  tags,
  summary: "Tell the platform the agent is alive",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: AgentIdParamsSchema },
  responses: { 200: jsonResponse(AgentSchema, "The agent"), ...errorResponses(401, 403, 404, 422) },
});

export const delegate = createRoute({
  method: "post",
  path: "/delegate",
  tags,
  summary: "Delegate a task: DO, DO_WITH_ME, DELEGATE (to an agent) or DELETE",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:write" }),
  request: { body: jsonBody(DelegateBodySchema) },
  responses: {
    200: jsonResponse(DelegationResultSchema, "Delegated"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

export const agentAssignments = createRoute({
  method: "get",
  path: "/assignments/agent/{agent_id}",
  tags,
  summary: "An agent's assignments, newest first (poll this for work)",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: AgentIdParamsSchema, query: ListAssignmentsQuerySchema },
  responses: {
    200: jsonResponse(z.array(AssignmentSchema), "Assignments"),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

function moveRoute<const B extends object>(move: AssignmentMove, summary: string, body: B) {
  return createRoute({
    method: "post",
    path: `/assignments/{assignment_id}/${move}`,
    tags,
    summary,
    security: BEARER_SECURITY,
    middleware: write,
    request: { params: AssignmentIdParamsSchema, ...body },
    responses: {
      200: jsonResponse(AssignmentSchema, "The assignment after the move"),
      ...errorResponses(400, 401, 403, 404, 409, 413, 422),
    },
  });
}

export const acceptAssignment = moveRoute("accept", "Accept a pending assignment", {});
export const startAssignment = moveRoute("start", "Start an accepted assignment", {});
export const completeAssignment = moveRoute(
  "complete",
  "Complete a pending, accepted or started assignment (completes its task)",
  {
    body: { required: false, content: { "application/json": { schema: CompleteAssignmentBodySchema } } },
  },
);
export const rejectAssignment = moveRoute(
  "reject",
  "Reject a pending or accepted assignment, with a reason",
  {
    body: jsonBody(RejectBodySchema),
  },
);

const registerHandler: AppRouteHandler<typeof registerAgent> = async (c) => {
  if (c.var.principal.kind === "agent") throw forbidden("Agents cannot register agents.");
  const { created, agent, token } = await agentsService.registerAgent(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("json"),
  );
  return created ? c.json({ ...agent, token }, 201) : c.json(agent, 200);
};

const listAgentsHandler: AppRouteHandler<typeof listAgents> = async (c) => {
  const { principal } = c.var;
  const agents = await agentsService.listAgents(c.var.db, principal.userId, c.req.valid("query"));
  return c.json(principal.agentId ? agents.filter((a) => a.agent_id === principal.agentId) : agents, 200);
};

const heartbeatHandler: AppRouteHandler<typeof heartbeat> = async (c) =>
  c.json(await agentsService.heartbeat(c.var.db, c.var.principal, c.req.valid("param").agent_id), 200);

const delegateHandler: AppRouteHandler<typeof delegate> = async (c) => {
  const { result, events } = await delegateTask(c.var.db, c.var.principal.userId, c.req.valid("json"));
  afterWrite(c, events);
  return c.json(result, 200);
};

const agentAssignmentsHandler: AppRouteHandler<typeof agentAssignments> = async (c) => {
  const { principal } = c.var;
  const { agent_id } = c.req.valid("param");
  const query = c.req.valid("query");
  // An agent sees only its own list; a person only their agents' lists. Anything else looks missing.
  if (principal.agentId && principal.agentId !== agent_id)
    throw new ApiError(404, "not_found", "Agent was not found.");
  const afterId = pageAfter(query.cursor);
  const page = await listAgentAssignments(c.var.db, principal.userId, agent_id, {
    status: query.status,
    limit: query.limit,
    afterId,
  });
  if (page.items.length === 0 && !afterId) {
    const owned = await agentsService.listAgents(c.var.db, principal.userId, {});
    if (!owned.some((a) => a.agent_id === agent_id))
      throw new ApiError(404, "not_found", "Agent was not found.");
  }
  if (page.lastId) c.header("Link", nextLink(c.req.url, encodeCursor(page.lastId)));
  return c.json(page.items, 200);
};

function moveHandler(move: "accept" | "start"): AppRouteHandler<typeof acceptAssignment> {
  return async (c) => {
    const { body, events } = await moveAssignment(
      c.var.db,
      c.var.principal,
      c.req.valid("param").assignment_id,
      move,
    );
    afterWrite(c, events);
    return c.json(body, 200);
  };
}

const rejectHandler: AppRouteHandler<typeof rejectAssignment> = async (c) => {
  const { assignment_id } = c.req.valid("param");
  const { body, events } = await moveAssignment(
    c.var.db,
    c.var.principal,
    assignment_id,
    "reject",
    c.req.valid("json"),
  );
  afterWrite(c, events);
  return c.json(body, 200);
};

const completeHandler: AppRouteHandler<typeof completeAssignment> = async (c) => {
  const { assignment_id } = c.req.valid("param");
  const { body, events } = await moveAssignment(
    c.var.db,
    c.var.principal,
    assignment_id,
    "complete",
    c.req.valid("json"),
  );
  afterWrite(c, events);
  return c.json(body, 200);
};

export const delegationRouter = createRouter()
  .openapi(registerAgent, registerHandler)
  .openapi(listAgents, listAgentsHandler)
  .openapi(heartbeat, heartbeatHandler)
  .openapi(delegate, delegateHandler)
  .openapi(agentAssignments, agentAssignmentsHandler)
  .openapi(acceptAssignment, moveHandler("accept"))
  .openapi(startAssignment, moveHandler("start"))
  .openapi(completeAssignment, completeHandler)
  .openapi(rejectAssignment, rejectHandler);
