/**
 * The finishing step's lease (review4 L3). A finishing restore is ended by whoever gives up on its
 * objects first: the consumer's last attempt, or the stale sweep past MAX_RESENDS (job.ts
 * giveUpFinishing). The sweep must never end a job while a consumer delivery is inside its objects'
 * restore — the pet object would then restore the pet after the job was completed with "the pet is as
 * it was", and the interactions of a pet about to exist would be dropped. So each finishing delivery
 * stamps the row's `updated_at` before it asks the objects (claimFinishing); the sweep only looks at a
 * row unchanged for STALE_AFTER_MS (15 minutes: no delivery lives that long, a queue consumer's wall
 * time is capped at 15 minutes), and gives up only if the row is still as it read it, so a delivery
 * that began meanwhile wins.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports } from "../../../db/schema";
import { nowIso } from "../../../lib/time";

/** A restore past its commit point and its paged move: restoring its objects. */
export const stillFinishing = sql`status = 'running' AND json_extract(coalesce(mapping, '{}'), '$.finishing') IS NOT NULL
  AND json_extract(mapping, '$.moving') IS NULL`;

/** Stamps a finishing job as worked on now; false when it is not finishing any more (ended meanwhile). */
export async function claimFinishing(db: Database, importId: string, now = Date.now()): Promise<boolean> {
  const [claimed] = await db
    .update(imports)
    .set({ updatedAt: nowIso(now) })
    .where(and(eq(imports.id, importId), sql`${stillFinishing}`))
    .returning({ id: imports.id });
  return claimed !== undefined;
}
