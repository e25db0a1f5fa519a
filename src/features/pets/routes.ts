import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type AppEnv, type AppRouteHandler, createRouter } from "../../lib/create-app";
import { notFound } from "../../lib/errors";
import { IdempotencyHeadersSchema, idempotently } from "../../lib/idempotency";
import { sha256Hex } from "../../lib/ids";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import { perUser } from "../../middleware/rate-limit";
import type { PetAction } from "./care";
import { ABILITIES, STAGES } from "./growth";
import type { PetSocketAction } from "./protocol";
import { listInteractions } from "./queries";
import {
  AbilityTableSchema,
  CreatePetBodySchema,
  DialogueSchema,
  FeedBodySchema,
  GeneratedPersonalitySchema,
  GeneratePersonalityBodySchema,
  InteractionSchema,
  InteractionsQuerySchema,
  LevelStatusSchema,
  PetIdParamsSchema,
  PetOutcomeSchema,
  PetSchema,
  UpdatePetBodySchema,
  UserIdParamsSchema,
} from "./schemas";
import * as service from "./service";

const tags = ["Pets"];
const read = requireAuth({ scope: "pets:read" });
const write = requireAuth({ scope: "pets:write" });
// Routes the user's pet object answers alone (or static tables): an erased object refuses a deleted
// account itself (401), so they make no D1 lookup of the account (src/middleware/auth.ts).
const readLive = requireAuth({ scope: "pets:read", accountLookup: false });
const writeLive = requireAuth({ scope: "pets:write", accountLookup: false });
const ACTION_ERRORS = errorResponses(400, 401, 403, 404, 409, 413, 422, 503);
const COOLDOWN_NOTE = "A 409 `cooldown` carries Retry-After (seconds).";

export const adopt = createRoute({
  method: "post",
  path: "/",
  tags,
  summary: "Adopt your pet: a dog, cat, dragon, owl or fox (one per person)",
  description:
    "It starts at level 1, a baby, fed and happy, with a personality fitted to how you have been working. " +
    "It grows on the XP your work earns (see `treats`); it never dies and never loses levels.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(CreatePetBodySchema) },
  responses: {
    201: jsonResponse(PetSchema, "Your new pet"),
    ...errorResponses(400, 401, 403, 409, 413, 422, 503),
  },
});

export const getPet = createRoute({
  method: "get",
  path: "/{user_id}",
  tags,
  summary: "Your pet now: level, XP, hunger (fullness), happiness, stage, mood (stats derived this instant)",
  security: BEARER_SECURITY,
  middleware: readLive,
  request: { params: UserIdParamsSchema },
  responses: { 200: jsonResponse(PetSchema, "Your pet"), ...errorResponses(401, 403, 404, 503) },
});

export const updatePet = createRoute({
  method: "patch",
  path: "/{user_id}",
  tags,
  summary: "Rename your pet, or switch automatic evolution off and on",
  security: BEARER_SECURITY,
  middleware: writeLive,
  request: { params: UserIdParamsSchema, body: jsonBody(UpdatePetBodySchema) },
  responses: {
    200: jsonResponse(PetSchema, "Your pet"),
    ...errorResponses(400, 401, 403, 404, 413, 422, 503),
  },
});

export const feed = createRoute({
  method: "post",
  path: "/{user_id}/feed",
  tags,
  summary: "Feed your pet XP from its treats: XP, fullness and happiness rise; it may level up and evolve",
  description:
    "Treats are the XP your completed steps, tasks and focus sessions earned, not yet fed. A feed may " +
    "level up several times at once (50 × level² XP per level) and evolve at levels 5 and 10. " +
    "Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: writeLive,
  request: { params: UserIdParamsSchema, body: jsonBody(FeedBodySchema), headers: IdempotencyHeadersSchema },
  responses: { 200: jsonResponse(PetOutcomeSchema, "What the feed did"), ...ACTION_ERRORS },
});

function careRoute(action: "play" | "pet", summary: string) {
  return createRoute({
    method: "post",
    path: `/{user_id}/${action}`,
    tags,
    summary,
    description: `${COOLDOWN_NOTE} Retry-safe with an Idempotency-Key.`,
    security: BEARER_SECURITY,
    middleware: writeLive,
    request: { params: UserIdParamsSchema, headers: IdempotencyHeadersSchema },
    responses: { 200: jsonResponse(PetOutcomeSchema, "What it did"), ...ACTION_ERRORS },
  });
}

