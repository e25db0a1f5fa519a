import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { notFound, validationFailed } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { LegacyFocusFields, legacyFocusStart } from "../compat/legacy-focus";
import { describeKinds } from "./kinds";
import { COMMAND_BODIES, type CommandType, type FocusCommand, parseCommand } from "./protocol";
import { getRecord, listRecords } from "./queries";
import {
  AnalyticsQuerySchema,
  EndSessionBodySchema,
  FocusAnalyticsSchema,
  FocusKindSchema,
  FocusRecordSchema,
  FocusSettingsPatchSchema,
  FocusSettingsSchema,
  FocusStateSchema,
  ListSessionsQuerySchema,
  SessionIdParamsSchema,
  StartFocusBodySchema,
} from "./schemas";
import {
  analyticsFor,
  endRunningSession,
  currentState as liveState,
  runCommand,
  settingsOf,
  changeSettings as storeSettings,
} from "./service";

const tags = ["Focus"];
const read = requireAuth({ scope: "focus:read" });
// Routes the user's timer answers alone: an erased timer refuses a deleted account itself (401), so
// they make no D1 lookup of the account (src/middleware/auth.ts).
const readLive = requireAuth({ scope: "focus:read", accountLookup: false });
const writeLive = requireAuth({ scope: "focus:write", accountLookup: false });
const stateResponse = (description: string) => jsonResponse(FocusStateSchema, description);
const START_DESCRIPTION =
  "Starts a work session of a kind — pomodoro, deep_work, short_burst, flowtime (open-ended) or custom — " +
  "optionally on a task or micro-step. Every device of the user is told over the focus WebSocket.";

/** The state after a start, with the session's fields at the top as the original API answered them. */
const StartedSchema = FocusStateSchema.extend(LegacyFocusFields).openapi("FocusStarted");

function startRoute<S extends z.ZodType>(path: string, schema: S, description: string) {
  return createRoute({
    method: "post",
    path,
    tags,
    summary: "Start a focus session",
    description,
    security: BEARER_SECURITY,
    middleware: writeLive,
    request: {
      body: { required: false, content: { "application/json": { schema: StartFocusBodySchema } } },
      headers: IdempotencyHeadersSchema,
    },
    responses: {
      201: jsonResponse(schema, "The state with the new session running"),
      ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
    },
  });
}

function stateRoute(path: string) {
  return createRoute({
    method: "get",
    path,
    tags,
    summary: "The live focus state: session or break, time left (derived, never stale)",
    security: BEARER_SECURITY,
    middleware: readLive,
    responses: { 200: stateResponse("The current state"), ...errorResponses(401, 403) },
  });
}

function analyticsRoute(path: string) {
  return createRoute({
    method: "get",
    path,
    tags,
    summary:
      "Focus analytics: minutes today, this week and in a range, completion, interruptions, best hours, streak",
    description:
      "Days are your local days (your account's time zone). The range defaults to the last 30 days.",
    security: BEARER_SECURITY,
    middleware: read,
    request: { query: AnalyticsQuerySchema },
    responses: { 200: jsonResponse(FocusAnalyticsSchema, "Analytics"), ...errorResponses(401, 403, 422) },
  });
}

function actionRoute<T extends Exclude<CommandType, "start">>(type: T, summary: string) {
  return createRoute({
    method: "post",
    path: `/enhanced/${type.replace("_", "-")}`,
    tags,
    summary,
    security: BEARER_SECURITY,
    middleware: writeLive,
    request: {
      body: { required: false, content: { "application/json": { schema: COMMAND_BODIES[type] } } },
      headers: IdempotencyHeadersSchema,
    },
    responses: {
      200: stateResponse("The state after the action"),
      ...errorResponses(400, 401, 403, 409, 413, 422),
    },
  });
}

// ---- /api/v1/focus/enhanced: the seed's path ----

export const listKinds = createRoute({
  method: "get",
  path: "/enhanced/kinds",
  tags,
  summary: "The session kinds, with your default lengths",
  security: BEARER_SECURITY,
  middleware: readLive,
  responses: { 200: jsonResponse(z.array(FocusKindSchema), "Kinds"), ...errorResponses(401, 403, 503) },
});

