import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../db";

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

  async run(db: Database): Promise<readonly unknown[]> {
    const [first, ...rest] = this.items;
    if (!first) return [];
    return db.batch([first, ...rest]);
  }
}
