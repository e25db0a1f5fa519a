import { sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { abortIf, rawStatement } from "../../lib/batch";
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

/** Statements that erase what a job staged (its hidden tasks, their steps and links, its items). */
export function eraseStaged(db: Database, row: Pick<ImportRow, "id" | "userId" | "createdAt" | "source">) {
  // A restore stages every table under its own owner (restore/reveal.ts), not through import_items.
  if (row.source === "export") return eraseRestoreStatements(db, row);
  return [
    ...eraseHiddenTasks(db, row.userId, createdBy(row.id), row.createdAt),
    rawStatement(db, sql`DELETE FROM import_items WHERE import_id = ${row.id}`),
  ];
}