export const readSettings = createRoute({
  method: "get",
  path: "/enhanced/settings",
  tags,
  summary: "Your focus settings (pomodoro lengths, long break rhythm, kind defaults)",
  security: BEARER_SECURITY,
  middleware: readLive,
  responses: { 200: jsonResponse(FocusSettingsSchema, "Settings"), ...errorResponses(401, 403) },
});

export const changeSettings = createRoute({
  method: "patch",
  path: "/enhanced/settings",
  tags,
  summary: "Change some focus settings; the next session started uses them",
  security: BEARER_SECURITY,
  middleware: writeLive,
  request: { body: jsonBody(FocusSettingsPatchSchema) },
  responses: {
    200: jsonResponse(FocusSettingsSchema, "All settings after the change"),
    ...errorResponses(400, 401, 403, 413, 422, 503),
  },
});

export const enhancedState = stateRoute("/enhanced/state");
export const enhancedStart = startRoute("/enhanced/start", FocusStateSchema, START_DESCRIPTION);
export const pause = actionRoute("pause", "Pause the running session");
export const resume = actionRoute("resume", "Resume a paused session");
export const interrupt = actionRoute("interrupt", "Log an interruption (with a note; optionally pause)");
export const extend = actionRoute("extend", "Add minutes to the session or the break");
export const finish = actionRoute(
  "finish",
  "Finish the session (completed); its break starts unless take_break is false",
);
export const abandon = actionRoute("abandon", "Abandon the session (recorded as not completed)");
export const skipBreak = actionRoute("skip_break", "End the break now");
export const enhancedAnalytics = analyticsRoute("/enhanced/analytics");

// ---- /api/v1/focus: the basic sessions API, on the same timer ----

export const basicStart = startRoute(
  "/sessions",
  StartedSchema,
  `${START_DESCRIPTION} The answer also carries the session at its top level as the original API's clients ` +
    "read it (`session_id`, `user_id`, `duration_minutes`, `ended_at: null`, `completed: false` …); a " +
    "`user_id` in the body is ignored. Update it with PUT /api/v1/focus/sessions/{session_id}.",
);
export const currentState = stateRoute("/current");
export const basicAnalytics = analyticsRoute("/analytics");

export const listSessions = createRoute({
  method: "get",
  path: "/sessions",
  tags,
  summary: "Your ended focus sessions, newest first",
  description: 'The running session is at GET /api/v1/focus/current. Next page in `Link: <…>; rel="next"`.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListSessionsQuerySchema },
  responses: {
    200: pageResponse(FocusRecordSchema, "A page of sessions"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const getSession = createRoute({
  method: "get",
  path: "/sessions/{session_id}",
  tags,
  summary: "One ended focus session",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: SessionIdParamsSchema },
  responses: { 200: jsonResponse(FocusRecordSchema, "The session"), ...errorResponses(401, 403, 404, 422) },
});

export const endSession = createRoute({
  method: "post",
  path: "/sessions/{session_id}/end",
  tags,
  summary: "End the running session: completed (finish) or not (abandon)",
  security: BEARER_SECURITY,
  middleware: writeLive,
  request: {
    params: SessionIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: EndSessionBodySchema } } },
    headers: IdempotencyHeadersSchema,
  },
  responses: {
    200: stateResponse("The state after the session ended; the record is in last_session"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422),
  },
});

type Runner = typeof runCommand;

/**
 * Runs one command on the caller's timer (retry-safe with an Idempotency-Key) and returns the state;
 * `run` is how the command reaches the timer.
 */
async function perform(c: Context<AppEnv>, command: FocusCommand, run: Runner = runCommand) {
  const result = await idempotently(c, `focus.${command.type}`, command, (idempotency) =>
    run(c.env, c.var.principal.userId, command, idempotency),
  );
  return result.state;
}

