/**
 * The last line of defence of review4 M1: a restore resumed at a kept cursor stands on what the earlier
 * run staged. Nothing erases that any more (discarding.ts), but were it erased all the same — an erase
 * from before this fix still in the queue, a hand at the console — the commit point would count an
 * empty staging and complete with nothing restored. So, at the file's end, a job that resumed (its
 * cursor was past the start when the delivery began) and whose file has tasks must find at least one
 * of them staged (every task of the file is: new under the staging owner, or the file's copy of the
 * account's own under its shadow id; write.ts). If none is, the job is failed with its cursor back at
 * the start: nothing of it shows, and committing again writes the file from its beginning.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports } from "../../../db/schema";
import { nowIso } from "../../../lib/time";
import { ImportFailure } from "../pipeline";
import type { ImportRow } from "../queries";
import { stagingUserOf } from "./meta";

export const LOST_STAGING =
  "The rows this restore had written before it stopped are no longer there, so it cannot go on from where " +
  "it stopped. Nothing of it shows and your account is as it was; commit it again to start it over from " +
  "the beginning, or discard it.";

/** Throws an ImportFailure (cursor reset first) when a resumed restore's staging lost its tasks. */
export async function refuseLostStaging(
  db: Database,
  row: Pick<ImportRow, "id" | "userId" | "itemsDone">,
  tasksInFile: number,
): Promise<void> {
  if (row.itemsDone === 0 || tasksInFile === 0) return;
  const staged = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM (SELECT 1 FROM tasks WHERE user_id = ${stagingUserOf(row.userId, row.id)} LIMIT 1)`,
  );
  if ((staged?.n ?? 0) > 0) return;
  // Only a job still before its commit point: a racing delivery past it has moved the staged tasks on
  // (its commit point then answers "gone" to this one).
  const [reset] = await db
    .update(imports)
    .set({
      itemsDone: 0,
      mapping: sql`json_remove(${imports.mapping}, '$.offset', '$.table', '$.check')`,
      updatedAt: nowIso(),
    })
    .where(
      and(
        eq(imports.id, row.id),
        eq(imports.status, "running"),
        sql`json_extract(coalesce(${imports.mapping}, '{}'), '$.finishing') IS NULL`,
      ),
    )
    .returning({ id: imports.id });
  if (reset) throw new ImportFailure(LOST_STAGING);
}
