import { createRoute, type z } from "@hono/zod-openapi";
import type { Principal } from "../../lib/auth/principal";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { TaskIdParamsSchema, TaskSchema } from "../tasks/schemas";
import { listTemplates, TEMPLATE_CURSOR_PATTERN } from "./queries";
import {
  ApplyTemplateBodySchema,
  CreateTemplateBodySchema,
  ListTemplatesQuerySchema,
  ReplaceTemplateStepsBodySchema,
  SaveAsTemplateBodySchema,
  TemplateIdParamsSchema,
  TemplateSchema,
  UpdateTemplateBodySchema,
} from "./schemas";
import * as service from "./service";
import {
  importTemplateHandler,
  importTemplateRoute,
  popularTemplatesHandler,
  popularTemplatesRoute,
  revokeShareHandler,
  revokeShareRoute,
  shareTemplateHandler,
  shareTemplateRoute,
} from "./share-routes";

const tags = ["Templates"];
const read = requireAuth({ scope: "tasks:read" });
const write = requireAuth({ scope: "tasks:write" });
const templateResponse = (description: string) => jsonResponse(TemplateSchema, description);
const OWNER_NOTE =
  "Only the owner may change a template: someone else's public template, or a built-in one, answers 403 `not_template_owner`.";

/** Whose private templates the caller reads: an agent's own token reads public templates only. */
const viewerOf = (principal: Principal) => (principal.agentId ? null : principal.userId);

/** An optional JSON body: clients may send none and take every default. */
const optionalBody = <T extends z.ZodType>(schema: T) => ({
  required: false,
  content: { "application/json": { schema } },
});

