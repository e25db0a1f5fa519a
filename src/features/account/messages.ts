/** What travels on the erasure queue: an account whose erasure must go on, or be checked again. */
import { z } from "@hono/zod-openapi";

export const ErasureMessageSchema = z.object({
  /**
   * "erase": a deletion to finish (it ran out of its budget, or failed); "sweep": erase again what a
   * request or a job that passed its account check just before the deletion may have written since.
   */
  type: z.enum(["erase", "sweep"]),
  user_id: z.string().min(1).max(200),
});

export type ErasureMessage = z.infer<typeof ErasureMessageSchema>;
