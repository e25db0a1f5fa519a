import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { caseInsensitiveEnum } from "../../lib/enums";
import { ApiError } from "../../lib/errors";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse } from "../../lib/openapi";
import { requireAuth } from "../../middleware/auth";
import { stepXp } from "../gamification/xp";
import { feedGains } from "../pets/care";
import { PET_SPECIES } from "../pets/growth";
import { PetOutcomeSchema, PetSchema } from "../pets/schemas";
import { actOnPet, adoptPet, viewPet } from "../pets/service";

const tags = ["Original clients"];
const IgnoredUserId = z
  .string()
  .max(200)
  .optional()
  .openapi({ description: "Ignored: always you (the original app sends a placeholder)" });

export const CreateLegacyPetBodySchema = z
  .object({
    user_id: IgnoredUserId,
    species: caseInsensitiveEnum(PET_SPECIES),
    name: z.string().trim().min(1, "Give your pet a name").max(100, "At most 100 characters"),
  })
  .openapi("CreatePetOriginal");

export const create = createRoute({
  method: "post",
  path: "/pets/create",
  tags,
  summary: "Adopt your pet (the original API's path)",
  description:
    "The same as POST /api/v1/pets: one pet per person (a second is 409 `pet_exists`). `user_id` is ignored.",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "pets:write" }),
  request: { body: jsonBody(CreateLegacyPetBodySchema) },
  responses: {
    201: jsonResponse(PetSchema, "Your new pet"),
    ...errorResponses(400, 401, 403, 409, 413, 422, 503),
  },
});

const PRIORITIES = ["low", "medium", "high", "critical"] as const;

export const FeedQuerySchema = z.object({
  user_id: IgnoredUserId,
  task_priority: z
    .string()
    .max(20)
    .optional()
    .openapi({ description: "low, medium, high or critical (any case); anything else counts as medium" }),
  task_estimated_minutes: z.coerce
    .number()
    .int()
    .min(0)
    .max(1440)
    .optional()
    .openapi({ description: "The finished work's estimate, 0–1440 minutes" }),
});

export const FeedOriginalSchema = PetOutcomeSchema.extend({
  xp_gained: z.number().int().openapi({ description: "XP fed: the work's XP, at most the treats you had" }),
  hunger_restored: z.number().openapi({ description: "Fullness the feed gave (before the cap at 100)" }),
  happiness_gained: z.number().openapi({ description: "Happiness the feed gave (before the cap at 100)" }),
}).openapi("FeedPetOriginal");

export const feed = createRoute({
  method: "post",
  path: "/pets/feed",
  tags,
  summary: "Feed your pet for a finished piece of work (the original API's path)",
  description:
    "Our route is POST /api/v1/pets/{user_id}/feed. The work's XP is the step formula (10 + 1/3/5 by " +
    "priority + 1 per 5 minutes, at most 10): that much is fed from the treats your completed work has " +
    "earned, or all of them if fewer. With no treats, 409 `not_enough_treats`: a pet grows from work, " +
    "which a query string cannot stand for. No body is needed (a JSON content type with none is fine).",
  security: BEARER_SECURITY,
  middleware: requireAuth({ scope: "pets:write", accountLookup: false }),
  request: { query: FeedQuerySchema },
  responses: {
    200: jsonResponse(FeedOriginalSchema, "What the feed did"),
    ...errorResponses(400, 401, 403, 404, 409, 413, 422, 503),
  },
});

/** The original's priority words in any case; any other word is medium, as the original counted it. */
function priorityOf(word: string | undefined): (typeof PRIORITIES)[number] {
  const lower = word?.toLowerCase();
  return PRIORITIES.find((p) => p === lower) ?? "medium";
}

const createHandler: AppRouteHandler<typeof create> = async (c) => {
  const { species, name } = c.req.valid("json");
  return c.json(await adoptPet(c.env, c.var.db, c.var.principal.userId, { species, name }), 201);
};

const feedHandler: AppRouteHandler<typeof feed> = async (c) => {
  const query = c.req.valid("query");
  const userId = c.var.principal.userId;
  const earned = stepXp(priorityOf(query.task_priority), query.task_estimated_minutes ?? 0).total;
  const pet = await viewPet(c.env, userId);
  const xp = Math.min(earned, pet.treats);
  if (xp < 1) {
    throw new ApiError(
      409,
      "not_enough_treats",
      "Your pet has no treats yet: finish a step or a focus session, then feed it.",
    );
  }
  const outcome = (await actOnPet(c.env, userId, { type: "feed", xp })).value;
  const gains = feedGains(xp);
  return c.json(
    { ...outcome, xp_gained: xp, hunger_restored: gains.fullness, happiness_gained: gains.happiness },
    200,
  );
};

export const petsCompatRouter = createRouter().openapi(create, createHandler).openapi(feed, feedHandler);
