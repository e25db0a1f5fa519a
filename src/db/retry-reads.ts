import { retryOnce } from "../lib/transient";

// A statement that only reads: safe to send again after a transient failure.
const READ_ONLY = /^\s*(select|with)\b/i;
const WRITES = /\b(insert|update|delete|replace)\b/i;
const isRead = (sql: string) => READ_ONLY.test(sql) && !WRITES.test(sql);

/** The SQL of each wrapped statement, and the statement itself: D1's batch is given the originals. */
const sqlOf = new WeakMap<object, string>();
const originals = new WeakMap<object, D1PreparedStatement>();

function readingStatement(stmt: D1PreparedStatement, sql: string): D1PreparedStatement {
  const proxy = new Proxy(stmt, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "bind") {
        return (...args: unknown[]) =>
          readingStatement(Reflect.apply(value, target, args) as D1PreparedStatement, sql);
      }
      if (prop === "first" || prop === "all" || prop === "raw" || prop === "run") {
        return (...args: unknown[]) =>
          retryOnce(() => Reflect.apply(value, target, args) as Promise<unknown>);
      }
      return value.bind(target);
    },
  });
  sqlOf.set(proxy, sql);
  originals.set(proxy, stmt);
  return proxy;
}

/**
 * A D1 session whose reads are tried once more after a transient failure (a lost connection, a reset
 * object); writes are not, since one may have landed before the connection dropped: those become a 503
 * with Retry-After. A batch is retried only when every statement in it reads.
 */
export function retryReads(session: D1DatabaseSession): D1DatabaseSession {
  return new Proxy(session, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare") {
        return (sql: string) => {
          const stmt = Reflect.apply(value, target, [sql]) as D1PreparedStatement;
          return isRead(sql) ? readingStatement(stmt, sql) : stmt;
        };
      }
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => {
          const unwrapped = statements.map((s) => originals.get(s) ?? s);
          const send = () => Reflect.apply(value, target, [unwrapped]) as Promise<unknown>;
          const reads = statements.every((s) => {
            const sql = sqlOf.get(s);
            return sql !== undefined && isRead(sql);
          });
          return reads ? retryOnce(send) : send();
        };
      }
      return value.bind(target);
    },
  });
}
