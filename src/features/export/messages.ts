/**
 * What travels on the exports queue: one slice of one export job, or the next pages of the nightly
 * sweep of orphaned export files.
 */
import { z } from "@hono/zod-openapi";

const SliceMessageSchema = z.object({
  type: z.literal("export.slice"),
  export_id: z.string().min(1),
  /**
   * The slice this message runs. The job's row says which slice is next: a message for an earlier one
   * is a stale duplicate (dropped), one for a later one came early (retried).
   */
  slice: z.number().int().nonnegative(),
});

/**
 * The orphan sweep goes on from where the last run stopped: an R2 listing cursor, held only by the
 * message (no position is stored anywhere, so none names an account after it is deleted).
 */
const OrphanSweepMessageSchema = z.object({
  type: z.literal("export.orphan-sweep"),
  cursor: z.string().min(1).max(4096),
});

export const ExportMessageSchema = z.discriminatedUnion("type", [
  SliceMessageSchema,
  OrphanSweepMessageSchema,
]);
export type ExportMessage = z.infer<typeof ExportMessageSchema>;
export type SliceMessage = z.infer<typeof SliceMessageSchema>;

export const sliceMessage = (exportId: string, slice: number): SliceMessage => ({
  type: "export.slice",
  export_id: exportId,
  slice,
});

export const orphanSweepMessage = (cursor: string): ExportMessage => ({
  type: "export.orphan-sweep",
  cursor,
});
