import { createRoute } from "@hono/zod-openapi";
import type { Principal } from "../../lib/auth/principal";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { notFound } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { perUser } from "../../middleware/rate-limit";
import { IMPORT_TTL_MS, MAX_FILE_BYTES, MAX_ITEMS } from "./limits";
import { listImports } from "./queries";
import { MAX_PENDING_RESTORES, previewRestore } from "./restore/upload";
import {
  CommitBodySchema,
  ImportIdParamsSchema,
  ImportSchema,
  ImportSummarySchema,
  ListImportsQuerySchema,
  UPLOAD_DESCRIPTION,
  UploadQuerySchema,
} from "./schemas";
import { commitImport, discardImport, getImport } from "./service";
import { previewUpload, readUpload, uploadFingerprint } from "./upload";

const tags = ["Imports"];
const read = requireAuth({ scope: "tasks:read" });
const write = requireAuth({ scope: "tasks:write" });
const HOURS = IMPORT_TTL_MS / 3_600_000;

/** An agent's own token sees no imports: they are its person's files, not its assignments. */
const ownerOf = (principal: Principal) => {
  if (principal.agentId) throw notFound("Import");
  return principal.userId;
};

export const uploadRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Upload a file from another app and preview what it would import",
  description:
    "Send the export itself as the body: Todoist's CSV (`source=todoist`), TickTick's backup CSV (`ticktick`), a " +
    "Trello board's JSON (`trello`), or any CSV with a `mapping` of its columns (`csv`). Nothing is written to your " +
    "tasks: the answer counts what the file holds, shows its first items as they would be imported, lists its " +
    "problems (by row and line) and the items you already have (`duplicates`). Commit it within " +
    `${HOURS} hours (POST …/{import_id}/commit); after that the preview and its file are discarded. At most ` +
    `${MAX_FILE_BYTES / 1024 / 1024} MiB and ${MAX_ITEMS} tasks per file. 422, with nothing stored, for an unknown ` +
    "source, a file over the limit, an empty file, a CSV without the mapped columns (named in `detail`), or a file " +
    "that is not what the source says or is truncated or corrupted (with its row or line where it can tell). " +
    "`source=export` restores an export of this platform: the file as the body (at most 100 MiB on the wire, " +
    '`Content-Encoding: gzip` accepted), or `{"download_url": …}`, a signed export link (a bearer capability: ' +
    "whoever holds it may restore it into their own account); see the README's Restore section. 409 when " +
    `${MAX_PENDING_RESTORES} uploaded restores are already waiting (commit or discard one first).`,
  security: BEARER_SECURITY,
  // Reading a big file is seconds of CPU: a few uploads a minute per user.
  middleware: [write, perUser("IMPORT_LIMITER")] as const,
  request: {
    query: UploadQuerySchema,
    headers: IdempotencyHeadersSchema,
    body: {
      required: true,
      description: UPLOAD_DESCRIPTION,
      content: {
        "text/csv": { schema: { type: "string" } },
        "application/json": {
          schema: {
            type: "object",
            description:
              "A Trello board's JSON export (source=trello: `lists` and `cards` required); or, for source=export, " +
              "the export document itself, or `{download_url}` — a signed export link of this platform (at most 4 KiB)",
            properties: {
              name: { type: "string" },
              lists: { type: "array", items: { type: "object" } },
              cards: { type: "array", items: { type: "object" } },
              checklists: { type: "array", items: { type: "object" } },
              labels: { type: "array", items: { type: "object" } },
              download_url: { type: "string", description: "source=export: a signed export link" },
            },
          },
        },
        "text/plain": { schema: { type: "string" } },
        "application/octet-stream": { schema: { type: "string", format: "binary" } },
      },
    },
  },
  responses: {
    201: jsonResponse(ImportSchema, "The preview (status previewed)"),
    ...errorResponses(400, 401, 403, 409, 422, 429),
  },
});

