import { createRoute } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import * as deliveries from "./deliveries-service";
import {
  CreateWebhookBodySchema,
  DeliveryParamsSchema,
  ListDeliveriesQuerySchema,
  ListWebhooksQuerySchema,
  UpdateWebhookBodySchema,
  WebhookDeliverySchema,
  WebhookIdParamsSchema,
  WebhookSchema,
  WebhookWithSecretSchema,
} from "./schemas";
import * as service from "./service";

const tags = ["Webhooks"];
const read = requireAuth({ scope: "webhooks:read" });
const write = requireAuth({ scope: "webhooks:write" });

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Subscribe a URL to domain events",
  description:
    "Deliveries are signed the Standard Webhooks way with the `secret` answered here (and only here): " +
    '`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`. ' +
    "The URL must be https to a public address (a private, loopback, link-local or metadata address is 422). " +
    "At most 20 per account (409).",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(CreateWebhookBodySchema) },
  responses: {
    201: jsonResponse(WebhookWithSecretSchema, "The webhook, with its secret (shown once)"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "Your webhooks",
  description: 'Oldest first. The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListWebhooksQuerySchema },
  responses: {
    200: pageResponse(WebhookSchema, "A page of webhooks"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getWebhookRoute = createRoute({
  method: "get",
  path: "/{webhook_id}",
  tags,
  summary: "One webhook (without its secret)",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: WebhookIdParamsSchema },
  responses: { 200: jsonResponse(WebhookSchema, "The webhook"), ...errorResponses(401, 403, 404) },
});

export const updateWebhookRoute = createRoute({
  method: "patch",
  path: "/{webhook_id}",
  tags,
  summary: "Change a webhook's URL, event types or description; pause or re-enable it",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: WebhookIdParamsSchema, body: jsonBody(UpdateWebhookBodySchema) },
  responses: {
    200: jsonResponse(WebhookSchema, "The webhook now"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/{webhook_id}",
  tags,
  summary: "Delete a webhook",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: WebhookIdParamsSchema },
  responses: { 204: { description: "Deleted" }, ...errorResponses(401, 403, 404) },
});

export const rotateSecretRoute = createRoute({
  method: "post",
  path: "/{webhook_id}/rotate-secret",
  tags,
  summary: "A new signing secret (shown once); the old one keeps signing beside it for 24 hours",
  description:
    "During the overlap every delivery carries both signatures, so receivers can switch secrets without a gap. " +
    "Rotating again within the overlap ends the oldest secret at once: the two newest sign.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: WebhookIdParamsSchema },
  responses: {
    200: jsonResponse(WebhookWithSecretSchema, "The webhook, with its new secret"),
    ...errorResponses(401, 403, 404),
  },
});

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/{webhook_id}/deliveries",
  tags,
  summary: "The webhook's deliveries, each with every attempt",
  description:
    "Newest first; `?status=failed` lists what never got through. Each attempt shows the receiver's status, " +
    "latency, the first 2 KB of its answer and when the next retry was scheduled. " +
    'The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: WebhookIdParamsSchema, query: ListDeliveriesQuerySchema },
  responses: {
    200: pageResponse(WebhookDeliverySchema, "A page of deliveries"),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

export const getDeliveryRoute = createRoute({
  method: "get",
  path: "/{webhook_id}/deliveries/{delivery_id}",
  tags,
  summary: "One delivery and its attempts",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: DeliveryParamsSchema },
  responses: { 200: jsonResponse(WebhookDeliverySchema, "The delivery"), ...errorResponses(401, 403, 404) },
});

export const replayDeliveryRoute = createRoute({
  method: "post",
  path: "/{webhook_id}/deliveries/{delivery_id}/replay",
  tags,
  summary: "Send a delivery again, under the same webhook-id",
  description:
    "Starts a new round of attempts (with retries) whatever the delivery's state; a retry still queued " +
    "for it is dropped, so it goes out once. A disabled webhook is 409: re-enable it first.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: DeliveryParamsSchema },
  responses: {
    202: jsonResponse(WebhookDeliverySchema, "The delivery, queued to be sent"),
    ...errorResponses(401, 403, 404, 409),
  },
});

export const testWebhookRoute = createRoute({
  method: "post",
  path: "/{webhook_id}/test",
  tags,
  summary: "Send a webhook.test delivery",
  description:
    'Body `{"type": "webhook.test", "timestamp": …, "data": {"webhook_id": …, "message": …}}`, signed, ' +
    "retried and logged like any delivery. A disabled webhook is 409.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: WebhookIdParamsSchema },
  responses: {
    202: jsonResponse(WebhookDeliverySchema, "The test delivery, queued to be sent"),
    ...errorResponses(401, 403, 404, 409),
  },
});

const listDeliveriesHandler: AppRouteHandler<typeof listDeliveriesRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await deliveries.listDeliveries(
    c.var.db,
    c.var.principal.userId,
    c.req.valid("param").webhook_id,
    query,
    pageAfter(query.cursor, deliveries.DELIVERY_CURSOR_PATTERN),
  );
  return c.json(withNextLink(c, page), 200);
};

const getDeliveryHandler: AppRouteHandler<typeof getDeliveryRoute> = async (c) => {
  const { webhook_id, delivery_id } = c.req.valid("param");
  return c.json(await deliveries.getDelivery(c.var.db, c.var.principal.userId, webhook_id, delivery_id), 200);
};

const replayHandler: AppRouteHandler<typeof replayDeliveryRoute> = async (c) => {
  const { webhook_id, delivery_id } = c.req.valid("param");
  return c.json(
    await deliveries.replayDelivery(c.var.db, c.env, c.var.principal.userId, webhook_id, delivery_id),
    202,
  );
};

const testHandler: AppRouteHandler<typeof testWebhookRoute> = async (c) =>
  c.json(
    await deliveries.sendTestDelivery(
      c.var.db,
      c.env,
      c.var.principal.userId,
      c.req.valid("param").webhook_id,
    ),
    202,
  );

const createHandler: AppRouteHandler<typeof createWebhookRoute> = async (c) =>
  c.json(await service.createWebhook(c.var.db, c.env, c.var.principal.userId, c.req.valid("json")), 201);

const listHandler: AppRouteHandler<typeof listWebhooksRoute> = async (c) => {
  const query = c.req.valid("query");
  const page = await service.listWebhooks(
    c.var.db,
    c.var.principal.userId,
    query.limit,
    pageAfter(query.cursor),
  );
  return c.json(withNextLink(c, page), 200);
};

const getHandler: AppRouteHandler<typeof getWebhookRoute> = async (c) =>
  c.json(await service.getWebhook(c.var.db, c.var.principal.userId, c.req.valid("param").webhook_id), 200);

const updateHandler: AppRouteHandler<typeof updateWebhookRoute> = async (c) =>
  c.json(
    await service.updateWebhook(
      c.var.db,
      c.env,
      c.var.principal.userId,
      c.req.valid("param").webhook_id,
      c.req.valid("json"),
    ),
    200,
  );

const deleteHandler: AppRouteHandler<typeof deleteWebhookRoute> = async (c) => {
  await service.deleteWebhook(c.var.db, c.var.principal.userId, c.req.valid("param").webhook_id);
  return c.body(null, 204);
};

const rotateHandler: AppRouteHandler<typeof rotateSecretRoute> = async (c) =>
  c.json(await service.rotateSecret(c.var.db, c.var.principal.userId, c.req.valid("param").webhook_id), 200);

export const webhooksRouter = createRouter()
  .openapi(createWebhookRoute, createHandler)
  .openapi(listWebhooksRoute, listHandler)
  .openapi(getWebhookRoute, getHandler)
  .openapi(updateWebhookRoute, updateHandler)
  .openapi(deleteWebhookRoute, deleteHandler)
  .openapi(rotateSecretRoute, rotateHandler)
  .openapi(listDeliveriesRoute, listDeliveriesHandler)
  .openapi(getDeliveryRoute, getDeliveryHandler)
  .openapi(replayDeliveryRoute, replayHandler)
  .openapi(testWebhookRoute, testHandler);