/** The body as its command: defaults applied even when the client sent no body at all. */
function commandOf(type: CommandType, body: unknown): FocusCommand {
  const parsed = parseCommand(type, body);
  if (!parsed.ok) throw validationFailed(parsed.errors);
  return parsed.command;
}

const startHandler: AppRouteHandler<typeof enhancedStart> = async (c) =>
  c.json(await perform(c, commandOf("start", c.req.valid("json"))), 201);

const basicStartHandler: AppRouteHandler<typeof basicStart> = async (c) => {
  const state = await perform(c, commandOf("start", c.req.valid("json")));
  // A start always leaves a session running (a refusal throws).
  if (!state.session) throw new Error("focus start answered without a session");
  return c.json({ ...state, ...legacyFocusStart(state.session, c.var.principal.userId) }, 201);
};

const stateHandler: AppRouteHandler<typeof enhancedState> = async (c) =>
  c.json(await liveState(c.env, c.var.principal.userId), 200);

const analyticsHandler: AppRouteHandler<typeof enhancedAnalytics> = async (c) =>
  c.json(await analyticsFor(c.var.db, c.var.principal.userId, c.req.valid("query")), 200);

function actionHandler(type: Exclude<CommandType, "start">): AppRouteHandler<typeof pause> {
  return async (c) => c.json(await perform(c, commandOf(type, c.req.valid("json"))), 200);
}

const listSessionsHandler: AppRouteHandler<typeof listSessions> = async (c) => {
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor);
  const page = await listRecords(c.var.db, c.var.principal.userId, query, afterId);
  return c.json(withNextLink(c, page), 200);
};

const getSessionHandler: AppRouteHandler<typeof getSession> = async (c) => {
  const record = await getRecord(c.var.db, c.var.principal.userId, c.req.valid("param").session_id);
  if (!record) throw notFound("Focus session");
  return c.json(record, 200);
};

const endSessionHandler: AppRouteHandler<typeof endSession> = async (c) => {
  const { session_id } = c.req.valid("param");
  // Parsed here as well: with no body at all the validator does not run, and its defaults must still apply.
  const body = EndSessionBodySchema.parse(c.req.valid("json") ?? {});
  const command: FocusCommand = body.completed
    ? { type: "finish", take_break: body.take_break, session_id }
    : { type: "abandon", session_id };
  const end: Runner = (env, userId, ending, idempotency) =>
    endRunningSession(env, c.var.db, userId, session_id, ending, idempotency);
  return c.json(await perform(c, command, end), 200);
};

const listKindsHandler: AppRouteHandler<typeof listKinds> = async (c) =>
  c.json(describeKinds(await settingsOf(c.env, c.var.principal.userId)), 200);

const readSettingsHandler: AppRouteHandler<typeof readSettings> = async (c) =>
  c.json(await settingsOf(c.env, c.var.principal.userId), 200);

const changeSettingsHandler: AppRouteHandler<typeof changeSettings> = async (c) =>
  c.json(await storeSettings(c.env, c.var.principal.userId, c.req.valid("json")), 200);

export const focusRouter = createRouter()
  .openapi(listKinds, listKindsHandler)
  .openapi(readSettings, readSettingsHandler)
  .openapi(changeSettings, changeSettingsHandler)
  .openapi(enhancedState, stateHandler)
  .openapi(enhancedStart, startHandler)
  .openapi(pause, actionHandler("pause"))
  .openapi(resume, actionHandler("resume"))
  .openapi(interrupt, actionHandler("interrupt"))
  .openapi(extend, actionHandler("extend"))
  .openapi(finish, actionHandler("finish"))
  .openapi(abandon, actionHandler("abandon"))
  .openapi(skipBreak, actionHandler("skip_break"))
  .openapi(enhancedAnalytics, analyticsHandler)
  .openapi(basicStart, basicStartHandler)
  .openapi(listSessions, listSessionsHandler)
  .openapi(getSession, getSessionHandler)
  .openapi(endSession, endSessionHandler)
  .openapi(currentState, stateHandler)
  .openapi(basicAnalytics, analyticsHandler);
