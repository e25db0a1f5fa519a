import { requestId } from "hono/request-id";
import { accountRouter } from "./features/account/routes";
import { analyticsRouter } from "./features/analytics/routes";
import { authRouter } from "./features/auth/routes";
import { calendarRouter } from "./features/calendar/routes";
import { captureRouter } from "./features/capture/routes";
import { compatRouter, doubledPrefixRouter } from "./features/compat";
import { deadLettersRouter } from "./features/dead-letters/routes";
import { delegationRouter } from "./features/delegation/routes";
import { docsPage } from "./features/docs/page";
import { eventTypesRouter } from "./features/events/routes";
import { exportRouter } from "./features/export/routes";
import { focusRouter } from "./features/focus/routes";
import { focusSocketRouter } from "./features/focus/socket-routes";
import { gamificationRouter } from "./features/gamification/routes";
import { healthRouter } from "./features/health/routes";
import { importsRouter } from "./features/imports/routes";
import { insightsRouter } from "./features/insights/routes";
import { learningRouter } from "./features/learning/routes";
import { mcpRouter } from "./features/mcp/routes";
import { metricsRouter } from "./features/metrics/routes";
import { notificationsRouter } from "./features/notifications/routes";
import { petsRouter } from "./features/pets/routes";
import { petSocketRouter } from "./features/pets/socket-routes";
import { roomsRouter } from "./features/rooms/routes";
import { roomSocketRouter } from "./features/rooms/socket-routes";
import { isCardPath, socialPagesRouter } from "./features/social/page-routes";
import { socialRouter } from "./features/social/routes";
import { splittingRouter } from "./features/splitting/routes";
import { statusRouter } from "./features/status/routes";
import { tasksRouter } from "./features/tasks/routes";
import { templateFromTaskRouter, templatesRouter } from "./features/templates/routes";
import { hooksRouter } from "./features/webhooks/hooks-routes";
import { webhooksRouter } from "./features/webhooks/routes";
import { createRouter } from "./lib/create-app";
import { documentCommonResponses } from "./lib/openapi";
import { limitBody } from "./middleware/body-limit";
import { corsFromEnv } from "./middleware/cors";
import { databaseSession } from "./middleware/database";
import { tolerateMissingJsonBody } from "./middleware/empty-body";
import { errorHandler, notFoundHandler } from "./middleware/error-handler";
import { observeRequests } from "./middleware/observe";
import { type LimiterName, perAddress } from "./middleware/rate-limit";
import { securityHeaders } from "./middleware/secure-headers";

export const API_PREFIX = "/api/v1";

/**
 * Routes anyone may call without a credential, limited per client address. Refresh has a limiter of
 * its own with far more room: a refresh token cannot be guessed, and many people may share an address.
 */
const ADDRESS_LIMITS = new Map<string, LimiterName>([
  [`${API_PREFIX}/auth/register`, "AUTH_LIMITER"],
  [`${API_PREFIX}/auth/login`, "AUTH_LIMITER"],
  [`${API_PREFIX}/auth/refresh`, "REFRESH_LIMITER"],
  // Anyone may load the status page; a cached build answers most loads, the limit holds off the rest.
  ["/status", "REFRESH_LIMITER"],
]);

