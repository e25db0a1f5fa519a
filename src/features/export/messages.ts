/** What travels on the exports queue: one slice of one export job. */
import { z } from "@hono/zod-openapi";

export const ExportMessageSchema = z.object({
  type: z.literal("export.slice"),
  export_id: z.string().min(1),
  /**
   * The slice this message runs. The job's row says which slice is next: a message for an earlier one
   * is a stale duplicate (dropped), one for a later one came early (retried).
   */
  slice: z.number().int().nonnegative(),
});
export type ExportMessage = z.infer<typeof ExportMessageSchema>;

export const sliceMessage = (exportId: string, slice: number): ExportMessage => ({
  type: "export.slice",
  export_id: exportId,
  slice,
});
