import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { addDays } from "../../lib/time";
import { requireAuth } from "../../middleware/auth";
import { parseCommand } from "../focus/protocol";
import { getRecord, listRecords } from "../focus/queries";
import { analyticsFor, currentState, runCommand } from "../focus/service";
import { callerFromPath } from "./caller";
import {
  type LegacyFocusSession,
  LegacyFocusSessionSchema,
  legacyFromLive,
  legacyFromRecord,
} from "./legacy-focus";

const tags = ["Original clients"];
/** Interruptions one PUT may add: each is a command on the timer. */
export const MAX_INTERRUPTIONS_PER_UPDATE = 20;
// The analytics span a year back from today (the range may hold 366 local days; today's date in the
// user's zone may be a day either side of UTC's).
const ANALYTICS_DAYS_BACK = 364;

const SessionParams = z.object({
  session_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "session_id", in: "path" }, description: "The session's id" }),
});

const UserParams = z.object({
  user_id: z
    .string()
    .min(1)
    .max(200)
    .openapi({ param: { name: "user_id", in: "path" }, description: "`me`, your user id or your username" }),
});

export const UpdateFocusOriginalBodySchema = z
  .object({
    completed: z
      .boolean()
      .optional()
      .openapi({ description: "true finishes the running session; false (with ended_at) abandons it" }),
    interruptions: z
      .number()
      .int()
      .min(0)
      .max(100)
      .optional()
      .openapi({
        description: `Interruptions so far: raises the count (by at most ${MAX_INTERRUPTIONS_PER_UPDATE})`,
      }),
    ended_at: z.iso
      .datetime({ offset: true })
      .optional()
      .openapi({ description: "With completed: false, ends the session; the time is the server's" }),
  })
  .openapi("UpdateFocusSessionOriginal");

