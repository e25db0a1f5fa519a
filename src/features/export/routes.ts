import { createRoute, z } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, problemResponse } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import {
  AUTHED_WRITE_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonBody,
  jsonResponse,
  pageResponse,
} from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { EXPORT_FORMAT, EXPORT_VERSION } from "./format";
import {
  CreateExportBodySchema,
  DownloadQuerySchema,
  ExportIdParamsSchema,
  ExportSchema,
  ListExportsQuerySchema,
} from "./schemas";
import { createExport, downloadTarget, getExport, type LinkContext, listExports } from "./service";
import { verifyDownload } from "./signing";

const tags = ["Export"];

const linkContext = (c: { req: { url: string }; env: { JWT_SECRET: string } }): LinkContext => ({
  origin: new URL(c.req.url).origin,
  secret: c.env.JWT_SECRET,
  now: Date.now(),
});

export const createExportRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Export your whole account (JSON) or your tasks and steps (CSV)",
  description:
    "Answers 202 at once; a background job writes the file and `GET /api/v1/export/{export_id}` shows its " +
    "progress, then a signed `download_url` (valid 7 days; the file is deleted after). `json` is one versioned " +
    `document (\`"format":"${EXPORT_FORMAT}","version":${EXPORT_VERSION}\`): every table of your account, your ` +
    "running focus timer and your pet; credentials (password hash, tokens, webhook secrets, push keys) are never " +
    "in it. `csv` lists each task followed by its steps. One export at a time: asking again for the same format " +
    "while one is in progress answers that one (202); another format is 409. Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "export:write" })] as const,
  request: { body: jsonBody(CreateExportBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    202: jsonResponse(ExportSchema, "The export job (new, or the one already in progress)"),
    ...errorResponses(...AUTHED_WRITE_ERRORS, 409),
  },
});

export const listExportsRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Your exports, newest first",
  description: 'The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "export:read" })] as const,
  request: { query: ListExportsQuerySchema },
  responses: {
    200: pageResponse(ExportSchema, "A page of exports"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getExportRoute = createRoute({
  method: "get",
  path: "/{export_id}",
  tags,
  summary: "An export's status and progress, and its download link once complete",
  security: BEARER_SECURITY,
  middleware: [requireAuth({ scope: "export:read" })] as const,
  request: { params: ExportIdParamsSchema },
  responses: {
    200: jsonResponse(ExportSchema, "The export"),
    ...errorResponses(401, 403, 404),
  },
});

/** The link is read at the primary: a browser sends no bookmark, and a lagging replica would say 410. */
const primaryReads = createMiddleware<AppEnv>(async (c, next) => {
  usePrimarySession(c);
  await next();
});

export const downloadRoute = createRoute({
  method: "get",
  path: "/{export_id}/download",
  tags,
  summary: "Download a completed export (the signed link; no bearer token)",
  description:
    "The `download_url` of a completed export: its signature is the credential, so a browser can follow it. " +
    "Streams the file with Content-Length, Content-Disposition (a file name with the export's date) and an " +
    "ETag (If-None-Match answers 304). A link whose signature does not match is 403; an expired link, or an " +
    "export whose file was deleted, is 410.",
  middleware: [primaryReads] as const,
  request: { params: ExportIdParamsSchema, query: DownloadQuerySchema },
  responses: {
    200: {
      description: "The file",
      content: {
        "application/json": {
          schema: z
            .object({})
            .passthrough()
            .openapi({
              description: `The account as one document ("format":"${EXPORT_FORMAT}"; see the README's Export section)`,
            }),
        },
        "text/csv": {
          schema: z.string().openapi({ description: "Tasks and their steps (RFC 4180, UTF-8 with BOM)" }),
        },
      },
    },
    304: { description: "Not modified since the ETag sent" },
    403: problemResponse("The link's signature is not valid (changed, or not from this server)"),
    404: problemResponse("No such export"),
    410: problemResponse("The link or the export has expired (the file is deleted after 7 days)"),
  },
});

const createHandler: AppRouteHandler<typeof createExportRoute> = async (c) => {
  const { userId } = c.var.principal;
  const input = c.req.valid("json");
  const result = await idempotently(c, "export.create", input, (idempotency) =>
    createExport(c.env, c.var.db, userId, input.format, idempotency, linkContext(c)),
  );
  c.header("Location", `/api/v1/export/${result.body.export_id}`);
  return c.json(result.body, 202);
};

const listHandler: AppRouteHandler<typeof listExportsRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await listExports(
    c.var.db,
    c.var.principal.userId,
    query.limit,
    pageAfter(query.cursor),
    linkContext(c),
  );
  return c.json(withNextLink(c, page), 200);
};

const getHandler: AppRouteHandler<typeof getExportRoute> = async (c) =>
  c.json(
    await getExport(c.var.db, c.var.principal.userId, c.req.valid("param").export_id, linkContext(c)),
    200,
  );

const downloadHandler: AppRouteHandler<typeof downloadRoute> = async (c) => {
  const { export_id: exportId } = c.req.valid("param");
  const { expires, signature } = c.req.valid("query");
  const expiresAt = Number(expires);
  if (!(await verifyDownload(c.env.JWT_SECRET, exportId, expiresAt, signature))) {
    throw new ApiError(
      403,
      "invalid_signature",
      "This download link is not valid; ask for the export's status again.",
    );
  }
  const now = Date.now();
  const gone = () =>
    new ApiError(
      410,
      "export_expired",
      "This export has expired and its file was deleted; start a new export.",
    );
  if (expiresAt * 1000 <= now) throw gone();
  const target = await downloadTarget(c.var.db, exportId, now);
  if (target.kind === "missing") throw new ApiError(404, "not_found", "Export was not found.");
  if (target.kind === "gone") throw gone();
  // If-None-Match goes to R2 as it came: a match answers without the body.
  const object = await c.env.FILES.get(target.key, { onlyIf: c.req.raw.headers });
  if (!object) throw gone();
  const headers = {
    ETag: object.httpEtag,
    "Cache-Control": "private, no-cache",
    // The link is the credential: never pass it on to whatever the file links to.
    "Referrer-Policy": "no-referrer",
  };
  if (!("body" in object)) return c.body(null, 304, headers);
  return c.body(object.body, 200, {
    ...headers,
    "Content-Type": target.contentType,
    "Content-Length": String(object.size),
    "Content-Disposition": `attachment; filename="${target.filename}"`,
  });
};

// Static paths before the id: `/` lists.
export const exportRouter = createRouter()
  .openapi(createExportRoute, createHandler)
  .openapi(listExportsRoute, listHandler)
  .openapi(getExportRoute, getHandler)
  .openapi(downloadRoute, downloadHandler);
