import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { QueryBoolean } from "../../lib/enums";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { afterWrite } from "../../lib/publish";
import { requireAuth } from "../../middleware/auth";
import { leaderboardMetrics, rebuildLeaderboards, standingOf, topOf } from "./leaderboard";
import { weekStartOf } from "./progress";
import {
  AcceptedSchema,
  BadgesSchema,
  BonusEventBodySchema,
  BonusEventIdParamsSchema,
  BonusEventSchema,
  CalculatedXpSchema,
  CalculateXpBodySchema,
  ChallengeSchema,
  ChallengesQuerySchema,
  LeaderboardQuerySchema,
  LeaderboardSchema,
  LedgerEntrySchema,
  LedgerQuerySchema,
  ManualGrantBodySchema,
  OptInBodySchema,
  OptInSchema,
  ProfileSchema,
  StreakSchema,
} from "./schemas";
import * as service from "./service";

const tags = ["Gamification"];
const read = requireAuth({ scope: "gamification:read" });
const write = requireAuth({ scope: "gamification:write" });
const admin = requireAuth({ scope: "admin" });

export const me = createRoute({
  method: "get",
  path: "/me",
  tags,
  summary: "Your XP, level (current and next threshold), themes, streak and badge count",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(ProfileSchema, "Your standing"), ...errorResponses(401, 403) },
});