export const play = careRoute(
  "play",
  "Play with your pet: +15 happiness, a little hungrier (every 10 minutes; 5 from level 8)",
);
export const stroke = careRoute("pet", "Pet your pet: +5 happiness (every 2 minutes)");

export const interactions = createRoute({
  method: "get",
  path: "/{user_id}/interactions",
  tags,
  summary: "Your pet's history, newest first: adoption, feeds, play, petting, evolutions, work that fed it",
  description: 'Next page in `Link: <…>; rel="next"`.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: UserIdParamsSchema, query: InteractionsQuerySchema },
  responses: {
    200: pageResponse(InteractionSchema, "A page of interactions"),
    ...errorResponses(400, 401, 403, 404, 422),
  },
});

export const image = createRoute({
  method: "get",
  path: "/{pet_id}/image.svg",
  tags,
  summary: "Your creature's picture: drawn from its seed, species and stage; its face shows its mood",
  description:
    "The same creature, stage and mood always give the same SVG (ETag; send If-None-Match for a 304). " +
    "It holds no script and no external reference.",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: PetIdParamsSchema },
  responses: {
    200: { description: "The SVG", content: { "image/svg+xml": { schema: z.string() } } },
    304: { description: "Not modified" },
    ...errorResponses(401, 403, 404),
  },
});

export const levelStatus = createRoute({
  method: "get",
  path: "/level/{user_id}/status",
  tags,
  summary: "Your pet's level status: XP, stats, stage, whether it can evolve, abilities unlocked",
  security: BEARER_SECURITY,
  middleware: readLive,
  request: { params: UserIdParamsSchema },
  responses: { 200: jsonResponse(LevelStatusSchema, "Level status"), ...errorResponses(401, 403, 404, 503) },
});

export const evolve = createRoute({
  method: "post",
  path: "/level/{user_id}/evolve",
  tags,
  summary: "Evolve your pet now (when `can_evolve`: teen from level 5, adult from level 10)",
  description: "Useful with auto_evolve off, for a ceremony of your own. Retry-safe with an Idempotency-Key.",
  security: BEARER_SECURITY,
  middleware: writeLive,
  request: { params: UserIdParamsSchema, headers: IdempotencyHeadersSchema },
  responses: { 200: jsonResponse(PetOutcomeSchema, "The evolved pet"), ...ACTION_ERRORS },
});

export const abilityTable = createRoute({
  method: "get",
  path: "/level/abilities",
  tags,
  summary: "Every ability and stage, with the level that unlocks it, and the XP curve",
  security: BEARER_SECURITY,
  middleware: readLive,
  responses: { 200: jsonResponse(AbilityTableSchema, "The table"), ...errorResponses(401, 403) },
});

export const generatePersonality = createRoute({
  method: "post",
  path: "/generate/{user_id}/personality",
  tags,
  summary: "Give your pet a new AI-written personality, fitted to how you work",
  description:
    "Your last four weeks decide the temperament: steady, high output → energetic; little activity → calm " +
    "and supportive; bursts and gaps → patient. Workers AI writes it (JSON schema, checked); when it is " +
    "unavailable, slow (8 s) or off-script, a local writer does (`generated_by: local`).",
  security: BEARER_SECURITY,
  // Each call may reach Workers AI: limited per user.
  middleware: [write, perUser("AI_LIMITER")] as const,
  request: {
    params: UserIdParamsSchema,
    body: { required: false, content: { "application/json": { schema: GeneratePersonalityBodySchema } } },
  },
  responses: {
    200: jsonResponse(GeneratedPersonalitySchema, "The new personality"),
    ...errorResponses(400, 401, 403, 404, 413, 422, 429, 503),
  },
});

export const dialogue = createRoute({
  method: "get",
  path: "/generate/{user_id}/dialogue",
  tags,
  summary: "What your pet says now: its mood, your day (steps, streak, treats, time away)",
  security: BEARER_SECURITY,
  middleware: read,
  request: { params: UserIdParamsSchema },
  responses: { 200: jsonResponse(DialogueSchema, "A line"), ...errorResponses(401, 403, 404, 503) },
});

const userOf = (c: Context<AppEnv>, param: string) => service.ownUserId(c.var.principal.userId, param);

