/** The largest file an import takes (bigger is refused with 422 before anything is stored). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** The most items one file may hold. */
export const MAX_ITEMS = 100_000;
/** How long a preview (or a failed job, with what it staged) waits before housekeeping discards it. */
export const IMPORT_TTL_MS = 24 * 3_600_000;
/** Items shown in a preview as they will be imported. */
export const FIRST_ITEMS = 10;
/** Problems and duplicates listed in a preview (the counts cover them all). */
export const MAX_LISTED = 100;
/** Items written per D1 batch of a commit: the cursor advances in the same batch. */
export const CHUNK_ITEMS = 400;
/** Chunks one queue delivery writes before handing the rest to the next message. */
export const MAX_CHUNKS_PER_RUN = 10;
/** Wall time one delivery spends before handing the rest on (a queue consumer may run 15 minutes). */
export const RUN_BUDGET_MS = 30_000;
/** Imports discarded by one housekeeping run. */
export const DISCARD_SWEEP = 10;
