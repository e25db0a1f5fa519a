import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, notFound } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { listTasks } from "../tasks/queries";
import type { TaskDto } from "../tasks/schemas";
import { createTask, getTask } from "../tasks/service";
import {
  CreateProjectBodySchema,
  type LegacyProject,
  LegacyProjectSchema,
  ListProjectsQuerySchema,
  PROJECT_TAG,
  ProjectIdParamsSchema,
} from "./projects-schemas";

const tags = ["Original clients"];
const projectResponse = (description: string) => jsonResponse(LegacyProjectSchema, description);

/** A project is a task tagged `project`: its tasks point to it by parent_task_id (no second model). */
function toProject(task: TaskDto): LegacyProject {
  return {
    project_id: task.task_id,
    task_id: task.task_id,
    name: task.title,
    description: task.description,
    status: task.status,
    tags: task.tags,
    created_at: task.created_at,
    updated_at: task.updated_at,
  };
}

export const createProject = createRoute({
  method: "post",
  path: "/projects",
  tags,
  summary: "Create a project (the original API's path)",
  description:
    "For the original API's scripts: creates a task tagged `project` through POST /api/v1/tasks. Tasks join it " +
    "with `project_id` (stored as parent_task_id); GET /api/v1/tasks?parent_task_id= lists them.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:write" }),
  request: { body: jsonBody(CreateProjectBodySchema), headers: IdempotencyHeadersSchema },
  responses: { 201: projectResponse("The created project"), ...errorResponses(400, 401, 403, 413, 422) },
});

export const listProjects = createRoute({
  method: "get",
  path: "/projects",
  tags,
  summary: "List your projects (the original API's path)",
  description: "Your tasks tagged `project` (GET /api/v1/tasks?tag=project), newest first, paged by `Link`.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:read" }),
  request: { query: ListProjectsQuerySchema },
  responses: {
    200: pageResponse(LegacyProjectSchema, "A page of projects"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getProject = createRoute({
  method: "get",
  path: "/projects/{project_id}",
  tags,
  summary: "Get a project (the original API's path)",
  description: "One of your tasks tagged `project` (GET /api/v1/tasks/{task_id}); any other id is 404.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "tasks:read" }),
  request: { params: ProjectIdParamsSchema },
  responses: { 200: projectResponse("The project"), ...errorResponses(401, 403, 404) },
});

const createProjectHandler: AppRouteHandler<typeof createProject> = async (c) => {
  const { userId } = c.var.principal;
  const body = c.req.valid("json");
  const result = await idempotently(c, "projects.create", body, (idem) =>
    createTask(
      c.var.db,
      userId,
      { title: body.name, description: body.description ?? null, tags: [PROJECT_TAG] },
      idem,
    ),
  );
  afterWrite(c, result.events);
  return c.json(toProject(result.body), 201);
};

const listProjectsHandler: AppRouteHandler<typeof listProjects> = async (c) => {
  const query = c.req.valid("query");
  const { userId, agentId } = c.var.principal;
  const page = await listTasks(
    c.var.db,
    userId,
    { ...query, tag: PROJECT_TAG },
    pageAfter(query.cursor),
    agentId,
  );
  return c.json(withNextLink(c, { ...page, items: page.items.map(toProject) }), 200);
};

const getProjectHandler: AppRouteHandler<typeof getProject> = async (c) => {
  const { userId, agentId } = c.var.principal;
  const task = await getTask(c.var.db, userId, c.req.valid("param").project_id, agentId).catch((error) => {
    throw error instanceof ApiError && error.status === 404 ? notFound("Project") : error;
  });
  if (!task.tags.includes(PROJECT_TAG)) throw notFound("Project");
  return c.json(toProject(task), 200);
};

export const projectsCompatRouter = createRouter()
  .openapi(createProject, createProjectHandler)
  .openapi(listProjects, listProjectsHandler)
  .openapi(getProject, getProjectHandler);