/** One care action on the caller's pet (retry-safe with an Idempotency-Key). */
async function perform(
  c: Context<AppEnv>,
  userId: string,
  action: Extract<PetAction, { type: PetSocketAction }>,
) {
  const result = await idempotently(c, `pet.${action.type}`, action, (idempotency) =>
    service.actOnPet(c.env, userId, action, idempotency),
  );
  return result.value;
}

const adoptHandler: AppRouteHandler<typeof adopt> = async (c) =>
  c.json(await service.adoptPet(c.env, c.var.db, c.var.principal.userId, c.req.valid("json")), 201);

const getPetHandler: AppRouteHandler<typeof getPet> = async (c) =>
  c.json(await service.viewPet(c.env, userOf(c, c.req.valid("param").user_id)), 200);

const updatePetHandler: AppRouteHandler<typeof updatePet> = async (c) =>
  c.json(await service.updatePet(c.env, userOf(c, c.req.valid("param").user_id), c.req.valid("json")), 200);

const feedHandler: AppRouteHandler<typeof feed> = async (c) => {
  const userId = userOf(c, c.req.valid("param").user_id);
  return c.json(await perform(c, userId, { type: "feed", xp: c.req.valid("json").xp_amount }), 200);
};

function careHandler(type: "play" | "pet" | "evolve"): AppRouteHandler<typeof play> {
  return async (c) => c.json(await perform(c, userOf(c, c.req.valid("param").user_id), { type }), 200);
}

const interactionsHandler: AppRouteHandler<typeof interactions> = async (c) => {
  const userId = userOf(c, c.req.valid("param").user_id);
  const query = c.req.valid("query");
  const afterId = pageAfter(query.cursor);
  // The pet's object writes D1 just after it answers: let it finish, so you read your own care.
  await service.petState(c.env, userId).flushed();
  const page = await listInteractions(c.var.db, userId, query.limit, afterId);
  return c.json(withNextLink(c, page), 200);
};

const imageHandler: AppRouteHandler<typeof image> = async (c) => {
  const svg = await service.portraitOf(c.var.db, c.var.principal.userId, c.req.valid("param").pet_id);
  if (svg === undefined) throw notFound("Pet");
  const etag = `"${(await sha256Hex(svg)).slice(0, 32)}"`;
  // Private: the picture is the owner's; short-lived: the face follows the mood.
  c.header("Cache-Control", "private, max-age=60");
  c.header("ETag", etag);
  if (c.req.header("if-none-match") === etag) return c.body(null, 304);
  c.header("Content-Type", "image/svg+xml; charset=utf-8");
  c.header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
  return c.body(svg, 200);
};

const levelStatusHandler: AppRouteHandler<typeof levelStatus> = async (c) =>
  c.json(service.levelStatus(await service.viewPet(c.env, userOf(c, c.req.valid("param").user_id))), 200);

const abilityTableHandler: AppRouteHandler<typeof abilityTable> = (c) =>
  c.json(
    {
      abilities: ABILITIES.map((a) => ({ ...a })),
      stages: STAGES.map((s) => ({ ...s })),
      curve: "XP from level L to L+1 is 50 × L² (50, 200, 450 … 120,050 at level 49); level 50 is the top.",
    },
    200,
  );

const generatePersonalityHandler: AppRouteHandler<typeof generatePersonality> = async (c) => {
  const userId = userOf(c, c.req.valid("param").user_id);
  const body = GeneratePersonalityBodySchema.parse(c.req.valid("json") ?? {});
  return c.json(await service.generatePersonality(c.env, c.var.db, userId, body.pattern), 200);
};

const dialogueHandler: AppRouteHandler<typeof dialogue> = async (c) =>
  c.json(await service.dialogueOf(c.env, c.var.db, userOf(c, c.req.valid("param").user_id)), 200);

/** Static paths first: `/level/…` and `/generate/…` must not be read as a user id. */
export const petsRouter = createRouter()
  .openapi(abilityTable, abilityTableHandler)
  .openapi(levelStatus, levelStatusHandler)
  .openapi(evolve, careHandler("evolve"))
  .openapi(generatePersonality, generatePersonalityHandler)
  .openapi(dialogue, dialogueHandler)
  .openapi(adopt, adoptHandler)
  .openapi(image, imageHandler)
  .openapi(interactions, interactionsHandler)
  .openapi(feed, feedHandler)
  .openapi(play, careHandler("play"))
  .openapi(stroke, careHandler("pet"))
  .openapi(getPet, getPetHandler)
  .openapi(updatePet, updatePetHandler);
