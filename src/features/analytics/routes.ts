import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { CHECKIN_CURSOR, createCheckin, listCheckins } from "./energy-service";
import {
  CreateEnergyCheckinSchema,
  DashboardSchema,
  EnergyCheckinSchema,
  ListEnergyQuerySchema,
  TimelineQuerySchema,
  TimelineSchema,
  TimeTrackingQuerySchema,
  TimeTrackingSchema,
} from "./schemas";
import { dashboardFor, TASK_TIME_CURSOR, timelineFor, timeTrackingFor } from "./service";

const tags = ["Analytics"];
const read = requireAuth({ scope: "analytics:read" });
const write = requireAuth({ scope: "analytics:write" });

export const logEnergy = createRoute({
  method: "post",
  path: "/energy",
  tags,
  summary: "Check in your energy (low, medium, high), now or up to a week back",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(CreateEnergyCheckinSchema), headers: IdempotencyHeadersSchema },
  responses: {
    201: jsonResponse(EnergyCheckinSchema, "The check-in"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

export const listEnergy = createRoute({
  method: "get",
  path: "/energy",
  tags,
  summary: "Your energy check-ins, newest first",
  description: 'The next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListEnergyQuerySchema },
  responses: {
    200: pageResponse(EnergyCheckinSchema, "A page of check-ins"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const dashboard = createRoute({
  method: "get",
  path: "/dashboard",
  tags,
  summary: "Today, this week against last week, streak, focus, completion rates, top categories",
  description: "All in your time zone; weeks start on Monday. Read from the daily rollups.",
  security: BEARER_SECURITY,
  middleware: read,
  responses: {
    200: jsonResponse(DashboardSchema, "The dashboard"),
    ...errorResponses(401, 403),
  },
});

export const timeline = createRoute({
  method: "get",
  path: "/timeline",
  tags,
  summary: "Every counter per day, week or month over a range (empty buckets included)",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: TimelineQuerySchema },
  responses: {
    200: jsonResponse(TimelineSchema, "The timeline"),
    ...errorResponses(401, 403, 422),
  },
});

export const timeTracking = createRoute({
  method: "get",
  path: "/time-tracking",
  tags,
  summary: "Estimated against actual minutes: in total, by category and by task",
  description:
    "Actual minutes are those reported for a task (by you or the agent that did it), else the focus time spent on it. " +
    'The tasks are paged: the next page, if any, is in the `Link: <…>; rel="next"` header.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: TimeTrackingQuerySchema },
  responses: {
    200: {
      ...jsonResponse(TimeTrackingSchema, "Time tracking"),
      headers: z.object({
        Link: z.string().optional().openapi({ description: 'rel="next" page of `tasks`' }),
      }),
    },
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

const logEnergyHandler: AppRouteHandler<typeof logEnergy> = async (c) => {
  const input = c.req.valid("json");
  const result = await idempotently(c, "analytics.energy", input, (idem) =>
    createCheckin(c.var.db, c.var.principal.userId, input, idem),
  );
  afterWrite(c, result.events);
  return c.json(result.body, 201);
};

const listEnergyHandler: AppRouteHandler<typeof listEnergy> = async (c) => {
  const query = c.req.valid("query");
  const after = pageAfter(query.cursor, CHECKIN_CURSOR);
  const page = await listCheckins(c.var.db, c.var.principal.userId, query, after);
  return c.json(withNextLink(c, page), 200);
};

const dashboardHandler: AppRouteHandler<typeof dashboard> = async (c) =>
  c.json(await dashboardFor(c.var.db, c.var.principal.userId), 200);

const timelineHandler: AppRouteHandler<typeof timeline> = async (c) =>
  c.json(await timelineFor(c.var.db, c.var.principal.userId, c.req.valid("query")), 200);

const timeTrackingHandler: AppRouteHandler<typeof timeTracking> = async (c) => {
  const query = c.req.valid("query");
  const after = pageAfter(query.cursor, TASK_TIME_CURSOR);
  const { body, page } = await timeTrackingFor(c.var.db, c.var.principal.userId, query, after);
  withNextLink(c, page);
  return c.json(body, 200);
};

export const analyticsRouter = createRouter()
  .openapi(logEnergy, logEnergyHandler)
  .openapi(listEnergy, listEnergyHandler)
  .openapi(dashboard, dashboardHandler)
  .openapi(timeline, timelineHandler)
  .openapi(timeTracking, timeTrackingHandler);
