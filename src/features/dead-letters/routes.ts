import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { listDeadLetters } from "./queries";
import { DeadLetterSchema, ListDeadLettersQuerySchema } from "./schemas";

export const listDeadLettersRoute = createRoute({
  method: "get",
  path: "/",
  tags: ["Operations"],
  summary: "Messages the queues gave up on (admin)",
  description:
    "Every message the events, notifications and webhooks queues retried to the end lands here, newest " +
    'first, with its body as sent. Needs an API token with the "admin" scope. The next page, if any, is ' +
    'in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "admin" }),
  request: { query: ListDeadLettersQuerySchema },
  responses: {
    200: pageResponse(DeadLetterSchema, "A page of dead letters"),
    ...errorResponses(400, 401, 403, 422),
  },
});

const listHandler: AppRouteHandler<typeof listDeadLettersRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await listDeadLetters(c.var.db, query, pageAfter(query.cursor));
  return c.json(withNextLink(c, page), 200);
};

export const deadLettersRouter = createRouter().openapi(listDeadLettersRoute, listHandler);
