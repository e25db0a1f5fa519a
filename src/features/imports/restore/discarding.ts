/**
 * Undoing a restore within D1's limits per invocation (review3 H3). Its staging can hold hundreds of
 * thousands of rows, so every caller erases it with a budget of statements (erase.ts) and hands what is
 * left to the imports queue (an `import.erase` message), which goes on in bounded deliveries:
 *
 * - a discard (DELETE, or housekeeping's expiry) first marks the row `discarding` — shown nowhere,
 *   refused by commit, not a pending restore — and only then erases what fits in the request; if
 *   something is left its files go and the queue erases the rest, then deletes the row. The person sees
 *   204: the import is gone. Marking first is what keeps a commit racing the discard from resuming a
 *   failed job's kept cursor over a staging the discard already emptied (review4 M1): the commit meets
 *   `discarding` (404 import_discarded), or the discard meets a queued job (409) and erases nothing.
 * - a failed job whose cursor went back to the start (a bad row found halfway, or the stale sweep giving
 *   up) erases what fits, and the queue erases the rest while the row stays `failed` with that cursor (a
 *   commit stops it: the new run writes the same rows). A failed job that KEEPS its cursor (the
 *   consumer's last attempt: committing again resumes there) is never erased by a message, however late
 *   it comes (review4 M1): its staging is what the resumed run stands on.
 * - a `discarding` row whose messages were lost (the queue failed, or the dead-letter queue took them)
 *   is found by housekeeping through its `expires_at`, pushed on by each delivery: its message is sent
 *   again.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports } from "../../../db/schema";
import { abortIf, isGuardAbort, rawStatement } from "../../../lib/batch";
import { loggableError } from "../../../lib/db-errors";
import { nowIso } from "../../../lib/time";
import { deleteImportFiles } from "../files";
import { STALE_AFTER_MS } from "../limits";
import { eraseMessage, type ImportMessage } from "../messages";
import type { RunOutcome } from "../pipeline";
import type { ImportRow } from "../queries";
import { type EraseOutcome, eraseRestoreStaging } from "./erase";

/** Statements a DELETE request spends erasing (up to 200,000 staged rows) before the queue takes over. */
export const DISCARD_REQUEST_STATEMENTS = 40;
/** Statements one queue delivery spends erasing (D1 allows 1,000 per invocation). */
export const ERASE_STATEMENTS_PER_DELIVERY = 400;
/** Statements the cron spends erasing per row (housekeeping and the stale sweep share an invocation). */
export const SWEEP_ERASE_STATEMENTS = 20;
/**
 * The most one row costs the imports cleanup, whatever it does to it (an erasure and the row's mark or
 * deletion): a run takes a next row only while its share has this much left (jobs/cron-budget.ts).
 */
export const SWEEP_ROW_STATEMENTS = SWEEP_ERASE_STATEMENTS + 2;

/** Options tests set (production never does): rows per erasing statement. */
export interface EraseOptions {
  erasePage?: number;
}

type Row = Pick<ImportRow, "id" | "userId" | "createdAt">;

const log = (message: string, importId: string, error: unknown) =>
  console.warn(JSON.stringify({ level: "warn", message, import_id: importId, error: loggableError(error) }));

/** The queue goes on erasing; a lost message is sent again by housekeeping (a discarding row) or the TTL. */
async function handOver(queue: Queue<ImportMessage>, row: Row, delaySeconds = 0) {
  await queue
    .send(eraseMessage(row.id, row.userId), delaySeconds > 0 ? { delaySeconds } : undefined)
    .catch((error) => log("erase not queued", row.id, error));
}

