import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { validationFailed } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { PaginationQuerySchema, pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { reconcileMinutes } from "../compat/units";
import * as agentsService from "./agents-service";
import { type AssignmentMove, assignmentsOfAgent, moveAssignment } from "./assignments-service";
import { delegateTask } from "./delegate-service";
import { delegateInputOf } from "./legacy-delegate";
import { assignmentNotesPage, noteIdempotencyScope, writeAssignmentNote } from "./notes-service";
import { removeAgent as removeAgentWork } from "./release-service";
import {
  AddNoteBodySchema,
  AGENT_ID_PATTERN,
  AgentIdParamsSchema,
  AgentSchema,
  AssignmentIdParamsSchema,
  AssignmentNoteSchema,
  AssignmentSchema,
  CompleteAssignmentBodySchema,
  DelegateBodySchema,
  DelegationResultSchema,
  ListAgentsQuerySchema,
  ListAssignmentsQuerySchema,
  MAX_AGENTS_PER_USER,
  MAX_NOTE_CHARS,
  MAX_NOTES_PER_ASSIGNMENT,
  RegisterAgentBodySchema,
  RegisteredAgentSchema,
  RejectBodySchema,
} from "./schemas";

const tags = ["Delegation"];
const read = requireAuth({ scope: "agents:read" });
const write = requireAuth({ scope: "agents:write" });
// Registering and removing mint or kill a credential: the login behind a session must still be alive.
// Removing ends a credential, so it is never held back by the write limit.
const manage = requireAuth({ scope: "agents:write", liveSession: true });
const remove = requireAuth({ scope: "agents:write", liveSession: true, countsAsWrite: false });
// A new token for an existing agent: only a live login may mint it, never another token; it creates a
// credential (a row each time), so it counts against the write limit.
const rotate = requireAuth({ scope: "agents:write", sessionOnly: true });

export const registerAgent = createRoute({
  method: "post",
  path: "/agents/register",
  tags,
  summary: "Register an agent (or update it when you register its agent_id again)",
  description:
    "Agent ids are yours: another account may use the same one. The first registration issues the agent's own " +
    "token, shown once. Registering an existing agent_id again updates its settings and keeps its token " +
    "(`token_issued: false`); to replace a leaked token, call `POST /agents/{agent_id}/rotate-token`. " +
    `An account has at most ${MAX_AGENTS_PER_USER} agents: past that, 409 \`too_many_agents\`.`,
  security: BEARER_SECURITY,
  middleware: manage,
  request: { body: jsonBody(RegisterAgentBodySchema) },
  responses: {
    201: jsonResponse(RegisteredAgentSchema, "Registered; the agent's own token is shown once"),
    200: jsonResponse(RegisteredAgentSchema, "Updated; the agent's current token stays valid"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listAgents = createRoute({
  method: "get",
  path: "/agents",
  tags,
  summary: "Your agents, in agent_id order",
  description: 'The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListAgentsQuerySchema },
  responses: { 200: pageResponse(AgentSchema, "A page of agents"), ...errorResponses(400, 401, 403, 422) },
});

const OWNER_ONLY =
  "Only the owner may do this: a login session, or an API token with agents:write. The agent's own token answers 403; another account's agent is 404.";

export const removeAgent = createRoute({
  method: "delete",
  path: "/agents/{agent_id}",
  tags,
  summary: "Remove an agent: its token stops working and its open work goes back to the pool",
  description:
    `${OWNER_ONLY} Its pending, accepted and started assignments are cancelled ("The agent was removed.") and each ` +
    "task it owned is delegated again to another free agent of the same type, or left for you to delegate.",
  security: BEARER_SECURITY,
  middleware: remove,
  request: { params: AgentIdParamsSchema },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404, 422) },
});

export const rotateAgentToken = createRoute({
  method: "post",
  path: "/agents/{agent_id}/rotate-token",
  tags,
  summary: "Give an agent a new token (shown once); its old token stops working at once",
  description: OWNER_ONLY,
  security: BEARER_SECURITY,
  middleware: rotate,
  request: { params: AgentIdParamsSchema },
  responses: {
    200: jsonResponse(RegisteredAgentSchema, "The agent with its new token, shown once"),
    ...errorResponses(401, 403, 404, 422),
  },
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
  description:
    "Send `delegation_mode` (ours: 200 with the assignment and the agent chosen), or the original API's " +
    "`assignee_id` with `assignee_type` human or agent (201 with the assignment itself). With " +
    "`assignee_type: agent`, `assignee_id` is one of your agents (422 if you have none by that id, 503 " +
    "when it is offline or full); with `human`, the person is you, whatever the id says, and the " +
    "assignment waits for you to accept it.",
  security: BEARER_SECURITY,
  // A delegation is one batch: the account check rides in it.
  middleware: requireAuth({ scope: "tasks:write", accountLookup: "carried" }),
  request: { body: jsonBody(DelegateBodySchema) },
  responses: {
    200: jsonResponse(DelegationResultSchema, "Delegated"),
    201: jsonResponse(AssignmentSchema, "Assigned (the original API's request, by assignee_id)"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

export const agentAssignments = createRoute({
  method: "get",
  path: "/assignments/agent/{agent_id}",
  tags,
  summary: "An agent's assignments, newest first (poll this for work)",
  description:
    "`agent_id` is one of your agents, or — for the original API's clients — `me`, your user id or " +
    "your username: your own assignments (DO). An agent's token lists only its own.",
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

const NOTES_WHO =
  "The assignment's owner (a login, or an API token) or the agent it is given to (its own token); " +
  "for anyone else the assignment does not exist (404).";

export const addNoteRoute = createRoute({
  method: "post",
  path: "/assignments/{assignment_id}/notes",
  tags,
  summary: "Add a note to an assignment: progress, a question, a summary",
  description:
    `${NOTES_WHO} Any status, completed included. The text is trimmed, 1–${MAX_NOTE_CHARS} characters. ` +
    `An assignment holds at most ${MAX_NOTES_PER_ASSIGNMENT} notes: past that, 409 \`too_many_notes\`. ` +
    "`author` is `owner` (the person) or `agent:` and the writing agent's agent_id.",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: AssignmentIdParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: jsonBody(AddNoteBodySchema),
  },
  responses: {
    201: jsonResponse(AssignmentNoteSchema, "The note"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

export const listNotesRoute = createRoute({
  method: "get",
  path: "/assignments/{assignment_id}/notes",
  tags,
  summary: "An assignment's notes, oldest first",
  description: `${NOTES_WHO} The next page, if any, is in the \`Link: <…>; rel="next"\` header.`,
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: AssignmentIdParamsSchema, query: PaginationQuerySchema },
  responses: {
    200: pageResponse(AssignmentNoteSchema, "A page of notes"),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const registerHandler: AppRouteHandler<typeof registerAgent> = async (c) => {
  const { created, agent, token, message } = await agentsService.registerAgent(
    c.var.db,
    c.var.principal,
    c.req.valid("json"),
  );
  return created
    ? c.json({ ...agent, token, token_issued: true }, 201)
    : c.json({ ...agent, token_issued: false, message }, 200);
};

const listAgentsHandler: AppRouteHandler<typeof listAgents> = async (c) => {
  const { cursor, ...query } = c.req.valid("query");
  const afterId = pageAfter(cursor, AGENT_ID_PATTERN);
  const page = await agentsService.listAgents(c.var.db, c.var.principal, { ...query, afterId });
  return c.json(withNextLink(c, page), 200);
};

const removeAgentHandler: AppRouteHandler<typeof removeAgent> = async (c) => {
  const { events } = await removeAgentWork(c.var.db, c.var.principal, c.req.valid("param").agent_id);
  afterWrite(c, events);
  return c.body(null, 204);
};

const rotateAgentTokenHandler: AppRouteHandler<typeof rotateAgentToken> = async (c) => {
  const { agent, token } = await agentsService.rotateAgentToken(
    c.var.db,
    c.var.principal,
    c.req.valid("param").agent_id,
  );
  return c.json({ ...agent, token, token_issued: true }, 200);
};

const heartbeatHandler: AppRouteHandler<typeof heartbeat> = async (c) =>
  c.json(await agentsService.heartbeat(c.var.db, c.var.principal, c.req.valid("param").agent_id), 200);

const delegateHandler: AppRouteHandler<typeof delegate> = async (c) => {
  const { legacy, input } = delegateInputOf(c.req.valid("json"));
  const { result, events } = await delegateTask(c.var.db, c.var.principal.userId, input);
  afterWrite(c, events);
  // DO and DELEGATE always make an assignment, or fail.
  if (legacy && result.assignment) return c.json(result.assignment, 201);
  return c.json(result, 200);
};

const agentAssignmentsHandler: AppRouteHandler<typeof agentAssignments> = async (c) => {
  const { agent_id } = c.req.valid("param");
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor);
  const page = await assignmentsOfAgent(c.var.db, c.var.principal, agent_id, {
    status: query.status,
    limit: query.limit,
    afterId,
  });
  return c.json(withNextLink(c, page), 200);
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
  const { actual_minutes, actual_hours, notes } = c.req.valid("json") ?? {};
  const reconciled = reconcileMinutes(actual_minutes, actual_hours);
  if (!reconciled.ok) {
    throw validationFailed([
      { field: "actual_hours", message: "actual_hours and actual_minutes disagree; send one of them" },
    ]);
  }
  const { body, events } = await moveAssignment(c.var.db, c.var.principal, assignment_id, "complete", {
    actual_minutes: reconciled.minutes ?? undefined,
    note: notes || undefined,
  });
  afterWrite(c, events);
  return c.json(body, 200);
};

const addNoteHandler: AppRouteHandler<typeof addNoteRoute> = async (c) => {
  const { assignment_id } = c.req.valid("param");
  const { text } = c.req.valid("json");
  const routeId = noteIdempotencyScope(c.var.principal, assignment_id);
  const result = await idempotently(c, routeId, { text }, (idempotency) =>
    writeAssignmentNote(c.var.db, c.var.principal, assignment_id, text, idempotency),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

const listNotesHandler: AppRouteHandler<typeof listNotesRoute> = async (c) => {
  const { cursor, limit } = c.req.valid("query");
  const page = await assignmentNotesPage(c.var.db, c.var.principal, c.req.valid("param").assignment_id, {
    afterId: pageAfter(cursor),
    limit,
  });
  return c.json(withNextLink(c, page), 200);
};

export const delegationRouter = createRouter()
  .openapi(registerAgent, registerHandler)
  .openapi(listAgents, listAgentsHandler)
  .openapi(removeAgent, removeAgentHandler)
  .openapi(rotateAgentToken, rotateAgentTokenHandler)
  .openapi(heartbeat, heartbeatHandler)
  .openapi(delegate, delegateHandler)
  .openapi(agentAssignments, agentAssignmentsHandler)
  .openapi(acceptAssignment, moveHandler("accept"))
  .openapi(startAssignment, moveHandler("start"))
  .openapi(completeAssignment, completeHandler)
  .openapi(rejectAssignment, rejectHandler)
  .openapi(addNoteRoute, addNoteHandler)
  .openapi(listNotesRoute, listNotesHandler);
