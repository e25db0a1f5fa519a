import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { usePrimarySession } from "../../middleware/database";
import { petRecordSettled } from "../pets/service";
import { forgetShareCard } from "./card-cache";
import { ownProfile, publicView, putProfile } from "./profile-service";
import {
  CreateShareBodySchema,
  HandleParamsSchema,
  ListSharesQuerySchema,
  MAX_SHOWCASE_ITEMS,
  PublicProfileSchema,
  PutProfileBodySchema,
  ShareIdParamsSchema,
  ShareSchema,
  SocialProfileSchema,
} from "./schemas";
import { createShare, listShares, revokeShare } from "./share-service";

const tags = ["Social"];
const read = requireAuth({ scope: "social:read" });
const write = requireAuth({ scope: "social:write" });

/** Public reads go to the primary: a profile just hidden must not be served by a lagging replica. */
export const primaryReads = createMiddleware<AppEnv>(async (c, next) => {
  usePrimarySession(c);
  await next();
});

export const createShareRoute = createRoute({
  method: "post",
  path: "/share",
  tags,
  summary: "Share a moment: a public link, a 1200×630 card and words to post",
  description:
    'The share keeps a snapshot of the moment ("reached level 7"): it never changes, and shows nothing you did ' +
    "not pick. achievement needs `ref_id` = a badge you unlocked (422 when it is not unlocked or does not " +
    "exist); task needs `ref_id` = one of your tasks (404 otherwise) and is the only kind that shows a task " +
    "title; level is 409 on level 1, creature 409 without a creature, streak 409 without a streak today. Your " +
    "creature, when you have one, is drawn small on every card. Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(CreateShareBodySchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: jsonResponse(ShareSchema, "The share: its page, card and words"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

export const listSharesRoute = createRoute({
  method: "get",
  path: "/shares",
  tags,
  summary: "Your live shares, newest first",
  description: 'The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListSharesQuerySchema },
  responses: {
    200: pageResponse(ShareSchema, "A page of shares"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const revokeShareRoute = createRoute({
  method: "delete",
  path: "/share/{share_id}",
  tags,
  summary: "Revoke a share: its page and card answer 404 from now on",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: ShareIdParamsSchema },
  responses: { 204: { description: "Revoked" }, ...errorResponses(401, 403, 404) },
});

export const getProfileRoute = createRoute({
  method: "get",
  path: "/profile",
  tags,
  summary: "Your public profile's settings (a hidden one with no handle until you set one)",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(SocialProfileSchema, "Your profile"), ...errorResponses(401, 403) },
});

export const putProfileRoute = createRoute({
  method: "put",
  path: "/profile",
  tags,
  summary: "Set your handle, whether your profile is public, and what it showcases",
  description:
    "Off by default: `public` must be true for /u/{handle} to answer. Handles are 3–30 letters, digits or " +
    "underscores, unique whatever their case (409 when taken, hidden profiles included, or let go of by " +
    "someone else within 30 days); reserved words (admin, support, me, api …, also with digits or " +
    "underscores around them, and anything starting with proxy or official) are refused with 422. A handle " +
    `you change is kept for you 30 days. The showcase lists at most ${MAX_SHOWCASE_ITEMS} items, each kind once; a task ` +
    "item names one of your tasks (422 naming the field otherwise) and is the only way a task's title is shown.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(PutProfileBodySchema) },
  responses: {
    200: jsonResponse(SocialProfileSchema, "Your profile as saved"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const publicProfileRoute = createRoute({
  method: "get",
  path: "/profiles/{handle}",
  tags,
  summary: "A public profile, as anyone sees it (no credential)",
  description:
    "The handle in any case. Only what its owner showcased: no email, no ids, no task but the ones chosen. " +
    "A hidden or unknown handle is 404.",
  middleware: [primaryReads] as const,
  request: { params: HandleParamsSchema },
  responses: { 200: jsonResponse(PublicProfileSchema, "The profile"), ...errorResponses(404) },
});

const createShareHandler: AppRouteHandler<typeof createShareRoute> = async (c) => {
  const input = c.req.valid("json");
  const result = await idempotently(c, "social.share", input, (idem) =>
    createShare(c.var.db, c.env.API_BASE_URL, c.var.principal.userId, input, idem, () =>
      petRecordSettled(c.env, c.var.principal.userId),
    ),
  );
  return c.json(result.body, 201);
};

const listSharesHandler: AppRouteHandler<typeof listSharesRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await listShares(
    c.var.db,
    c.env.API_BASE_URL,
    c.var.principal.userId,
    query.limit,
    pageAfter(query.cursor),
  );
  return c.json(withNextLink(c, page), 200);
};

const revokeShareHandler: AppRouteHandler<typeof revokeShareRoute> = async (c) => {
  const gone = await revokeShare(c.var.db, c.var.principal.userId, c.req.valid("param").share_id);
  await forgetShareCard(new URL(c.req.url).origin, gone.code, gone.snapshot);
  return c.body(null, 204);
};

const getProfileHandler: AppRouteHandler<typeof getProfileRoute> = async (c) =>
  c.json(await ownProfile(c.var.db, c.env.API_BASE_URL, c.var.principal.userId), 200);

const putProfileHandler: AppRouteHandler<typeof putProfileRoute> = async (c) =>
  c.json(await putProfile(c.var.db, c.env.API_BASE_URL, c.var.principal.userId, c.req.valid("json")), 200);

const publicProfileHandler: AppRouteHandler<typeof publicProfileRoute> = async (c) =>
  c.json((await publicView(c.var.db, c.env.API_BASE_URL, c.req.valid("param").handle)).dto, 200);

/** Mounted at /api/v1/social. */
export const socialRouter = createRouter()
  .openapi(createShareRoute, createShareHandler)
  .openapi(listSharesRoute, listSharesHandler)
  .openapi(revokeShareRoute, revokeShareHandler)
  .openapi(getProfileRoute, getProfileHandler)
  .openapi(putProfileRoute, putProfileHandler)
  .openapi(publicProfileRoute, publicProfileHandler);
