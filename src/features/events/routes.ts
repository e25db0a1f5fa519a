import { createRoute } from "@hono/zod-openapi";
import { createRouter } from "../../lib/create-app";
import { errorResponses } from "../../lib/openapi";
import { EventTypeListSchema, EventTypeParamsSchema, EventTypeSchema } from "./schemas";
import { eventType, eventTypes } from "./service";

/** The catalog changes only with a deployment: caches may keep it a while. */
const CACHE = "public, max-age=300";

export const listEventTypes = createRoute({
  method: "get",
  path: "/",
  tags: ["Events"],
  summary: "Every domain event type, its version and the JSON Schema of its data",
  description:
    "The contract of the events this platform emits (outbox, queue, and soon webhooks and exports). No credential needed.",
  responses: {
    200: {
      description: "The catalog",
      content: { "application/json": { schema: EventTypeListSchema } },
    },
  },
});

export const getEventType = createRoute({
  method: "get",
  path: "/{type}",
  tags: ["Events"],
  summary: "One domain event type",
  request: { params: EventTypeParamsSchema },
  responses: {
    200: { description: "The event type", content: { "application/json": { schema: EventTypeSchema } } },
    ...errorResponses(404),
  },
});

export const eventTypesRouter = createRouter()
  .openapi(listEventTypes, (c) => {
    c.header("Cache-Control", CACHE);
    return c.json([...eventTypes()], 200);
  })
  .openapi(getEventType, (c) => {
    c.header("Cache-Control", CACHE);
    return c.json(eventType(c.req.valid("param").type), 200);
  });
