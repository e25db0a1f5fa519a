import { type SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db";
import { errorText } from "./db-errors";

type Item = BatchItem<"sqlite">;
type ResultOf<Q extends Item> = Q["_"]["result"];

/**
 * Collects statements for one `db.batch` (one D1 round trip, one transaction) when their number
 * depends on the request; `add` returns a typed reader for that statement's result.
 */
export class D1Batch {
  private readonly items: Item[] = [];

  add<Q extends Item>(query: Q): (results: readonly unknown[]) => ResultOf<Q> {
    const index = this.items.push(query) - 1;
    return (results) => results[index] as ResultOf<Q>;
  }

  addAll(queries: Item[]): void {
    this.items.push(...queries);
  }

  /** Statements so far (D1 counts each toward its limit per invocation). */
  get size(): number {
    return this.items.length;
  }

  async run(db: Database): Promise<readonly unknown[]> {
    const [first, ...rest] = this.items;
    if (!first) return [];
    return db.batch([first, ...rest]);
  }
}

/**
 * A raw SQL statement that can go in a `db.batch`. drizzle's D1 batch binds each item's prepared
 * `stmt`, which its raw queries (`db.run(sql…)`) lack once they have parameters; this gives the raw
 * query that statement, prepared on the same D1 client (or session).
 */
export function rawStatement(db: Database, query: SQL): BatchItem<"sqlite"> {
  const item = db.run(query);
  Object.assign(item, { stmt: db.$client.prepare(item.getQuery().sql) });
  return item;
}

/**
 * A batch statement that aborts the whole batch when `condition` holds at that point of its
 * transaction: a check no concurrent request can slip past between a read and the write it guards.
 * Put it first; recognise the abort with `isGuardAbort`.
 */
export function abortIf(db: Database, condition: SQL): BatchItem<"sqlite"> {
  return rawStatement(db, sql`INSERT INTO batch_guards (reason) SELECT NULL WHERE ${condition}`);
}

export function isGuardAbort(error: unknown): boolean {
  return errorText(error).includes("batch_guards.reason");
}
