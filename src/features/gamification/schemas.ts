import { z } from "@hono/zod-openapi";
import { XP_SOURCES } from "../../db/schema/gamification";
import { TASK_PRIORITIES } from "../../db/schema/tasks";
import { caseInsensitiveEnum } from "../../lib/enums";
import { IsoTimestamp } from "../../lib/iso-timestamp";
import { nullableRef } from "../../lib/openapi";
import { PaginationQuerySchema } from "../../lib/pagination";
import { BADGE_METRICS, BADGE_TIERS } from "./badges";
import { boardName, MAX_BOARD_NAME_INPUT, MAX_BOARD_NAME_LENGTH } from "./board-name";
import { CHALLENGE_METRICS } from "./challenges";
import { BOARDS } from "./protocol";
import { MAX_XP_MULTIPLIER } from "./xp";

const LocalDate = z.iso
  .date({ message: "Use a calendar date like 2026-11-25" })
  .refine((d) => d >= "1970-01-01" && d <= "9998-12-31", { message: "Use a date between 1970 and 9998" });

const ThemeSchema = z.object({ id: z.string(), name: z.string(), unlocks_at_level: z.number().int() });

export const StreakSchema = z
  .object({
    current_days: z.number().int(),
    longest_days: z.number().int(),
    freezes_held: z.number().int().openapi({
      description:
        "One earned per 7-day streak, at most 2 (3 with a level-15 pet's Streak Shield); spent automatically on a missed day",
    }),
    frozen_days: z.array(z.string()).openapi({ description: "Missed days a freeze covered (the last 30)" }),
    last_active_day: z.string().nullable(),
    at_risk: z
      .boolean()
      .openapi({ description: "Nothing completed today yet, and the streak is still alive" }),
    today: z.string(),
    timezone: z.string(),
  })
  .openapi("Streak");

export const ProfileSchema = z
  .object({
    total_xp: z.number().int(),
    level: z.number().int(),
    current_level_xp: z.number().int().openapi({ description: "Total XP at which this level began" }),
    next_level_xp: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Total XP at which the next level begins" }),
    xp_into_level: z.number().int(),
    xp_to_next_level: z.number().int().nullable(),
    percent: z.number().int(),
    week_xp: z.number().int().openapi({ description: "XP since Monday 00:00 UTC" }),
    themes: z.array(ThemeSchema).openapi({ description: "Themes unlocked" }),
    next_theme: nullableRef(ThemeSchema),
    streak: StreakSchema,
    badges_unlocked: z.number().int(),
    leaderboard_opt_in: z.boolean(),
    leaderboard_name: z.string().nullable(),
  })
  .openapi("GamificationProfile");

export const LedgerEntrySchema = z
  .object({
    id: z.string(),
    source: z.enum(XP_SOURCES),
    source_key: z.string(),
    amount: z.number().int(),
    breakdown: z.record(z.string(), z.unknown()),
    event_id: z.string().nullable(),
    occurred_at: z.string(),
  })
  .openapi("XpGrant");

export const LedgerQuerySchema = PaginationQuerySchema.extend({
  source: caseInsensitiveEnum(XP_SOURCES).optional(),
});

export const BadgeSchema = z
  .object({
    id: z.string(),
    family: z.string(),
    tier: z.enum(BADGE_TIERS),
    name: z.string(),
    description: z.string(),
    metric: z.enum(BADGE_METRICS),
    threshold: z.number().int(),
    unlocked_at: z.string().nullable(),
  })
  .openapi("Badge");

export const BadgesSchema = z
  .object({
    badges: z.array(BadgeSchema),
    progress: z.array(
      z.object({
        family: z.string(),
        metric: z.enum(BADGE_METRICS),
        value: z.number().int(),
        tier: z.enum(BADGE_TIERS).nullable(),
        next: z
          .object({
            id: z.string(),
            tier: z.enum(BADGE_TIERS),
            name: z.string(),
            threshold: z.number().int(),
            remaining: z.number().int(),
          })
          .nullable(),
      }),
    ),
  })
  .openapi("Badges");

export const CalculateXpBodySchema = z
  .object({
    kind: caseInsensitiveEnum(["step", "task", "focus"] as const).default("step"),
    priority: caseInsensitiveEnum(TASK_PRIORITIES).default("medium"),
    estimated_minutes: z.number().int().min(0).max(100_000).optional(),
    actual_minutes: z.number().min(0).max(10_000).optional().openapi({ description: "For focus sessions" }),
    at: IsoTimestamp.optional().openapi({
      description: "When the work is (or was) done; bonus windows apply by it",
    }),
  })
  .openapi("CalculateXpRequest");

export const CalculatedXpSchema = z
  .object({
    amount: z.number().int().openapi({ description: "Everything the work would earn, bonus included" }),
    base: z.number().int(),
    priority_bonus: z.number().int(),
    time_bonus: z.number().int(),
    subtotal: z.number().int(),
    multiplier: z.number(),
    bonus: z.number().int(),
    bonus_events: z.array(z.string()),
  })
  .openapi("CalculatedXp");

