/** D1 binds at most 100 parameters per statement: bulk inserts go in chunks of rows. */
export const D1_MAX_BOUND_PARAMETERS = 100;

export function chunkRows<T>(rows: T[], columnsPerRow: number): T[][] {
  const size = Math.max(1, Math.floor(D1_MAX_BOUND_PARAMETERS / columnsPerRow));
  const chunks: T[][] = [];
  for (let i = 0; i < rows.length; i += size) chunks.push(rows.slice(i, i + size));
  return chunks;
}

/** A list in pieces of at most `size` (e.g. ids for `IN (…)`, each piece under the parameter limit). */
export function chunkList<T>(list: readonly T[], size: number): T[][] {
  const step = Math.max(1, Math.floor(size));
  const chunks: T[][] = [];
  for (let i = 0; i < list.length; i += step) chunks.push(list.slice(i, i + step));
  return chunks;
}
