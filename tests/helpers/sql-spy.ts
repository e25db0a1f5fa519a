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

const EXECUTING = new Set<string | symbol>(["all", "raw", "run", "first"]);

/**
 * A D1 binding (and the sessions a request opens on it) whose statements matching `pattern` run
 * `before` just before they execute: another request's write landing first, or D1 failing them.
 */
export function beforeStatements(db: D1Database, pattern: RegExp, before: () => Promise<void>): D1Database {
  const statement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind")
          return (...args: unknown[]) => statement(value.apply(target, args) as D1PreparedStatement);
        if (EXECUTING.has(prop))
          return async (...args: unknown[]) => {
            await before();
            return value.apply(target, args);
          };
        return value.bind(target);
      },
    });
  return new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare")
        return (query: string) => {
          const stmt = value.call(target, query) as D1PreparedStatement;
          return pattern.test(query) ? statement(stmt) : stmt;
        };
      if (prop === "withSession")
        return (constraint?: string) =>
          beforeStatements(value.call(target, constraint) as unknown as D1Database, pattern, before);
      return value.bind(target);
    },
  });
}