/** Builds the whole API: global middleware, feature routers, the OpenAPI document and docs page. */
export function createApp() {
  const app = createRouter();
  app.use("*", requestId({ headerName: "X-Request-Id" }));
  // Outermost after the id: it times and counts everything below, error answers included.
  app.use("*", observeRequests());
  // Strict everywhere; only the share cards may be embedded by other sites.
  app.use("*", securityHeaders(isCardPath));
  app.use("*", corsFromEnv());
  // An import's file may be up to 10 MiB: its route reads the body with that limit itself.
  app.use("*", limitBody({ ownLimits: [`${API_PREFIX}/import`] }));
  app.use("*", tolerateMissingJsonBody({ ownLimits: [`${API_PREFIX}/import`] }));
  app.use("*", databaseSession());
  app.onError(errorHandler);
  app.notFound(notFoundHandler);

  // Signing in is limited per client address, before any password is hashed.
  for (const [path, limiter] of ADDRESS_LIMITS) app.use(path, perAddress(limiter));

  app.route("/", healthRouter);
  app.route("/", statusRouter);
  // The original system's clients, where their paths differ from ours (before the feature routers:
  // `/pets/create` is not a user id, `/tasks/{id}/progress` not a task route).
  app.route(API_PREFIX, compatRouter);
  app.route(`${API_PREFIX}/api/v1`, doubledPrefixRouter);
  app.route(`${API_PREFIX}/auth`, authRouter);
  app.route(`${API_PREFIX}/auth`, accountRouter);
  // Before tasksRouter: `/split/{id}` and `/{id}/split` must not be read as a task id route.
  app.route(`${API_PREFIX}/tasks`, splittingRouter);
  app.route(`${API_PREFIX}/tasks`, templateFromTaskRouter);
  app.route(`${API_PREFIX}/tasks`, tasksRouter);
  app.route(`${API_PREFIX}/capture`, captureRouter);
  app.route(`${API_PREFIX}/delegation`, delegationRouter);
  app.route(`${API_PREFIX}/event-types`, eventTypesRouter);
  app.route(`${API_PREFIX}/focus`, focusRouter);
  app.route(`${API_PREFIX}/focus`, focusSocketRouter);
  app.route(`${API_PREFIX}/rooms`, roomsRouter);
  app.route(`${API_PREFIX}/rooms`, roomSocketRouter);
  app.route(`${API_PREFIX}/analytics`, insightsRouter);
  app.route(`${API_PREFIX}/gamification`, gamificationRouter);
  app.route(`${API_PREFIX}/notifications`, notificationsRouter);
  app.route(`${API_PREFIX}/admin/dead-letters`, deadLettersRouter);
  app.route(`${API_PREFIX}/admin`, metricsRouter);
  app.route(`${API_PREFIX}/webhooks`, webhooksRouter);
  app.route(`${API_PREFIX}/hooks`, hooksRouter);
  app.route(`${API_PREFIX}/calendar`, calendarRouter);
  app.route(`${API_PREFIX}/import`, importsRouter);
  app.route(`${API_PREFIX}/export`, exportRouter);
  app.route(`${API_PREFIX}/analytics`, analyticsRouter);
  // Predictions, suggestions and models (BE-13): /predictions/*, /suggestions/now, /models.
  app.route(API_PREFIX, learningRouter);
  // The socket routes first: `/pets/ws` is not a user id.
  app.route(`${API_PREFIX}/pets`, petSocketRouter);
  app.route(`${API_PREFIX}/pets`, petsRouter);
  // The same routes under the name older clients use.
  app.route(`${API_PREFIX}/templates`, templatesRouter);
  app.route(`${API_PREFIX}/task-templates`, templatesRouter);
  app.route(`${API_PREFIX}/social`, socialRouter);
  // The MCP server where the protocol's clients look for it: at the root, beside the REST API.
  app.route("/mcp", mcpRouter);
  // Public pages and cards people open: /s/{code}, /u/{handle} and their .png.
  app.route("/", socialPagesRouter);

  documentCommonResponses(app.openAPIRegistry, (route) => ADDRESS_LIMITS.has(route.path));
  app.openAPIRegistry.registerComponent("securitySchemes", "bearerAuth", {
    type: "http",
    scheme: "bearer",
    description: "A login access token (JWT) or a personal API token (pap_…).",
  });
  app.doc31("/openapi.json", (c) => ({
    openapi: "3.1.0",
    info: {
      title: "Proxy Agent Platform API",
      version: "1.0.0",
      description:
        "Tasks, micro-steps, capture, delegation, focus sessions, rewards and a companion pet for ADHD brains, shared by people and AI agents. " +
        "Errors are RFC 9457 problem details (application/problem+json).",
    },
    servers: [{ url: new URL(c.req.url).origin }],
  }));
  app.get("/docs", (c) => c.html(docsPage({ title: "Proxy Agent Platform API", specUrl: "/openapi.json" })));
  return app;
}