export const listRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Your imports, newest first",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListImportsQuerySchema },
  responses: {
    200: pageResponse(ImportSummarySchema, "A page of imports"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getRoute = createRoute({
  method: "get",
  path: "/{import_id}",
  tags,
  summary: "An import: its preview, status, progress and result",
  description:
    "status: previewed → queued → running → completed, or failed (with `error`, a sentence; your tasks are as they " +
    "were, and committing again resumes where it stopped). `progress` counts the file's items written so far.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: ImportIdParamsSchema },
  responses: { 200: jsonResponse(ImportSchema, "The import"), ...errorResponses(401, 403, 404) },
});

export const commitRoute = createRoute({
  method: "post",
  path: "/{import_id}/commit",
  tags,
  summary: "Import the previewed file (merge or replace), in the background",
  description:
    "Answers 202 at once; follow GET …/{import_id}. The file is written in chunks, each resumable, and nothing " +
    "shows until the last one is in: then, in one step, the new tasks appear (and, with replace, your earlier tasks " +
    "are deleted). A restore (source=export) moves its rows first (progress.phase `moving`): its new tasks show " +
    "all at once at its end, but when you restore your own backup by its link your tasks the file holds stay " +
    "shown and take the file's version (replace) or get the steps and dependencies it adds (merge) a page of " +
    "tasks at a time while it moves; result stays null until completed. merge skips items you already have (same app id imported before, or same title, due time and " +
    "state). Committing again, with or without the same Idempotency-Key, answers the same job; a failed job is " +
    "resumed. Another mode than the job's is 409. A preview past its expiry is 404, as one that never existed, and " +
    "so is a discarded import (code import_discarded while a restore's staged rows are still being erased).",
  security: BEARER_SECURITY,
  middleware: write,
  request: {
    params: ImportIdParamsSchema,
    headers: IdempotencyHeadersSchema,
    body: jsonBody(CommitBodySchema),
  },
  responses: {
    202: jsonResponse(ImportSchema, "The job (status queued, or its current status)"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

export const discardRoute = createRoute({
  method: "delete",
  path: "/{import_id}",
  tags,
  summary: "Discard a preview (or a failed job) and its file",
  description:
    "A failed job's staged tasks (never shown) go with it. A queued or running job is 409, and so is a completed one " +
    "(its tasks are yours: delete them as tasks). 204 means the import is gone: from then on it is 404 here and in " +
    "GET, absent from the list, not a pending restore, and a commit of it is 404 (import_discarded). A restore " +
    "that staged more rows than one request erases has the rest erased in the background within minutes; none of " +
    "them was ever shown, so nothing you see changes meanwhile.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: ImportIdParamsSchema },
  responses: {
    204: { description: "Discarded (a large restore's staged rows are erased in the background)" },
    ...errorResponses(401, 403, 404, 409),
  },
});

const uploadHandler: AppRouteHandler<typeof uploadRoute> = async (c) => {
  const userId = ownerOf(c.var.principal);
  const query = c.req.valid("query");
  if (query.source === "export") {
    const body = await previewRestore(c.var.db, c.env.FILES, userId, {
      body: c.req.raw.body,
      contentEncoding: c.req.header("content-encoding"),
      secret: c.env.JWT_SECRET,
    });
    return c.json(body, 201);
  }
  const file = await readUpload(c.req.raw.body, c.req.header("content-length"));
  const input = { source: query.source, mapping: query.source === "csv" ? query.mapping : undefined };
  // A retry is the same request when it sends the same file: hashed only when a key asks for it.
  const fingerprint =
    c.req.header("idempotency-key") === undefined ? input : await uploadFingerprint(input, file);
  const result = await idempotently(c, "imports.upload", fingerprint, (idempotency) =>
    previewUpload(c.var.db, c.env.FILES, userId, input, file, idempotency),
  );
  return c.json(result.body, 201);
};

const listHandler: AppRouteHandler<typeof listRoute> = async (c) => {
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor);
  if (c.var.principal.agentId) return c.json([], 200);
  const page = await listImports(c.var.db, c.var.principal.userId, query.limit, afterId, Date.now());
  return c.json(withNextLink(c, page), 200);
};

const getHandler: AppRouteHandler<typeof getRoute> = async (c) =>
  c.json(await getImport(c.var.db, ownerOf(c.var.principal), c.req.valid("param").import_id), 200);

const commitHandler: AppRouteHandler<typeof commitRoute> = async (c) => {
  const userId = ownerOf(c.var.principal);
  const { import_id } = c.req.valid("param");
  const { mode } = c.req.valid("json");
  // The commit is idempotent by nature (the import is the job): a key is checked, never needed.
  const result = await idempotently(c, "imports.commit", { import_id, mode }, async () => ({
    body: await commitImport(c.var.db, c.env.IMPORTS_QUEUE, userId, import_id, mode),
    replayed: false,
  }));
  return c.json(result.body, 202);
};

const discardHandler: AppRouteHandler<typeof discardRoute> = async (c) => {
  await discardImport(
    c.var.db,
    c.env.FILES,
    c.env.IMPORTS_QUEUE,
    ownerOf(c.var.principal),
    c.req.valid("param").import_id,
  );
  return c.body(null, 204);
};

export const importsRouter = createRouter()
  .openapi(uploadRoute, uploadHandler)
  .openapi(listRoute, listHandler)
  .openapi(getRoute, getHandler)
  .openapi(commitRoute, commitHandler)
  .openapi(discardRoute, discardHandler);