export const update = createRoute({
  method: "put",
  path: "/focus/sessions/{session_id}",
  tags,
  summary: "Update a focus session: interruptions, completed (the original API's path)",
  description:
    "Drives our timer: interruptions are POST /api/v1/focus/enhanced/interrupt, `completed: true` is " +
    "POST /api/v1/focus/sessions/{session_id}/end (no break), `completed: false` with `ended_at` abandons. " +
    "An ended session answers itself when nothing would change, else 409; a session that is not yours, 404.",
  security: BEARER_SECURITY,
  // The timer is asked first, and it refuses a deleted account itself (401).
  middleware: requireAuth({ scope: "focus:write", accountLookup: false }),
  request: { params: SessionParams, body: jsonBody(UpdateFocusOriginalBodySchema) },
  responses: {
    200: jsonResponse(LegacyFocusSessionSchema, "The session"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

export const FocusAnalyticsOriginalSchema = z
  .object({
    total_sessions: z.number().int(),
    completed_sessions: z.number().int(),
    completion_rate: z.number().min(0).max(1),
    total_focus_minutes: z.number().openapi({ description: "Minutes actually focused (pauses excluded)" }),
    average_duration_minutes: z.number(),
    range: z.object({ from: z.string(), to: z.string() }).openapi({ description: "Your local days counted" }),
  })
  .openapi("FocusAnalyticsOriginal");

export const analytics = createRoute({
  method: "get",
  path: "/focus/sessions/analytics/{user_id}",
  tags,
  summary: "Your focus totals over the last year (the original API's path)",
  description:
    "From GET /api/v1/focus/analytics (its `totals`, over a year): zeros when there are none. Another " +
    "user's id answers 404.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "focus:read" }),
  request: { params: UserParams },
  responses: {
    200: jsonResponse(FocusAnalyticsOriginalSchema, "The totals"),
    ...errorResponses(401, 403, 404, 422),
  },
});

export const listForUser = createRoute({
  method: "get",
  path: "/focus/sessions/user/{user_id}",
  tags,
  summary: "Your ended focus sessions, newest first (the original API's path)",
  description: "From GET /api/v1/focus/sessions, first page only. Another user's id answers 404.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "focus:read" }),
  request: {
    params: UserParams,
    query: z.object({ limit: z.coerce.number().int().min(1).max(100).default(50) }),
  },
  responses: {
    200: jsonResponse(z.array(LegacyFocusSessionSchema), "The sessions"),
    ...errorResponses(401, 403, 404, 422),
  },
});

const sessionNotFound = () => notFound("Focus session");

const updateHandler: AppRouteHandler<typeof update> = async (c) => {
  const sessionId = c.req.valid("param").session_id;
  const body = c.req.valid("json");
  const userId = c.var.principal.userId;
  const state = await currentState(c.env, userId);
  const running = state.session?.session_id === sessionId ? state.session : null;
  if (!running) {
    const record = await getRecord(c.var.db, userId, sessionId);
    if (!record) throw sessionNotFound();
    const changes =
      (body.completed !== undefined && body.completed !== record.completed) ||
      (body.interruptions !== undefined && body.interruptions !== record.interruptions);
    if (changes) throw new ApiError(409, "session_ended", "This focus session has ended; it cannot change.");
    return c.json(legacyFromRecord(record, userId), 200);
  }
  const more = (body.interruptions ?? 0) - running.interruptions;
  if (more > MAX_INTERRUPTIONS_PER_UPDATE) {
    throw validationFailed([
      { field: "interruptions", message: `Raise it by at most ${MAX_INTERRUPTIONS_PER_UPDATE} at a time` },
    ]);
  }
  let answer: LegacyFocusSession = legacyFromLive(running, userId);
  for (let i = 0; i < more; i++) {
    const next = await runCommand(c.env, userId, command("interrupt", sessionId));
    if (next.state.session) answer = legacyFromLive(next.state.session, userId);
  }
  const ending =
    body.completed === true
      ? "finish"
      : body.completed === false && body.ended_at !== undefined
        ? "abandon"
        : null;
  if (ending) {
    const ended = await runCommand(c.env, userId, command(ending, sessionId));
    const record = ended.state.last_session;
    if (record?.session_id !== sessionId) throw sessionNotFound();
    answer = legacyFromRecord(record, userId);
  }
  return c.json(answer, 200);
};

/** A timer command on this session (a finish starts no break: the original had none). */
function command(type: "interrupt" | "finish" | "abandon", sessionId: string) {
  const body = type === "finish" ? { session_id: sessionId, take_break: false } : { session_id: sessionId };
  const parsed = parseCommand(type, body);
  if (!parsed.ok) throw validationFailed(parsed.errors);
  return parsed.command;
}

const analyticsHandler: AppRouteHandler<typeof analytics> = async (c) => {
  const userId = await callerFromPath(c.var.db, c.var.principal.userId, c.req.valid("param").user_id, "User");
  const from = addDays(new Date().toISOString().slice(0, 10), -ANALYTICS_DAYS_BACK);
  const { totals, range } = await analyticsFor(c.var.db, userId, { from });
  return c.json(
    {
      total_sessions: totals.sessions,
      completed_sessions: totals.completed_sessions,
      completion_rate: totals.completion_rate ?? 0,
      total_focus_minutes: totals.focus_minutes,
      average_duration_minutes: totals.average_minutes ?? 0,
      range,
    },
    200,
  );
};

const listForUserHandler: AppRouteHandler<typeof listForUser> = async (c) => {
  const userId = await callerFromPath(c.var.db, c.var.principal.userId, c.req.valid("param").user_id, "User");
  const page = await listRecords(c.var.db, userId, { limit: c.req.valid("query").limit }, null);
  return c.json(
    page.items.map((record) => legacyFromRecord(record, userId)),
    200,
  );
};

export const focusCompatRouter = createRouter()
  .openapi(update, updateHandler)
  .openapi(analytics, analyticsHandler)
  .openapi(listForUser, listForUserHandler);
