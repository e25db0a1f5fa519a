/**
 * A D1 binding whose batches are seen with each statement's SQL text: to record what a job sends
 * (rows changed per statement, per batch) or to make a chosen batch fail, whatever makes it fail.
 */
export type BatchSpy = (texts: string[], run: () => Promise<D1Result[]>) => Promise<D1Result[]>;

export function spyOnBatches(db: D1Database, onBatch: BatchSpy): D1Database {
  const sqlOf = new WeakMap<object, string>();
  return new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare")
        return (query: string) => {
          const stmt = value.call(target, query) as D1PreparedStatement;
          sqlOf.set(stmt, query);
          const bind = stmt.bind.bind(stmt);
          return Object.assign(stmt, {
            bind: (...args: unknown[]) => {
              const bound = bind(...args);
              sqlOf.set(bound, query);
              return bound;
            },
          });
        };
      // A request's own statements go through a session (D1's read replication): spied the same way.
      if (prop === "withSession")
        return (constraint?: string) =>
          spyOnBatches(value.call(target, constraint) as unknown as D1Database, onBatch);
      if (prop === "batch")
        return (list: D1PreparedStatement[]) =>
          onBatch(
            list.map((s) => sqlOf.get(s) ?? ""),
            () => value.call(target, list) as Promise<D1Result[]>,
          );
      return value.bind(target);
    },
  });
}