export const ledger = createRoute({
  method: "get",
  path: "/xp",
  tags,
  summary: "Your XP grants, newest first (the ledger: each with its source)",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: LedgerQuerySchema },
  responses: {
    200: pageResponse(LedgerEntrySchema, "A page of grants"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const badges = createRoute({
  method: "get",
  path: "/badges",
  tags,
  summary: "Every badge (bronze, silver, gold) with when you unlocked it, and progress to each next tier",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(BadgesSchema, "Badges"), ...errorResponses(401, 403) },
});

export const streak = createRoute({
  method: "get",
  path: "/enhanced/streak",
  tags,
  summary: "Your daily streak in your time zone: current, longest, freezes held and spent",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(StreakSchema, "Streak"), ...errorResponses(401, 403) },
});

export const calculate = createRoute({
  method: "post",
  path: "/enhanced/xp/calculate",
  tags,
  summary: "What a step, task or focus session would earn, with its breakdown; grants nothing",
  security: BEARER_SECURITY,
  middleware: read,
  request: { body: jsonBody(CalculateXpBodySchema) },
  responses: {
    200: jsonResponse(CalculatedXpSchema, "The amount"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

export const challenges = createRoute({
  method: "get",
  path: "/enhanced/challenges",
  tags,
  summary: "A day's challenges (your today by default) with your progress",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ChallengesQuerySchema },
  responses: { 200: jsonResponse(z.array(ChallengeSchema), "Challenges"), ...errorResponses(401, 403, 422) },
});

export const leaderboard = createRoute({
  method: "get",
  path: "/enhanced/leaderboard",
  tags,
  summary: "The weekly (from Monday 00:00 UTC) or all-time XP board: top N, and your rank with neighbours",
  description: "Only users who opted in appear (opting in is off by default).",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: LeaderboardQuerySchema },
  responses: { 200: jsonResponse(LeaderboardSchema, "The board"), ...errorResponses(401, 403, 422) },
});

export const optIn = createRoute({
  method: "put",
  path: "/enhanced/leaderboard/opt-in",
  tags,
  summary: "Appear on the leaderboards (or leave them), under a name of your choice",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(OptInBodySchema) },
  responses: {
    200: jsonResponse(OptInSchema, "Your setting"),
    ...errorResponses(400, 401, 403, 413, 422, 503),
  },
});

export const listBonus = createRoute({
  method: "get",
  path: "/enhanced/bonus-events",
  tags,
  summary: "Bonus XP windows that are on or coming",
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: z.object({ include_past: QueryBoolean.optional() }) },
  responses: { 200: jsonResponse(z.array(BonusEventSchema), "Windows"), ...errorResponses(401, 403, 422) },
});

export const createBonus = createRoute({
  method: "post",
  path: "/enhanced/bonus-events",
  tags,
  summary: "Create a bonus XP window (admin token)",
  description: "Grants inside a window are multiplied; overlapping windows add their extras, up to 3×.",
  security: BEARER_SECURITY,
  middleware: admin,
  request: { body: jsonBody(BonusEventBodySchema) },
  responses: { 201: jsonResponse(BonusEventSchema, "Created"), ...errorResponses(400, 401, 403, 413, 422) },
});

export const cancelBonus = createRoute({
  method: "delete",
  path: "/enhanced/bonus-events/{event_id}",
  tags,
  summary: "Cancel a bonus XP window (admin token)",
  security: BEARER_SECURITY,
  middleware: admin,
  request: { params: BonusEventIdParamsSchema },
  responses: { 204: { description: "Cancelled" }, ...errorResponses(401, 403, 404, 422) },
});

export const manualGrant = createRoute({
  method: "post",
  path: "/enhanced/xp/grant",
  tags,
  summary: "Grant XP by hand (admin token); applied through the event bus, once per key",
  security: BEARER_SECURITY,
  middleware: admin,
  request: { body: jsonBody(ManualGrantBodySchema) },
  responses: {
    202: jsonResponse(AcceptedSchema, "Accepted"),
    ...errorResponses(400, 401, 403, 404, 413, 422),
  },
});

export const rebuild = createRoute({
  method: "post",
  path: "/enhanced/leaderboard/rebuild",
  tags,
  summary: "Copy every opted-in user from D1 to the leaderboards again (admin token)",
  security: BEARER_SECURITY,
  middleware: admin,
  responses: {
    200: jsonResponse(z.object({ users: z.number().int() }).openapi("LeaderboardRebuild"), "Copied"),
    ...errorResponses(401, 403),
  },
});

const OperationTimingSchema = z.object({
  count: z.number().int(),
  p50_ms: z.number(),
  p99_ms: z.number(),
  max_ms: z.number(),
});

export const metrics = createRoute({
  method: "get",
  path: "/enhanced/leaderboard/metrics",
  tags,
  summary: "Each leaderboard shard's size and timings of its own operations (admin token)",
  security: BEARER_SECURITY,
  middleware: admin,
  responses: {
    200: jsonResponse(
      z
        .array(
          z.object({
            shard: z.number().int(),
            entries: z.number().int(),
            operations: z.record(z.string(), OperationTimingSchema),
          }),
        )
        .openapi("LeaderboardMetrics"),
      "Per shard",
    ),
    ...errorResponses(401, 403),
  },
});

const meHandler: AppRouteHandler<typeof me> = async (c) =>
  c.json(await service.profileOf(c.var.db, c.var.principal.userId), 200);

const ledgerHandler: AppRouteHandler<typeof ledger> = async (c) => {
  const query = c.req.valid("query");
  const page = await service.ledgerOf(c.var.db, c.var.principal.userId, query, pageAfter(query.cursor));
  return c.json(withNextLink(c, page), 200);
};

const badgesHandler: AppRouteHandler<typeof badges> = async (c) =>
  c.json(await service.badgesOf(c.var.db, c.var.principal.userId), 200);

const streakHandler: AppRouteHandler<typeof streak> = async (c) =>
  c.json(await service.streakFor(c.var.db, c.var.principal.userId), 200);

const calculateHandler: AppRouteHandler<typeof calculate> = async (c) =>
  c.json(await service.calculateXp(c.var.db, c.req.valid("json")), 200);

const challengesHandler: AppRouteHandler<typeof challenges> = async (c) =>
  c.json(await service.challengesOf(c.var.db, c.var.principal.userId, c.req.valid("query").date), 200);

const leaderboardHandler: AppRouteHandler<typeof leaderboard> = async (c) => {
  const { board, limit, around } = c.req.valid("query");
  const userId = c.var.principal.userId;
  const now = Date.now();
  const [top, mine, optedIn] = await Promise.all([
    topOf(c.env, board, limit, now),
    standingOf(c.env, board, userId, around, now),
    service.isOptedIn(c.var.db, userId),
  ]);
  const shown = <T extends { user_id: string }>({ user_id, ...row }: T) => ({
    ...row,
    is_me: user_id === userId,
  });
  return c.json(
    {
      board,
      week_starts_on: weekStartOf(now),
      entries: top.map(shown),
      me: mine
        ? { rank: mine.rank, xp: mine.xp, above: mine.above.map(shown), below: mine.below.map(shown) }
        : null,
      opted_in: optedIn,
    },
    200,
  );
};

const optInHandler: AppRouteHandler<typeof optIn> = async (c) =>
  c.json(
    await service.setLeaderboardOptIn(c.env, c.var.db, c.var.principal.userId, c.req.valid("json")),
    200,
  );

const listBonusHandler: AppRouteHandler<typeof listBonus> = async (c) =>
  c.json(await service.listBonusEvents(c.var.db, c.req.valid("query").include_past ?? false), 200);

const createBonusHandler: AppRouteHandler<typeof createBonus> = async (c) =>
  c.json(await service.createBonusEvent(c.var.db, c.var.principal.userId, c.req.valid("json")), 201);

const cancelBonusHandler: AppRouteHandler<typeof cancelBonus> = async (c) => {
  await service.cancelBonusEvent(c.var.db, c.req.valid("param").event_id);
  return c.body(null, 204);
};

const manualGrantHandler: AppRouteHandler<typeof manualGrant> = async (c) => {
  const event = await service.requestManualGrant(c.var.db, c.req.valid("json"), c.var.principal.userId);
  afterWrite(c, [event]);
  return c.json({ event_id: event.id, status: "accepted" as const }, 202);
};

const rebuildHandler: AppRouteHandler<typeof rebuild> = async (c) =>
  c.json(await rebuildLeaderboards(c.env, c.var.db), 200);

const metricsHandler: AppRouteHandler<typeof metrics> = async (c) =>
  c.json(await leaderboardMetrics(c.env), 200);

export const gamificationRouter = createRouter()
  .openapi(me, meHandler)
  .openapi(ledger, ledgerHandler)
  .openapi(badges, badgesHandler)
  .openapi(streak, streakHandler)
  .openapi(calculate, calculateHandler)
  .openapi(challenges, challengesHandler)
  .openapi(leaderboard, leaderboardHandler)
  .openapi(optIn, optInHandler)
  .openapi(listBonus, listBonusHandler)
  .openapi(createBonus, createBonusHandler)
  .openapi(cancelBonus, cancelBonusHandler)
  .openapi(manualGrant, manualGrantHandler)
  .openapi(rebuild, rebuildHandler)
  .openapi(metrics, metricsHandler);
