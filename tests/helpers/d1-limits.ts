import { env } from "cloudflare:workers";

/**
 * Production D1 refuses what local D1 accepts: more than 100 bound parameters in one statement, or a
 * statement over 100 KB. Every D1 call in the test isolate — the Worker's, its Durable Objects', the
 * queue consumer's — goes through the same classes, so wrapping them here makes a test fail where
 * production would, even when the code under test swallows the error.
 */
export const MAX_BOUND_PARAMETERS = 100;
export const MAX_STATEMENT_BYTES = 100_000;

interface StatementFields {
  statement: string;
  params: unknown[];
}

const violations: string[] = [];
const PATCHED = Symbol.for("pap.d1-limits");
const encoder = new TextEncoder();

function check(stmt: StatementFields): void {
  const problems: string[] = [];
  if (stmt.params.length > MAX_BOUND_PARAMETERS) {
    problems.push(`${stmt.params.length} bound parameters (D1 allows ${MAX_BOUND_PARAMETERS})`);
  }
  const bytes = encoder.encode(stmt.statement).length;
  if (bytes > MAX_STATEMENT_BYTES) problems.push(`${bytes} bytes of SQL (D1 allows ${MAX_STATEMENT_BYTES})`);
  if (problems.length === 0) return;
  const message = `D1 would refuse this statement: ${problems.join(", ")}: ${stmt.statement.slice(0, 160)}`;
  violations.push(message);
  throw new Error(`D1_ERROR: ${message}`);
}

function wrapMethod(target: object, name: string, before: (self: unknown, args: unknown[]) => void): void {
  const original = Reflect.get(target, name) as (...args: unknown[]) => unknown;
  Object.defineProperty(target, name, {
    configurable: true,
    writable: true,
    value: function (this: unknown, ...args: unknown[]) {
      try {
        before(this, args);
      } catch (error) {
        // As production D1 does: the call's promise rejects.
        return Promise.reject(error);
      }
      return original.apply(this, args);
    },
  });
}

/** Installs the limits once per isolate (setup files run once per test file). */
export function enforceD1Limits(): void {
  const database = Object.getPrototypeOf(env.DB) as Record<symbol, boolean>;
  if (database[PATCHED]) return;
  database[PATCHED] = true;
  const statement = Object.getPrototypeOf(env.DB.prepare("SELECT 1")) as object;
  const session = Object.getPrototypeOf(env.DB.withSession()) as object;
  for (const method of ["first", "run", "all", "raw"]) {
    wrapMethod(statement, method, (self) => check(self as StatementFields));
  }
  for (const target of [database, session]) {
    wrapMethod(target, "batch", (_self, [statements]) => {
      for (const stmt of statements as StatementFields[]) check(stmt);
    });
  }
}

/** What D1 would have refused since the last call, cleared. */
export function takeD1Violations(): string[] {
  return violations.splice(0);
}
