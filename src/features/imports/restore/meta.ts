/**
 * What a restore keeps about itself between deliveries. It lives in the import row's `mapping` JSON
 * (the generic CSV source's column mapping; a restore has none), so restores need no new column.
 */
import type { ImportRow } from "../queries";

export interface RestoreMeta {
  /**
   * "1": the file is the caller's own export read where the platform stored it, so ids are kept
   * (ids.ts). Decided at the preview from the export row, never from the file.
   */
  identity: "0" | "1";
  /** "1" once the whole file was read and checked (at the preview, or by the job's first phase). */
  validated: "0" | "1";
}

export function restoreMetaOf(row: Pick<ImportRow, "mapping">): RestoreMeta {
  const mapping = (row.mapping ?? {}) as Partial<RestoreMeta>;
  return { identity: mapping.identity === "1" ? "1" : "0", validated: mapping.validated === "1" ? "1" : "0" };
}

export const metaMapping = (meta: RestoreMeta): Record<string, string> => ({ ...meta });

/**
 * How every staging owner starts: a job that pages every user by an owned table (not by `users`)
 * leaves these out (learning/runs.ts), or it would take a staging owner for a person (review3 L1).
 */
export const STAGING_PREFIX = "restore:";

/**
 * The user id a restore writes its rows under until the end of the job moves them to the account (job.ts: commit point, paged move, last batch)
 * (job.ts): no request of the account (nor of anyone) reads rows of this owner, so a job stopped
 * halfway shows nothing, and discarding it deletes exactly them. It starts with the account's id, so
 * erasing the account finds every restore's staging by a range of `user_id` (stagingRange).
 */
export const stagingUserOf = (userId: string, importId: string) => `${STAGING_PREFIX}${userId}:${importId}`;

/** The `user_id` range [from, to) holding every staging owner of the account's restores. */
export const stagingRange = (userId: string) => ({
  from: `${STAGING_PREFIX}${userId}:`,
  to: `${STAGING_PREFIX}${userId};`,
});

/** Whether a restore is past its commit point (job.ts: it only goes forward, never failed nor abandoned). */
export const isFinishing = (row: Pick<ImportRow, "mapping">) =>
  (row.mapping as { finishing?: string } | null)?.finishing !== undefined;

/** Whether it is still moving its rows to the account (move.ts) rather than restoring its objects. */
export const isMoving = (row: Pick<ImportRow, "mapping">) =>
  (row.mapping as { moving?: string } | null)?.moving === "1";
