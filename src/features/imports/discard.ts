import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { abortIf, isGuardAbort, rawStatement } from "../../lib/batch";
import { eraseHiddenTasks } from "../tasks/bulk-statements";
import type { ImportRow } from "./queries";
import { eraseRestoreStatements } from "./restore/reveal";

/** The tasks an import created (hidden until it completes): what its final pass reveals. */
export const createdBy = (importId: string) =>
  sql`(SELECT task_id FROM import_items WHERE import_id = ${importId} AND outcome = 'created')`;

/**
 * One batch that forgets a preview or a failed job: the tasks it staged (still hidden: the account
 * never showed them), its items and its row — aborted whole if the job was queued meanwhile.
 */
export function discardStatements(
  db: Database,
  row: ImportRow,
): [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]] {
  return [
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status IN ('previewed', 'failed'))`,
    ),
    ...eraseStaged(db, row),
    rawStatement(db, sql`DELETE FROM imports WHERE id = ${row.id}`),
  ];
}

/**
 * Items of a job erased per batch, with the hidden tasks they made and those tasks' steps and links. A
 * batch is ERASE_BATCH_STATEMENTS statements, so discarding the largest job (MAX_ITEMS) in a request
 * stays far within D1's 1,000 statements per invocation (40 batches, 200 statements).
 */
export const ERASE_PAGE = 2_500;
export const ERASE_BATCH_STATEMENTS = 5;

/**
 * Erases what a job staged a page at a time, each page its own batch, while `still` holds of its row
 * (checked in each batch): a job of 100,000 items is 200 small batches, never one statement too long
 * for D1. Answers false when `still` stopped holding (a commit took the job meanwhile), "more" when the
 * next page would pass `budget` statements (the cron's share: the next run goes on; review4 L4).
 */
export async function eraseStagedInPages(
  db: Database,
  row: Pick<ImportRow, "id" | "userId" | "createdAt" | "source">,
  still: SQL,
  budget = Number.POSITIVE_INFINITY,
): Promise<boolean | "more"> {
  // A restore stages every table under its own owner, erased within a budget (restore/discarding.ts).
  if (row.source === "export") throw new Error("a restore's staging is erased by restore/discarding.ts");
  const page = sql`(SELECT ref FROM import_items WHERE import_id = ${row.id} ORDER BY ref LIMIT ${ERASE_PAGE})`;
  const created = sql`(SELECT task_id FROM import_items WHERE import_id = ${row.id} AND outcome = 'created' AND ref IN ${page})`;
  let spent = 0;
  for (;;) {
    const statements = [
      abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${still})`),
      ...eraseHiddenTasks(db, row.userId, created, row.createdAt),
      // The page's items go last: the statements above read the same page.
      rawStatement(db, sql`DELETE FROM import_items WHERE import_id = ${row.id} AND ref IN ${page}`),
    ] as const;
    if (spent + statements.length > budget) return "more";
    try {
      const results = await db.batch(statements);
      spent += statements.length;
      const last = results.at(-1) as D1Result | undefined;
      if ((last?.meta.changes ?? 0) < ERASE_PAGE) return true;
    } catch (error) {
      if (isGuardAbort(error)) return false;
      throw error;
    }
  }
}

/** Statements that erase what a job staged (its hidden tasks, their steps and links, its items). */
export function eraseStaged(db: Database, row: Pick<ImportRow, "id" | "userId" | "createdAt" | "source">) {
  // A restore stages every table under its own owner (restore/reveal.ts), not through import_items.
  if (row.source === "export") return eraseRestoreStatements(db, row);
  return [
    ...eraseHiddenTasks(db, row.userId, createdBy(row.id), row.createdAt),
    rawStatement(db, sql`DELETE FROM import_items WHERE import_id = ${row.id}`),
  ];
}