export const createTemplate = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Create a task template: a name, a category and 1–10 ordered steps",
  description:
    "Private unless `is_public`. Pick your own `template_id` (409 if you already have one with it; ids are per " +
    "account, so others may use the same one) or let the server make one. Others see your public template " +
    "under its server-made id. " +
    "Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(CreateTemplateBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: templateResponse("The created template"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listTemplatesRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "List templates: every public one (the built-in ones among them) and your own",
  description: 'In `template_id` order. The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListTemplatesQuerySchema },
  responses: {
    200: pageResponse(TemplateSchema, "A page of templates, each with its steps"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getTemplate = createRoute({
  method: "get",
  path: "/{template_id}",
  tags,
  summary: "Get a template with its steps",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: TemplateIdParamsSchema },
  responses: { 200: templateResponse("The template"), ...errorResponses(401, 403, 404, 422) },
});

export const updateTemplate = createRoute({
  method: "patch",
  path: "/{template_id}",
  tags,
  summary: "Change a template's name, description, category, icon or visibility",
  description: OWNER_NOTE,
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TemplateIdParamsSchema, body: jsonBody(UpdateTemplateBodySchema) },
  responses: {
    200: templateResponse("The updated template"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const replaceTemplateSteps = createRoute({
  method: "put",
  path: "/{template_id}/steps",
  tags,
  summary: "Replace all of a template's steps (1–10, in order)",
  description: OWNER_NOTE,
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TemplateIdParamsSchema, body: jsonBody(ReplaceTemplateStepsBodySchema) },
  responses: {
    200: templateResponse("The template with its new steps"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const deleteTemplate = createRoute({
  method: "delete",
  path: "/{template_id}",
  tags,
  summary: "Delete a template and its steps (tasks made from it stay)",
  description: OWNER_NOTE,
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TemplateIdParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404, 422) },
});

export const applyTemplate = createRoute({
  method: "post",
  path: "/{template_id}/apply",
  tags,
  summary: "Make a task from a template: its steps in order, its category",
  description:
    "The body is optional; the title defaults to the template's name. Works on any template you can read. " +
    "Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: TemplateIdParamsSchema,
    body: optionalBody(ApplyTemplateBodySchema),
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    201: jsonResponse(TaskSchema, "The created task (as POST /api/v1/tasks answers)"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const saveAsTemplate = createRoute({
  method: "post",
  path: "/{task_id}/save-as-template",
  tags,
  summary: "Save one of your tasks as a template: its steps (1–10) in order",
  description:
    "The name defaults to the task's title and the category to the task's (422 if neither is known). " +
    "Private unless `is_public`. Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: TaskIdParamsSchema,
    body: optionalBody(SaveAsTemplateBodySchema),
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    201: templateResponse("The new template"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

const createTemplateHandler: AppRouteHandler<typeof createTemplate> = async (c) => {
  const input = c.req.valid("json");
  const result = await idempotently(c, "templates.create", input, (idem) =>
    service.createTemplate(c.var.db, c.var.principal.userId, input, idem),
  );
  return c.json(result.body, 201);
};

const listTemplatesHandler: AppRouteHandler<typeof listTemplatesRoute> = async (c) => {
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor, TEMPLATE_CURSOR_PATTERN);
  const page = await listTemplates(c.var.db, viewerOf(c.var.principal), query, afterId);
  return c.json(withNextLink(c, page), 200);
};

const getTemplateHandler: AppRouteHandler<typeof getTemplate> = async (c) =>
  c.json(
    await service.getTemplate(c.var.db, viewerOf(c.var.principal), c.req.valid("param").template_id),
    200,
  );

const updateTemplateHandler: AppRouteHandler<typeof updateTemplate> = async (c) =>
  c.json(
    await service.updateTemplate(
      c.var.db,
      c.var.principal.userId,
      c.req.valid("param").template_id,
      c.req.valid("json"),
    ),
    200,
  );

const replaceTemplateStepsHandler: AppRouteHandler<typeof replaceTemplateSteps> = async (c) =>
  c.json(
    await service.replaceTemplateSteps(
      c.var.db,
      c.var.principal.userId,
      c.req.valid("param").template_id,
      c.req.valid("json").steps,
    ),
    200,
  );

const deleteTemplateHandler: AppRouteHandler<typeof deleteTemplate> = async (c) => {
  await service.deleteTemplate(c.var.db, c.var.principal.userId, c.req.valid("param").template_id);
  return c.body(null, 204);
};

const applyTemplateHandler: AppRouteHandler<typeof applyTemplate> = async (c) => {
  const { userId } = c.var.principal;
  const templateId = c.req.valid("param").template_id;
  const input = c.req.valid("json") ?? {};
  const result = await idempotently(c, "templates.apply", { template_id: templateId, ...input }, (idem) =>
    service.applyTemplate(c.var.db, userId, templateId, input, idem),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

const saveAsTemplateHandler: AppRouteHandler<typeof saveAsTemplate> = async (c) => {
  const taskId = c.req.valid("param").task_id;
  const input = c.req.valid("json") ?? {};
  const result = await idempotently(c, "templates.from_task", { task_id: taskId, ...input }, (idem) =>
    service.saveTaskAsTemplate(c.var.db, c.var.principal.userId, taskId, input, idem),
  );
  return c.json(result.body, 201);
};

/** Mounted at /api/v1/templates and, for older clients, /api/v1/task-templates. */
export const templatesRouter = createRouter()
  // Before `/{template_id}`: "popular" is not a template's id (it is reserved).
  .openapi(popularTemplatesRoute, popularTemplatesHandler)
  .openapi(importTemplateRoute, importTemplateHandler)
  .openapi(createTemplate, createTemplateHandler)
  .openapi(listTemplatesRoute, listTemplatesHandler)
  .openapi(getTemplate, getTemplateHandler)
  .openapi(updateTemplate, updateTemplateHandler)
  .openapi(deleteTemplate, deleteTemplateHandler)
  .openapi(replaceTemplateSteps, replaceTemplateStepsHandler)
  .openapi(applyTemplate, applyTemplateHandler)
  .openapi(shareTemplateRoute, shareTemplateHandler)
  .openapi(revokeShareRoute, revokeShareHandler);

/** Mounted at /api/v1/tasks, before the tasks router. */
export const templateFromTaskRouter = createRouter().openapi(saveAsTemplate, saveAsTemplateHandler);
