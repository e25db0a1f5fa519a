/** What travels on the learning queue: a page of users to claim, or one training to run. */
import { z } from "@hono/zod-openapi";

export const LearningMessageSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("page"),
    night: z.string(),
    /** The last user id of the previous page (null: the first page). */
    after: z.string().nullable(),
  }),
  z.object({
    type: z.literal("train"),
    /** A user, or "*" for the population model. */
    user_id: z.string().min(1),
    /** The learning_runs row this training records into. */
    night: z.string(),
  }),
]);
export type LearningMessage = z.infer<typeof LearningMessageSchema>;
