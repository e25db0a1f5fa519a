import { createRoute } from "@hono/zod-openapi";
import type { AppRouteHandler } from "../../lib/create-app";
import { problemResponse } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { TemplateIdParamsSchema, TemplateSchema } from "./schemas";
import { normalizeShareCode } from "./share-code";
import { POPULAR_CURSOR_PATTERN, popularTemplates } from "./share-queries";
import {
  ImportTemplateBodySchema,
  PopularTemplateSchema,
  PopularTemplatesQuerySchema,
  ShareTemplateBodySchema,
  TemplateShareSchema,
} from "./share-schemas";
import * as service from "./share-service";

const tags = ["Templates"];
const read = requireAuth({ scope: "tasks:read" });
const write = requireAuth({ scope: "tasks:write" });

export const shareTemplateRoute = createRoute({
  method: "post",
  path: "/{template_id}/share",
  tags,
  summary: "Share a template by a short code that others can import",
  description:
    "Your own template (private or public, by either of its ids), or a built-in one. Sharing again " +
    "answers the same active code (200; 201 when this request made it). A private template's code is " +
    "listed in GET /templates/popular (never with who made it) only with `listed: true`; public " +
    "templates are listed anyway. Someone else's public template answers its code if its owner shared " +
    "one, else 403 `not_template_owner`; someone else's private template is 404. The body is optional; " +
    "one sent as anything but JSON is 415.",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: TemplateIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: ShareTemplateBodySchema } } },
  },
  responses: {
    200: jsonResponse(TemplateShareSchema, "The code the template already had"),
    201: jsonResponse(TemplateShareSchema, "A new code"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
    // The body validator refuses a body of any other type (or of none named) rather than skip it.
    415: problemResponse("A body that is not JSON"),
  },
});

export const revokeShareRoute = createRoute({
  method: "delete",
  path: "/{template_id}/share",
  tags,
  summary: "Revoke a template's share code: importing it answers 404 from now on",
  description:
    "Copies already imported stay with the people who imported them, and the use count is kept; sharing " +
    "again makes a new code. 204 also when the template had no code. Only the owner may revoke: someone " +
    "else's public template, or a built-in one, answers 403 `not_template_owner`.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: TemplateIdParamsSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404, 422) },
});

export const importTemplateRoute = createRoute({
  method: "post",
  path: "/import",
  tags,
  summary: "Import a shared template by its code: a private copy of your own",
  description:
    "The copy has its own id, the same name, description, category, icon and steps, and does not change " +
    "when the original does. Importing counts one use on the original per person (its owner's own " +
    "imports are not counted). An unknown or revoked code is 404. Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(ImportTemplateBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: jsonResponse(TemplateSchema, "Your copy, as GET /api/v1/templates/{template_id} answers it"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const popularTemplatesRoute = createRoute({
  method: "get",
  path: "/popular",
  tags,
  summary: "Popular templates: public ones and those shared by code, most imported first",
  description:
    "Ordered by uses (distinct people who imported it), then times applied, then newest. Each says its " +
    'code, never who made it. The next page, if any, is in the `Link: <…>; rel="next"` header. The ' +
    "order is by live counts: an import or an apply between two requests can move an item between " +
    "pages, so a walk through the pages may show it twice or not at all.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: PopularTemplatesQuerySchema },
  responses: {
    200: pageResponse(PopularTemplateSchema, "A page of popular templates"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const shareTemplateHandler: AppRouteHandler<typeof shareTemplateRoute> = async (c) => {
  const result = await service.shareTemplate(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("param").template_id,
    c.req.valid("json") ?? {},
  );
  return result.status === 201 ? c.json(result.body, 201) : c.json(result.body, 200);
};

export const revokeShareHandler: AppRouteHandler<typeof revokeShareRoute> = async (c) => {
  await service.revokeShare(c.var.db, c.var.principal.userId, c.req.valid("param").template_id);
  return c.body(null, 204);
};

export const importTemplateHandler: AppRouteHandler<typeof importTemplateRoute> = async (c) => {
  // The body's schema accepts only codes that normalize.
  const code = normalizeShareCode(c.req.valid("json").code) ?? "";
  const result = await idempotently(c, "templates.import", { code }, (idem) =>
    service.importTemplate(c.var.db, c.var.principal.userId, code, idem),
  );
  return c.json(result.body, 201);
};

export const popularTemplatesHandler: AppRouteHandler<typeof popularTemplatesRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await popularTemplates(c.var.db, query, pageAfter(query.cursor, POPULAR_CURSOR_PATTERN));
  return c.json(withNextLink(c, page), 200);
};
