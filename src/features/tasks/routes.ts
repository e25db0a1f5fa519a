import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { accountShown, requireAuth } from "../../middleware/auth";
import { pickNextStep } from "./next-step";
import { listTasks } from "./queries";
import {
  CompleteStepBodySchema,
  CreateStepBodySchema,
  CreateTaskBodySchema,
  ListTasksQuerySchema,
  NextStepSchema,
  ReorderStepsBodySchema,
  StepIdParamsSchema,
  TaskIdParamsSchema,
  TaskSchema,
  UpdateStepBodySchema,
  UpdateTaskBodySchema,
} from "./schemas";
import * as service from "./service";
import * as steps from "./steps-service";

const tags = ["Tasks"];
const read = requireAuth({ scope: "tasks:read" });
const write = requireAuth({ scope: "tasks:write" });
// The account check rides in the route's own D1 work (see RequireAuthOptions.accountLookup): a
// create's batch, a list's query (a page with rows shows the account live).
const writeInBatch = requireAuth({ scope: "tasks:write", accountLookup: "carried" });
const readCarried = requireAuth({ scope: "tasks:read", accountLookup: "carried" });
const taskResponse = (description: string) => jsonResponse(TaskSchema, description);

export const createTask = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a task, optionally with micro-steps",
  security: BEARER_SECURITY,
  middleware: writeInBatch,
  request: { body: jsonBody(CreateTaskBodySchema), headers: IdempotencyHeadersSchema },
  responses: { 201: taskResponse("The created task"), ...errorResponses(400, 401, 403, 413, 422) },
});

export const listTasksRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "List tasks (Scout mode): filters and cursor pagination",
  description: 'Newest first. The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: readCarried,
  request: { query: ListTasksQuerySchema },
  responses: {
    200: pageResponse(TaskSchema, "A page of tasks"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const nextStep = createRoute({
  method: "get",
  path: "/next",
  tags,
  summary: "The one next step to do now (Hunter mode)",
  security: BEARER_SECURITY,
  middleware: read,
  responses: {
    200: jsonResponse(NextStepSchema, "The pick, or nulls when nothing is ready"),
    ...errorResponses(401, 403),
  },
});

export const getTask = createRoute({
  method: "get",
  path: "/{task_id}",
  tags,
  summary: "Get a task with its steps and progress",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: TaskIdParamsSchema },
  responses: { 200: taskResponse("The task"), ...errorResponses(401, 403, 404) },
});

export const updateTask = createRoute({
  method: "patch",
  path: "/{task_id}",
  tags,
  summary: "Change a task (status, fields, dependencies)",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TaskIdParamsSchema, body: jsonBody(UpdateTaskBodySchema) },
  responses: { 200: taskResponse("The updated task"), ...errorResponses(400, 401, 403, 404, 409, 413, 422) },
});

