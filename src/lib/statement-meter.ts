/**
 * D1 allows 1,000 statements per invocation, and the 5-minute cron runs several jobs in one
 * (index.ts scheduled). A job given a share of that (jobs/cron-budget.ts) reads its D1 through a
 * meter: every statement it sends is counted (a batch's each), and it takes a next unit of work (a row,
 * an agent) only while what is left covers that unit's worst case. Counting only: a job is never cut
 * in the middle of a unit.
 */
export interface StatementMeter {
  /** Statements sent so far through the metered binding. */
  spent(): number;
  /** Round trips so far: a statement run alone, or a whole batch. */
  trips(): number;
  /** What is left of the share (never below 0). */
  left(): number;
}

/** `db` metered against `share` statements. */
export function meteredD1(db: D1Database, share: number): { db: D1Database; meter: StatementMeter } {
  let spent = 0;
  let trips = 0;
  const targets = new WeakMap<object, object>();
  const unwrap = <T extends object>(value: T): T => (targets.get(value) as T | undefined) ?? value;

  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind")
          return (...args: unknown[]) => wrapStatement(value.apply(target, args) as D1PreparedStatement);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw")
          return (...args: unknown[]) => {
            spent += 1;
            trips += 1;
            return value.apply(target, args);
          };
        return value.bind(target);
      },
    });
    targets.set(proxy, stmt);
    return proxy;
  };

  // A session (read replicas) is metered too: its statements count against the same share.
  const wrapDatabase = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare")
          return (query: string) => wrapStatement(value.call(target, query) as D1PreparedStatement);
        if (prop === "batch")
          return (list: D1PreparedStatement[]) => {
            spent += list.length;
            trips += 1;
            // D1 takes only its own statements in a batch.
            return value.call(target, list.map(unwrap));
          };
        if (prop === "withSession")
          return (...args: unknown[]) => wrapDatabase(value.apply(target, args) as D1DatabaseSession);
        return value.bind(target);
      },
    });
  return {
    db: wrapDatabase(db),
    meter: { spent: () => spent, trips: () => trips, left: () => Math.max(0, share - spent) },
  };
}

/** A meter with no limit, for callers that run a job alone (tests, an admin route). */
export const unmetered: StatementMeter = {
  spent: () => 0,
  trips: () => 0,
  left: () => Number.POSITIVE_INFINITY,
};
