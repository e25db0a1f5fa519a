/**
 * What a share shows, frozen when it was shared: the facts of the moment ("reached level 7"), and the
 * creature as it looked then. Stored as JSON with the share; `v` names this shape, so a card drawn
 * from an older snapshot is still read correctly when the shape grows. Pure.
 */
import { z } from "@hono/zod-openapi";
import { PET_SPECIES } from "../../db/schema/pets";
import { TASK_STATUSES } from "../../db/schema/tasks";
import { BADGE_TIERS } from "../gamification/badges";
import { MOODS } from "../pets/care";

export const SNAPSHOT_VERSION = 1;

/** The creature as the card draws it: its seed fixes its looks, stage its shape, mood its face. */
export const LikenessSchema = z.object({
  name: z.string(),
  species: z.enum(PET_SPECIES),
  level: z.number().int(),
  stage: z.union([z.literal(1), z.literal(2), z.literal(3)]),
  mood: z.enum(MOODS),
  seed: z.string(),
});
export type Likeness = z.infer<typeof LikenessSchema>;

const common = {
  v: z.literal(SNAPSHOT_VERSION),
  /** The person's creature when they shared, drawn small on every card (null: none adopted). */
  creature: LikenessSchema.nullable(),
};

export const SnapshotSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("level"), level: z.number().int(), total_xp: z.number().int(), ...common }),
  z.object({
    kind: z.literal("streak"),
    current_days: z.number().int(),
    longest_days: z.number().int(),
    ...common,
  }),
  z.object({
    kind: z.literal("achievement"),
    badge_id: z.string(),
    name: z.string(),
    description: z.string(),
    tier: z.enum(BADGE_TIERS),
    unlocked_at: z.string(),
    ...common,
  }),
  z.object({ kind: z.literal("creature"), ...common, creature: LikenessSchema }),
  z.object({
    kind: z.literal("task"),
    title: z.string(),
    status: z.enum(TASK_STATUSES),
    completed_steps: z.number().int(),
    total_steps: z.number().int(),
    ...common,
  }),
]);
export type Snapshot = z.infer<typeof SnapshotSchema>;