export const deleteTask = createRoute({
  method: "delete",
  path: "/{task_id}",
  tags,
  summary: "Delete a task (soft delete)",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TaskIdParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export const completeTask = createRoute({
  method: "post",
  path: "/{task_id}/complete",
  tags,
  summary: "Complete a task (remaining steps are marked skipped); repeating it changes nothing",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TaskIdParamsSchema },
  responses: { 200: taskResponse("The completed task"), ...errorResponses(401, 403, 404) },
});

const stepTags = ["Micro-steps"];

export const addStep = createRoute({
  method: "post",
  path: "/{task_id}/steps",
  tags: stepTags,
  summary: "Add a micro-step (at the end, or at a position)",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TaskIdParamsSchema, body: jsonBody(CreateStepBodySchema) },
  responses: {
    201: taskResponse("The task with its new step"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

export const updateStep = createRoute({
  method: "patch",
  path: "/{task_id}/steps/{step_id}",
  tags: stepTags,
  summary: "Change, reopen or skip a micro-step",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: StepIdParamsSchema, body: jsonBody(UpdateStepBodySchema) },
  responses: {
    200: taskResponse("The task with the changed step"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const reorderSteps = createRoute({
  method: "put",
  path: "/{task_id}/steps/order",
  tags: stepTags,
  summary: "Reorder micro-steps",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TaskIdParamsSchema, body: jsonBody(ReorderStepsBodySchema) },
  responses: {
    200: taskResponse("The task with its steps in the new order"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const deleteStep = createRoute({
  method: "delete",
  path: "/{task_id}/steps/{step_id}",
  tags: stepTags,
  summary: "Delete a micro-step",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: StepIdParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export const completeStep = createRoute({
  method: "post",
  path: "/{task_id}/steps/{step_id}/complete",
  tags: stepTags,
  summary: "Complete a micro-step; completing the last one completes the task",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: StepIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: CompleteStepBodySchema } } },
  },
  responses: {
    200: taskResponse("The task with its progress"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

const createTaskHandler: AppRouteHandler<typeof createTask> = async (c) => {
  const { userId } = c.var.principal;
  const input = c.req.valid("json");
  const result = await idempotently(c, "tasks.create", input, (idem) =>
    service.createTask(c.var.db, userId, input, idem),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

const listTasksHandler: AppRouteHandler<typeof listTasksRoute> = async (c) => {
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor);
  const page = await listTasks(c.var.db, c.var.principal.userId, query, afterId, c.var.principal.agentId);
  if (page.items.length > 0) accountShown(c);
  return c.json(withNextLink(c, page), 200);
};

const nextStepHandler: AppRouteHandler<typeof nextStep> = async (c) =>
  c.json(await pickNextStep(c.var.db, c.var.principal.userId, c.var.principal.agentId), 200);

const getTaskHandler: AppRouteHandler<typeof getTask> = async (c) =>
  c.json(
    await service.getTask(
      c.var.db,
      c.var.principal.userId,
      c.req.valid("param").task_id,
      c.var.principal.agentId,
    ),
    200,
  );

const updateTaskHandler: AppRouteHandler<typeof updateTask> = async (c) => {
  const result = await service.updateTask(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("param").task_id,
    c.req.valid("json"),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 200);
};

const deleteTaskHandler: AppRouteHandler<typeof deleteTask> = async (c) => {
  const result = await service.deleteTask(c.var.db, c.var.principal.userId, c.req.valid("param").task_id);
  afterWrite(c, result.events);
  return c.body(null, 204);
};

const completeTaskHandler: AppRouteHandler<typeof completeTask> = async (c) => {
  const result = await service.completeTask(c.var.db, c.var.principal.userId, c.req.valid("param").task_id);
  afterWrite(c, result.events);
  return c.json(result.body, 200);
};

const addStepHandler: AppRouteHandler<typeof addStep> = async (c) => {
  const result = await steps.addStep(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("param").task_id,
    c.req.valid("json"),
  );
  return c.json(result.body, 201);
};

const updateStepHandler: AppRouteHandler<typeof updateStep> = async (c) => {
  const { task_id, step_id } = c.req.valid("param");
  const result = await steps.updateStep(
    c.var.db,
    c.var.principal.userId,
    task_id,
    step_id,
    c.req.valid("json"),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 200);
};

const reorderStepsHandler: AppRouteHandler<typeof reorderSteps> = async (c) => {
  const { step_ids } = c.req.valid("json");
  const result = await steps.reorderSteps(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("param").task_id,
    step_ids,
  );
  return c.json(result.body, 200);
};

const deleteStepHandler: AppRouteHandler<typeof deleteStep> = async (c) => {
  const { task_id, step_id } = c.req.valid("param");
  const result = await steps.deleteStep(c.var.db, c.var.principal.userId, task_id, step_id);
  afterWrite(c, result.events);
  return c.body(null, 204);
};

const completeStepHandler: AppRouteHandler<typeof completeStep> = async (c) => {
  const { task_id, step_id } = c.req.valid("param");
  const reported = c.req.valid("json")?.completed_at;
  const result = await steps.completeStep(c.var.db, c.var.principal.userId, task_id, step_id, reported);
  afterWrite(c, result.events);
  return c.json(result.body, 200);
};

// `/next` and `/steps/order` are registered before the `{id}` routes they would otherwise match.
export const tasksRouter = createRouter()
  .openapi(createTask, createTaskHandler)
  .openapi(listTasksRoute, listTasksHandler)
  .openapi(nextStep, nextStepHandler)
  .openapi(getTask, getTaskHandler)
  .openapi(updateTask, updateTaskHandler)
  .openapi(deleteTask, deleteTaskHandler)
  .openapi(completeTask, completeTaskHandler)
  .openapi(addStep, addStepHandler)
  .openapi(reorderSteps, reorderStepsHandler)
  .openapi(updateStep, updateStepHandler)
  .openapi(deleteStep, deleteStepHandler)
  .openapi(completeStep, completeStepHandler);
