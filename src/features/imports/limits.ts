/** The largest file an import takes (bigger is refused with 422 before anything is stored). */
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
/** The most items one file may hold. */
export const MAX_ITEMS = 100_000;
/** How long a preview (or a failed job, with what it staged) waits before housekeeping discards it. */
export const IMPORT_TTL_MS = 24 * 3_600_000;
/**
 * How long an upload's row may stay `uploading` before housekeeping takes it for dead and deletes it with
 * whatever files it stored: reading the largest file takes seconds (a request has 30 s of CPU).
 */
export const UPLOAD_TTL_MS = 3_600_000;
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
/**
 * Items per part of the normalised items a preview writes to R2: a commit's delivery (10 chunks of 400)
 * reads exactly one part, and never the file again.
 */
export const PART_ITEMS = 4_000;
/**
 * Characters of JSON past which a part is put before it has PART_ITEMS items: what the preview holds
 * of a part (its lines, then the one string they are joined into) stays a few megabytes.
 */
export const PART_CHARS = 4_000_000;
/**
 * The most a stored preview may weigh, in bytes of JSON: it is a D1 value (rows are capped at 2 MB),
 * twice over with the Idempotency-Key's stored answer. Past it its lists are shortened.
 */
export const MAX_PREVIEW_BYTES = 1_000_000;
/** A queued or running job that has not moved for this long is stuck: housekeeping sends its message again. */
export const STALE_AFTER_MS = 15 * 60_000;
/** Messages re-sent to a stuck job, 15 minutes apart, before it is failed and what it staged erased. */
export const MAX_RESENDS = 3;
/** Stuck jobs looked at by one housekeeping run. */
export const STALE_SWEEP = 10;
