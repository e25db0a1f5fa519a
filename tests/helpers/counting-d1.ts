import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDatabase } from "../../src/db";
import worker from "../../src/index";
import { accountLookup } from "../../src/lib/auth/account";
import { BASE } from "./api";

/**
 * The read a login's request makes of its account, beside the route's own work (a deleted account's
 * token is refused at once): it adds no wait, so it is counted apart from the route's round trips.
 */
const ACCOUNT_LOOKUP_SQL = accountLookup(createDatabase(env.DB), "").toSQL().sql;

/**
 * Wraps a D1 binding and counts round trips: each statement execution (first/all/run/raw) and each
 * batch is one trip to the database; account lookups are counted apart (`lookups`).
 */
export function countingD1(db: D1Database): { db: D1Database; count: () => number; lookups: () => number } {
  let trips = 0;
  let lookups = 0;
  const targets = new WeakMap<object, object>();
  const unwrap = <T extends object>(value: T): T => (targets.get(value) as T | undefined) ?? value;

  const wrapStatement = (stmt: D1PreparedStatement, query: string): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind")
          return (...args: unknown[]) =>
            wrapStatement(value.apply(target, args) as D1PreparedStatement, query);
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => {
            if (query === ACCOUNT_LOOKUP_SQL) lookups += 1;
            else trips += 1;
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    targets.set(proxy, stmt);
    return proxy;
  };

  const wrapDatabase = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare")
          return (query: string) => wrapStatement(value.call(target, query) as D1PreparedStatement, query);
        if (prop === "batch") {
          return (statements: D1PreparedStatement[]) => {
            trips += 1;
            return value.call(target, statements.map(unwrap));
          };
        }
        if (prop === "withSession") {
          return (...args: unknown[]) => wrapDatabase(value.apply(target, args) as D1DatabaseSession);
        }
        return value.bind(target);
      },
    });

  return { db: wrapDatabase(db), count: () => trips, lookups: () => lookups };
}

/**
 * Sends one request through the Worker with a D1 binding that counts round trips; the count is taken
 * when the answer is complete, before the work the Worker does after it.
 */
export async function tripsFor(
  path: string,
  init: RequestInit & { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; trips: number }> {
  const { status, trips } = await tripsAndLookupsFor(path, init);
  return { status, trips };
}

/** `tripsFor`, with the account lookups made beside the route's round trips. */
export async function tripsAndLookupsFor(
  path: string,
  init: RequestInit & { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; trips: number; lookups: number }> {
  const counter = countingD1(env.DB);
  const ctx = createExecutionContext();
  const { token, headers, ...rest } = init;
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      ...rest,
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
    }),
    { ...env, DB: counter.db },
    ctx,
  );
  await res.text();
  const trips = counter.count();
  const lookups = counter.lookups();
  await waitOnExecutionContext(ctx);
  return { status: res.status, trips, lookups };
}