export const ChallengesQuerySchema = z.object({
  date: LocalDate.optional().openapi({ description: "A local date (default: your today)" }),
});

export const ChallengeSchema = z
  .object({
    challenge_id: z.string(),
    date: z.string(),
    metric: z.enum(CHALLENGE_METRICS),
    title: z.string(),
    target: z.number().int(),
    xp: z.number().int(),
    progress: z.number().int(),
    completed: z.boolean(),
    completed_at: z.string().nullable(),
  })
  .openapi("DailyChallenge");

export const LeaderboardQuerySchema = z.object({
  board: caseInsensitiveEnum(BOARDS).default("weekly"),
  limit: z.coerce.number().int().min(1).max(100).default(10),
  around: z.coerce
    .number()
    .int()
    .min(0)
    .max(10)
    .default(2)
    .openapi({ description: "Neighbours either side of you" }),
});

const RankedSchema = z.object({
  rank: z.number().int(),
  name: z.string(),
  xp: z.number().int(),
  is_me: z.boolean(),
});

export const LeaderboardSchema = z
  .object({
    board: z.enum(BOARDS),
    week_starts_on: z.string().openapi({ description: "Monday (UTC) of the weekly board" }),
    entries: z.array(RankedSchema),
    me: z
      .object({
        rank: z.number().int(),
        xp: z.number().int(),
        above: z.array(RankedSchema),
        below: z.array(RankedSchema),
      })
      .nullable()
      .openapi({ description: "Your rank and neighbours; null until you opt in and earn XP" }),
    opted_in: z.boolean(),
  })
  .openapi("Leaderboard");

export const OptInBodySchema = z
  .object({
    opt_in: z.boolean(),
    display_name: z
      .string()
      .max(MAX_BOARD_NAME_INPUT, { message: `Must be at most ${MAX_BOARD_NAME_LENGTH} characters` })
      .transform((raw, ctx) => {
        const result = boardName(raw);
        if (result.ok) return result.name;
        ctx.addIssue({ code: "custom", message: result.message });
        return z.NEVER;
      })
      .optional()
      .openapi({
        description:
          `The name shown on the boards (default: your display name, or an anonymous one). NFKC-normalised; ` +
          `bidirectional controls, zero-width and control characters removed; trimmed; then 1–${MAX_BOARD_NAME_LENGTH} ` +
          "characters without < or > (422 otherwise).",
      }),
  })
  .openapi("LeaderboardOptIn");

export const OptInSchema = z
  .object({ opt_in: z.boolean(), display_name: z.string().nullable() })
  .openapi("LeaderboardOptInState");

export const BonusEventBodySchema = z
  .object({
    name: z.string().trim().min(1).max(100).openapi({ example: "Double XP weekend" }),
    multiplier: z.number().gt(1).max(MAX_XP_MULTIPLIER),
    starts_at: IsoTimestamp,
    ends_at: IsoTimestamp,
  })
  .refine((b) => b.ends_at > b.starts_at, { message: "Must be after starts_at", path: ["ends_at"] })
  .refine((b) => Date.parse(b.ends_at) - Date.parse(b.starts_at) <= 14 * 86_400_000, {
    message: "A bonus window lasts at most 14 days",
    path: ["ends_at"],
  })
  .openapi("CreateBonusXpEvent");

export const BonusEventSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    multiplier: z.number(),
    starts_at: z.string(),
    ends_at: z.string(),
    active: z.boolean(),
  })
  .openapi("BonusXpEvent");

export const BonusEventIdParamsSchema = z.object({ event_id: z.string().min(1).max(64) });

export const ManualGrantBodySchema = z
  .object({
    user_id: z.string().min(1).max(64),
    amount: z.number().int().min(1).max(10_000),
    reason: z.string().trim().min(1).max(200),
    key: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .openapi({ description: "Names this grant: the same key for the same user pays once" }),
  })
  .openapi("ManualXpGrant");

export const AcceptedSchema = z
  .object({ event_id: z.string(), status: z.literal("accepted") })
  .openapi("Accepted");

export type ProfileDto = z.infer<typeof ProfileSchema>;
export type StreakDto = z.infer<typeof StreakSchema>;
export type BadgesDto = z.infer<typeof BadgesSchema>;
export type CalculatedXpDto = z.infer<typeof CalculatedXpSchema>;
export type ChallengeDto = z.infer<typeof ChallengeSchema>;
export type LeaderboardDto = z.infer<typeof LeaderboardSchema>;
export type OptInDto = z.infer<typeof OptInSchema>;
export type BonusEventDto = z.infer<typeof BonusEventSchema>;
export type AcceptedDto = z.infer<typeof AcceptedSchema>;
