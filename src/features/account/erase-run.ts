import type { ErasePlan, EraseStep } from "./erase-plan";

/**
 * Rows one chunked DELETE removes at most. D1 has one writer: a statement, and the batch around it,
 * holds it while it runs, so every transaction of an erasure stays short (README: Deleting an account).
 */
export const ROWS_PER_STATEMENT = 1000;
/** Statements per batch (one round trip, one transaction): at most this many chunks at once. */
export const STATEMENTS_PER_BATCH = 20;

export interface EraseRunOptions {
  rowsPerStatement?: number;
  statementsPerBatch?: number;
  /** Statements this invocation may still send (D1 allows 1,000 per invocation); then it stops. */
  budget?: number;
}

export interface EraseRunResult {
  /** Whether the plan ran to its end; false: the budget ran out first (run it again to go on). */
  done: boolean;
  statements: number;
  batches: number;
  rows: number;
  /** The longest batch, in milliseconds: how long the erasure held D1's writer at once. */
  longestBatchMs: number;
}

interface Prepared {
  step: EraseStep;
  statements: D1PreparedStatement[];
}

const DELETE = /^delete from ("[^"]+") where ([\s\S]+)$/;

/** A DELETE as one that removes at most `rows` of its rows (by rowid, found through the same condition). */
export function boundedDelete(sqlText: string, rows: number): string {
  const match = DELETE.exec(sqlText);
  if (!match) throw new Error(`Only a plain DELETE can be chunked: ${sqlText}`);
  const [, table, condition] = match;
  return `delete from ${table} where rowid in (select rowid from ${table} where ${condition} limit ${rows})`;
}

function prepare(d1: D1Database | D1DatabaseSession, step: EraseStep, rows: number): Prepared {
  const statements = step.statements.map((statement) => {
    const query = statement.toSQL();
    const text = step.chunked ? boundedDelete(query.sql, rows) : query.sql;
    return d1.prepare(text).bind(...query.params);
  });
  return { step, statements };
}

/** Steps in batches of at most `size` statements; a step's statements stay together. */
function batchesOf(steps: Prepared[], size: number): Prepared[][] {
  const out: Prepared[][] = [];
  let current: Prepared[] = [];
  let count = 0;
  for (const step of steps) {
    if (count > 0 && count + step.statements.length > size) {
      out.push(current);
      current = [];
      count = 0;
    }
    current.push(step);
    count += step.statements.length;
  }
  if (current.length > 0) out.push(current);
  return out;
}

/**
 * Runs the plan, phase by phase: every step of a phase once, then again the chunked ones that found a
 * full chunk, until none does; only then the next phase. Every statement is set-based and safe to
 * repeat, so an erasure that stopped (a failure, the budget) continues by running the plan again.
 */
export async function runErasePlan(
  d1: D1Database | D1DatabaseSession,
  plan: ErasePlan,
  options: EraseRunOptions = {},
): Promise<EraseRunResult> {
  const rows = options.rowsPerStatement ?? ROWS_PER_STATEMENT;
  const size = options.statementsPerBatch ?? STATEMENTS_PER_BATCH;
  const budget = options.budget ?? Number.POSITIVE_INFINITY;
  const result: EraseRunResult = { done: false, statements: 0, batches: 0, rows: 0, longestBatchMs: 0 };
  for (const phase of plan) {
    let pending = phase.map((step) => prepare(d1, step, rows));
    while (pending.length > 0) {
      const again: Prepared[] = [];
      for (const batch of batchesOf(pending, size)) {
        const statements = batch.flatMap((p) => p.statements);
        // Always at least one batch: a budget smaller than a batch must still make progress.
        if (result.statements > 0 && result.statements + statements.length > budget) return result;
        const started = performance.now();
        const answers = await d1.batch(statements);
        result.longestBatchMs = Math.max(result.longestBatchMs, performance.now() - started);
        result.statements += statements.length;
        result.batches += 1;
        let at = 0;
        for (const p of batch) {
          const last = answers[at + p.statements.length - 1];
          at += p.statements.length;
          const changed = last?.meta.changes ?? 0;
          result.rows += changed;
          if (p.step.chunked && changed >= rows) again.push(p);
        }
      }
      pending = again;
    }
  }
  result.done = true;
  return result;
}
