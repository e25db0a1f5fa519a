/**
 * What a restore keeps about itself between deliveries. It lives in the import row's `mapping` JSON
 * (the generic CSV source's column mapping; a restore has none), so restores need no new column.
 */
import type { ImportRow } from "../queries";

export interface RestoreMeta {
  /** The exported account's id: a restore into that same account keeps the ids (ids.ts). */
  account_id: string;
  /** "1" once the whole file was read and checked (at the preview, or by the job's first phase). */
  validated: "0" | "1";
}

export function restoreMetaOf(row: Pick<ImportRow, "mapping">): RestoreMeta {
  const mapping = (row.mapping ?? {}) as Partial<RestoreMeta>;
  return { account_id: mapping.account_id ?? "", validated: mapping.validated === "1" ? "1" : "0" };
}

export const metaMapping = (meta: RestoreMeta): Record<string, string> => ({ ...meta });
