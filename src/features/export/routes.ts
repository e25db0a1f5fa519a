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
import { evaluatePreconditions, requestedRange } from "./conditional";
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
    "Streams the file with Content-Length, Content-Disposition (a file name with the export's date), an ETag " +
    "and Last-Modified. Conditional: If-None-Match / If-Modified-Since that match answer 304; If-Match / " +
    "If-Unmodified-Since that fail answer 412. Resumable: `Accept-Ranges: bytes`; one `Range: bytes=…` " +
    "answers 206 with Content-Range (If-Range honoured), a range past the end 416. A whole file may be " +
    "compressed on the fly for a client that accepts it (its ETag then weak); a part never is. A link whose " +
    "signature does not match is 403; an expired link, or an export whose file was deleted, is 410.",
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
    206: {
      description:
        "The bytes the Range asked for, as stored (Content-Range says which; Content-Type is the file's)",
    },
    304: { description: "Not modified since the ETag (or date) sent" },
    403: problemResponse("The link's signature is not valid (changed, or not from this server)"),
    404: problemResponse("No such export"),
    410: problemResponse("The link or the export has expired (the file is deleted after 7 days)"),
    412: problemResponse("If-Match or If-Unmodified-Since did not hold"),
    416: problemResponse("The Range lies outside the file (Content-Range: bytes */size)"),
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
  // The file's metadata first: the conditions and the range are answered from it.
  const head = await c.env.FILES.head(target.key);
  if (!head) throw gone();
  const file = { etag: head.httpEtag, lastModified: head.uploaded, size: head.size };
  const headers: Record<string, string> = {
    ETag: head.httpEtag,
    "Last-Modified": head.uploaded.toUTCString(),
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-cache",
    // The link is the credential: never pass it on to whatever the file links to.
    "Referrer-Policy": "no-referrer",
  };
  const request = c.req.raw.headers;
  const precondition = evaluatePreconditions(request, file);
  if (precondition === "failed") {
    throw new ApiError(
      412,
      "precondition_failed",
      "The file is not the version your request names (If-Match or If-Unmodified-Since); download it again without them.",
      { headers },
    );
  }
  if (precondition === "not_modified") return c.body(null, 304, headers);
  const range = requestedRange(request, file);
  if (range.kind === "unsatisfiable") {
    throw new ApiError(
      416,
      "range_not_satisfiable",
      `The range asked for lies outside the file, which is ${file.size} bytes long.`,
      { headers: { ...headers, "Content-Range": `bytes */${file.size}` } },
    );
  }
  const object = await c.env.FILES.get(
    target.key,
    range.kind === "partial" ? { range: { offset: range.offset, length: range.length } } : {},
  );
  if (!object) throw gone();
  const described = {
    ...headers,
    "Content-Type": target.contentType,
    "Content-Disposition": `attachment; filename="${target.filename}"`,
  };
  if (range.kind === "partial") {
    const last = range.offset + range.length - 1;
    return c.body(object.body, 206, {
      ...described,
      // Bytes as stored: the platform must not compress a part (its offsets are the file's).
      "Cache-Control": "private, no-cache, no-transform",
      "Content-Range": `bytes ${range.offset}-${last}/${file.size}`,
      "Content-Length": String(range.length),
    });
  }
  return c.body(object.body, 200, { ...described, "Content-Length": String(object.size) });
};

// Static paths before the id: `/` lists.
export const exportRouter = createRouter()
  .openapi(createExportRoute, createHandler)
  .openapi(listExportsRoute, listHandler)
  .openapi(getExportRoute, getHandler)
  .openapi(downloadRoute, downloadHandler);
