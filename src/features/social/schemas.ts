import { z } from "@hono/zod-openapi";
import { PET_SPECIES } from "../../db/schema/pets";
import { SHARE_KINDS } from "../../db/schema/social";
import { TASK_STATUSES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";
import { BADGE_TIERS } from "../gamification/badges";
import { MOODS } from "../pets/care";
import { checkHandle, HANDLE_PATTERN } from "./handles";

export const MAX_SHOWCASE_ITEMS = 12;

const Id = z.string().min(1).max(64);

export const CreateShareBodySchema = z
  .object({
    kind: caseInsensitiveEnum(SHARE_KINDS).openapi({
      description:
        "achievement: a badge you unlocked (ref_id = its badge_id); level: your level and XP now; streak: your " +
        "streak now; creature: your creature as it looks now; task: one of your tasks (ref_id = its task_id), " +
        "the only kind that shows a task's title",
    }),
    ref_id: Id.optional().openapi({ description: "The badge_id or task_id; only for achievement and task" }),
  })
  .openapi("CreateShareRequest");

export const ShareSchema = z
  .object({
    share_id: z.string(),
    code: z.string().openapi({ example: "k7m2xq9tpa" }),
    kind: z.enum(SHARE_KINDS),
    ref_id: z.string().nullable(),
    url: z
      .string()
      .openapi({ description: "The public page: Open Graph and Twitter card tags, share links" }),
    image_url: z.string().openapi({ description: "The card, a 1200×630 PNG" }),
    title: z.string().openapi({ example: "Level 7 reached" }),
    text: z.string().openapi({ description: "What to post with the link", example: "I reached level 7!" }),
    created_at: z.string(),
  })
  .openapi("Share");

export const ListSharesQuerySchema = PaginationQuerySchema;

export const ShareIdParamsSchema = z.object({
  share_id: Id.openapi({ param: { name: "share_id", in: "path" } }),
});

const Handle = z
  .string()
  .trim()
  .regex(HANDLE_PATTERN, "Use 3–30 letters, digits or underscores")
  .superRefine((handle, ctx) => {
    const check = checkHandle(handle);
    if (!check.ok && check.reserved) ctx.addIssue({ code: "custom", message: check.message });
  })
  .openapi({ example: "steady_sam", pattern: HANDLE_PATTERN.source });

export const ShowcaseChoiceSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("level") }),
    z.object({ kind: z.literal("streak") }),
    z.object({ kind: z.literal("badges") }),
    z.object({ kind: z.literal("creature") }),
    z.object({ kind: z.literal("totals") }),
    z.object({ kind: z.literal("task"), task_id: Id }),
  ])
  .openapi("ShowcaseChoice", {
    description:
      "level, streak, badges (the ones you unlocked), creature, totals (tasks, steps, focus sessions), or one " +
      "task of yours: the only item that shows a task's title",
  });

export const PutProfileBodySchema = z
  .object({
    handle: Handle,
    public: z.boolean().optional().openapi({ description: "Shown to everyone; default false (hidden)" }),
    showcase: z
      .array(ShowcaseChoiceSchema)
      .max(MAX_SHOWCASE_ITEMS, `A showcase holds at most ${MAX_SHOWCASE_ITEMS} items`)
      .optional()
      .openapi({ description: `In the order shown, at most ${MAX_SHOWCASE_ITEMS}; default none` }),
  })
  .openapi("PutSocialProfileRequest");

export const SocialProfileSchema = z
  .object({
    handle: z.string().nullable().openapi({ description: "Null until you pick one" }),
    public: z.boolean(),
    showcase: z.array(ShowcaseChoiceSchema),
    url: z.string().nullable().openapi({ description: "The public page (answers 404 while hidden)" }),
    created_at: z.string().nullable(),
    updated_at: z.string().nullable(),
  })
  .openapi("SocialProfile");

export const ShowcaseItemSchema = z
  .discriminatedUnion("kind", [
    z.object({ kind: z.literal("level"), level: z.number().int(), total_xp: z.number().int() }),
    z.object({
      kind: z.literal("streak"),
      current_days: z.number().int(),
      longest_days: z.number().int(),
    }),
    z.object({
      kind: z.literal("badges"),
      badges: z.array(
        z.object({
          name: z.string(),
          description: z.string(),
          tier: z.enum(BADGE_TIERS),
          unlocked_at: z.string(),
        }),
      ),
    }),
    z.object({
      kind: z.literal("creature"),
      name: z.string(),
      species: z.enum(PET_SPECIES),
      level: z.number().int(),
      stage: z.number().int(),
      mood: z.enum(MOODS),
    }),
    z.object({
      kind: z.literal("totals"),
      tasks_completed: z.number().int(),
      steps_completed: z.number().int(),
      focus_sessions: z.number().int(),
    }),
    z.object({
      kind: z.literal("task"),
      title: z.string(),
      status: z.enum(TASK_STATUSES),
      completed_steps: z.number().int(),
      total_steps: z.number().int(),
      completed_at: z.string().nullable(),
    }),
  ])
  .openapi("ShowcaseItem");

export const PublicProfileSchema = z
  .object({
    handle: z.string(),
    url: z.string(),
    image_url: z.string().openapi({ description: "A 1200×630 PNG card of the showcase" }),
    showcase: z.array(ShowcaseItemSchema),
  })
  .openapi("PublicProfile");

export const HandleParamsSchema = z.object({
  handle: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "handle", in: "path" }, example: "steady_sam" }),
});

export type ShareDto = z.infer<typeof ShareSchema>;
export type CreateShareInput = z.infer<typeof CreateShareBodySchema>;
export type PutProfileInput = z.infer<typeof PutProfileBodySchema>;
export type SocialProfileDto = z.infer<typeof SocialProfileSchema>;
export type ShowcaseItem = z.infer<typeof ShowcaseItemSchema>;
export type PublicProfileDto = z.infer<typeof PublicProfileSchema>;