/** Deletes the row of a discarded restore whose staging is erased, then its files. */
async function forgetRow(db: Database, files: R2Bucket, row: Row, statuses: SQL): Promise<boolean> {
  try {
    await db.batch([
      abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${statuses})`),
      rawStatement(db, sql`DELETE FROM imports WHERE id = ${row.id}`),
    ]);
  } catch (error) {
    if (isGuardAbort(error)) return false;
    throw error;
  }
  await deleteImportFiles(files, row.userId, row.id);
  return true;
}

/**
 * Discards a previewed or failed restore: marked `discarding` first (one guarded statement, so a commit
 * either came before it — false, nothing erased — or meets a discarded import), then erased here when it
 * fits in `budget`, else handed to the queue. False when a commit took it first.
 */
export async function discardRestore(
  db: Database,
  files: R2Bucket,
  queue: Queue<ImportMessage>,
  row: Row,
  budget = DISCARD_REQUEST_STATEMENTS,
  options: EraseOptions = {},
): Promise<boolean> {
  const now = Date.now();
  const [marked] = await db
    .update(imports)
    .set({ status: "discarding", updatedAt: nowIso(now), expiresAt: nowIso(now + STALE_AFTER_MS) })
    .where(and(eq(imports.id, row.id), sql`${imports.status} IN ('previewed', 'failed')`))
    .returning({ id: imports.id });
  // Not pending any more: committed meanwhile (409), or discarded by a racing request (done already).
  if (!marked) return discardedMeanwhile(db, row.id);
  const discarding = sql`status = 'discarding'`;
  // The mark and this read are spent already (the erasure counts its own read).
  const erased = await eraseRestoreStaging(db, row, discarding, budget - 1, options.erasePage).catch(
    (error: unknown): EraseOutcome => {
      // The row is discarding whatever happens now: the queue (or housekeeping, by expires_at) goes on.
      log("discard: staging not erased in the request", row.id, error);
      return { kind: "more", statements: 0 };
    },
  );
  // Erased whole: the row and its files go. Gone: account deletion or a racing eraser took the row.
  if (erased.kind === "done") await forgetRow(db, files, row, discarding);
  if (erased.kind !== "more") return true;
  // The file is of no use any more: it goes now, the staged rows in the queue's deliveries.
  await deleteImportFiles(files, row.userId, row.id).catch((error) =>
    log("import files not deleted", row.id, error),
  );
  await handOver(queue, row);
  return true;
}

/** Whether a row a discard could not mark is discarded (or deleted) by another discard meanwhile. */
async function discardedMeanwhile(db: Database, importId: string): Promise<boolean> {
  const now = await db.select({ status: imports.status }).from(imports).where(eq(imports.id, importId)).get();
  return now === undefined || now.status === "discarding";
}

/**
 * A failed restore's staging (a bad row found halfway, or the stale sweep giving up) erased within
 * `budget`; the queue erases the rest while the job stays failed. A job failing in this very delivery
 * (a bad row) is failed only after this: its message waits `delaySeconds`, as it only erases a failed
 * job's staging (a lost one leaves the rest to the discard or the new run, which writes the same rows).
 */
export async function forgetFailedStaging(
  db: Database,
  queue: Queue<ImportMessage>,
  row: Row,
  still: SQL,
  budget: number,
  options: EraseOptions & { delaySeconds?: number } = {},
): Promise<EraseOutcome> {
  const erased = await eraseRestoreStaging(db, row, still, budget, options.erasePage);
  if (erased.kind === "more") await handOver(queue, row, options.delaySeconds);
  return erased;
}

/**
 * One delivery of an `import.erase` message: a discarding restore erased a budget further (then its row
 * deleted), or a failed one's staging while its cursor is at the start (the failures that send this
 * message reset it). A failed job that kept its cursor (its last attempt: committing again resumes
 * there), or any other status (committed again, completed, gone), ends it: a late or repeated message
 * never empties a staging a commit will resume on (review4 M1).
 */
export async function runErase(
  db: Database,
  files: R2Bucket,
  message: ImportMessage,
  options: EraseOptions = {},
): Promise<RunOutcome> {
  const row = await db
    .select()
    .from(imports)
    .where(and(eq(imports.id, message.import_id), eq(imports.userId, message.user_id)))
    .get();
  if (row?.source !== "export") return { kind: "gone" };
  const still =
    row.status === "discarding"
      ? sql`status = 'discarding'`
      : row.status === "failed" && row.itemsDone === 0
        ? sql`status = 'failed' AND items_done = 0`
        : null;
  if (still === null) return { kind: "gone" };
  // Besides the erasure: this read, then the row's deletion (2) or its expiry pushed on (1).
  const budget = ERASE_STATEMENTS_PER_DELIVERY - 3;
  const erased = await eraseRestoreStaging(db, row, still, budget, options.erasePage);
  if (erased.kind === "gone") return { kind: "gone" };
  if (row.status === "failed") return erased.kind === "more" ? { kind: "more" } : { kind: "gone" };
  if (erased.kind === "done") {
    await forgetRow(db, files, row, still);
    return { kind: "gone" };
  }
  // Moving: housekeeping leaves it alone for another while.
  await db
    .update(imports)
    .set({ updatedAt: nowIso(), expiresAt: nowIso(Date.now() + STALE_AFTER_MS) })
    .where(and(eq(imports.id, row.id), eq(imports.status, "discarding")));
  return { kind: "more" };
}

/**
 * Housekeeping, for a discarding row that stopped moving (its message lost): claimed by its
 * `expires_at` as read, so two runs send one message between them, then its message sent again.
 */
export async function resendErase(
  db: Database,
  queue: Queue<ImportMessage>,
  row: Pick<ImportRow, "id" | "userId" | "createdAt" | "expiresAt">,
  now = Date.now(),
): Promise<boolean> {
  const [claimed] = await db
    .update(imports)
    .set({ expiresAt: nowIso(now + STALE_AFTER_MS) })
    .where(
      and(
        eq(imports.id, row.id),
        eq(imports.status, "discarding"),
        row.expiresAt === null ? sql`expires_at IS NULL` : eq(imports.expiresAt, row.expiresAt),
      ),
    )
    .returning({ id: imports.id });
  if (!claimed) return false;
  await queue.send(eraseMessage(row.id, row.userId));
  return true;
}
