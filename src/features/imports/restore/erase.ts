/**
 * Erasing a restore's staging within a budget of D1 statements (Workers allow 1,000 per invocation;
 * review3 H3: the old loop sent ~37 statements per 500 staged rows until none were left, ~37,000 for the
 * bench's 600,000 rows in one DELETE request).
 *
 * One read (one row) first counts, for every part of the staging at once (template steps through their staged
 * templates, each owned table, the import's items, the account's tasks a replace had hidden), how many
 * rows are left, each count capped by what the budget could erase. Then only the parts with rows get
 * pages, each page one `DELETE … WHERE rowid IN (SELECT rowid … LIMIT page)`, in order (template steps
 * before the templates they are found through, the un-hiding last), sent in batches of a few pages each
 * headed by a guard that `still` holds of the import row. When the next batch would pass the budget it
 * stops and answers "more": the caller goes on in a later invocation (restore/discarding.ts).
 */
import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { abortIf, isGuardAbort, rawStatement } from "../../../lib/batch";
import { stagingUserOf } from "./meta";
import { OWNED_TABLES } from "./reveal";

/** Rows one statement erases. */
export const RESTORE_ERASE_PAGE = 5_000;
/** Pages per batch: a batch erases at most 100,000 rows, seconds at most, far below D1's 30 s per call. */
export const ERASE_PAGES_PER_BATCH = 20;

export interface EraseOutcome {
  /** done: nothing of the staging is left; more: the budget ran out first; gone: `still` stopped holding. */
  kind: "done" | "more" | "gone";
  /** Statements sent (the read and each batch's statements, guards included). */
  statements: number;
}

type Row = { id: string; userId: string; createdAt: string };

const q = (name: string) => sql.raw(`"${name}"`);

/** The parts of a staging, in the order they are erased: what is found through a part goes before it. */
function partsOf(row: Row, page: number): { name: string; rows: SQL; erase: SQL }[] {
  const staging = stagingUserOf(row.userId, row.id);
  const limit = sql.raw(String(page));
  const owned = [...OWNED_TABLES].reverse().map((table) => ({
    name: table,
    rows: sql`SELECT 1 FROM ${q(table)} WHERE user_id = ${staging}`,
    erase: sql`DELETE FROM ${q(table)} WHERE rowid IN (SELECT rowid FROM ${q(table)} WHERE user_id = ${staging} LIMIT ${limit})`,
  }));
  return [
    {
      name: "template_steps",
      rows: sql`SELECT 1 FROM template_steps s JOIN task_templates t ON t.id = s.template_id WHERE t.user_id = ${staging}`,
      erase: sql`DELETE FROM template_steps WHERE rowid IN (SELECT s.rowid FROM template_steps s
        JOIN task_templates t ON t.id = s.template_id WHERE t.user_id = ${staging} LIMIT ${limit})`,
    },
    ...owned,
    {
      name: "import_items",
      rows: sql`SELECT 1 FROM import_items WHERE import_id = ${row.id}`,
      erase: sql`DELETE FROM import_items WHERE rowid IN (SELECT rowid FROM import_items WHERE import_id = ${row.id} LIMIT ${limit})`,
    },
    {
      // Tasks a replace hid while its job ran (jobs staged before review2 M2 did): shown again once.
      name: "hidden_tasks",
      rows: sql`SELECT 1 FROM tasks WHERE user_id = ${row.userId} AND deleted_at = ${row.createdAt}`,
      erase: sql`UPDATE tasks SET deleted_at = NULL WHERE rowid IN (SELECT rowid FROM tasks
        WHERE user_id = ${row.userId} AND deleted_at = ${row.createdAt} LIMIT ${limit})`,
    },
  ];
}

/**
 * Erases what a restore staged, sending at most `budget` statements, while `still` holds of its row
 * (checked in each batch). `page` is the rows per statement (tests lower it).
 */
export async function eraseRestoreStaging(
  db: Database,
  row: Row,
  still: SQL,
  budget: number,
  page = RESTORE_ERASE_PAGE,
): Promise<EraseOutcome> {
  const parts = partsOf(row, page);
  let statements = 0;
  // A read and one batch of at least one page: below that, nothing can be done.
  while (budget - statements >= 3) {
    // Counted up to what the rest of the budget can erase: a count at the cap means "maybe more".
    const cap = page * (budget - statements);
    // One row, a column per part (D1 refuses a compound SELECT of this many terms).
    const counts = await db.get<Record<string, number>>(
      sql`SELECT ${sql.join(
        parts.map(
          (part, i) =>
            sql`(SELECT count(*) FROM (${part.rows} LIMIT ${sql.raw(String(cap))})) AS ${sql.raw(`p${i}`)}`,
        ),
        sql`, `,
      )}`,
    );
    statements += 1;
    const pages: SQL[] = [];
    let complete = true;
    for (const [i, part] of parts.entries()) {
      const n = counts?.[`p${i}`] ?? 0;
      for (let k = 0; k < Math.ceil(n / page); k++) pages.push(part.erase);
      // What comes after a part not counted whole waits for it (template steps before templates).
      if (n >= cap) {
        complete = false;
        break;
      }
    }
    if (pages.length === 0) return { kind: "done", statements };
    let sent = 0;
    while (sent < pages.length) {
      const room = budget - statements - 1;
      if (room < 1) return { kind: "more", statements };
      const chunk = pages.slice(sent, sent + Math.min(ERASE_PAGES_PER_BATCH, room));
      try {
        await db.batch([
          abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${still})`),
          ...chunk.map((statement) => rawStatement(db, statement)),
        ]);
      } catch (error) {
        if (isGuardAbort(error)) return { kind: "gone", statements: statements + 1 };
        throw error;
      }
      statements += chunk.length + 1;
      sent += chunk.length;
    }
    // Every row was counted, and nothing stages while `still` holds (the job's writes need `running`,
    // and its own delivery is the one erasing): nothing is left.
    if (complete) return { kind: "done", statements };
  }
  return { kind: "more", statements };
}
