import { env } from "cloudflare:workers";
import { callWith } from "./api";
import type { TestRequest } from "./round-trips";

/** A statement as the Worker sent it to D1. */
export interface SentStatement {
  sql: string;
  params: unknown[];
}

/** `db` noting every statement it runs (alone or in a batch, through sessions too) with its parameters. */
export function recordingD1(db: D1Database, sent: SentStatement[]): D1Database {
  const known = new WeakMap<object, SentStatement>();
  const targets = new WeakMap<object, D1PreparedStatement>();
  const statement = (stmt: D1PreparedStatement, query: string, params: unknown[]): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind") {
          return (...args: unknown[]) =>
            statement(value.apply(target, args) as D1PreparedStatement, query, args);
        }
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => {
            sent.push({ sql: query, params });
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    known.set(proxy, { sql: query, params });
    targets.set(proxy, stmt);
    return proxy;
  };
  const wrap = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare") {
          return (query: string) => statement(value.call(target, query) as D1PreparedStatement, query, []);
        }
        if (prop === "batch") {
          return (list: D1PreparedStatement[]) => {
            for (const s of list) sent.push(known.get(s) ?? { sql: "", params: [] });
            // D1 takes only its own statements in a batch.
            return value.call(
              target,
              list.map((s) => targets.get(s) ?? s),
            );
          };
        }
        if (prop === "withSession") {
          return (...args: unknown[]) => wrap(value.apply(target, args) as D1DatabaseSession);
        }
        return value.bind(target);
      },
    });
  return wrap(db);
}

/** Every D1 statement one request sent, the work it left to `waitUntil` included. */
export async function statementsOf(
  path: string,
  init: TestRequest = {},
): Promise<{ status: number; statements: SentStatement[] }> {
  const statements: SentStatement[] = [];
  const res = await callWith({ DB: recordingD1(env.DB, statements) }, path, init);
  return { status: res.status, statements };
}

/**
 * The steps of the statements' query plans that read a whole table: a SCAN, unless over a partial index
 * (which holds just the rows it is about), and an automatic index (built from the whole table). Each is given with its statement, to say what to fix.
 */
export async function wholeTableScans(statements: readonly SentStatement[]): Promise<string[]> {
  const { results: indexes } = await env.DB.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'index' AND sql LIKE '% WHERE %'",
  ).all<{ name: string }>();
  const partial = new Set(indexes.map((i) => i.name));
  const scans: string[] = [];
  for (const statement of statements) {
    const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
      .bind(...statement.params)
      .all<{ detail: string }>();
    // A scan of a subquery's own rows (a co-routine, a materialized view, a constant row) reads no table.
    const derived = new Set(
      results
        .map((r) => /^(?:CO-ROUTINE|MATERIALIZE) (\S+)/.exec(r.detail)?.[1])
        .filter((n) => n !== undefined),
    );
    for (const { detail } of results) {
      // An automatic index is built by reading the whole table, on every run of the statement.
      if (/ USING AUTOMATIC (?:COVERING |PARTIAL )*INDEX/.test(detail)) {
        scans.push(`${detail} in: ${statement.sql}`);
        continue;
      }
      // A table-valued function (json_each) reads the value it is given, no table.
      if (/^SCAN \S+ VIRTUAL TABLE/.test(detail)) continue;
      const scanned = /^SCAN (\S+)/.exec(detail)?.[1];
      if (scanned === undefined || scanned === "CONSTANT" || scanned.startsWith("(") || derived.has(scanned))
        continue;
      const index = / USING (?:COVERING )?INDEX (\S+)/.exec(detail)?.[1];
      if (index === undefined || !partial.has(index)) scans.push(`${detail} in: ${statement.sql}`);
    }
  }
  return scans;
}
