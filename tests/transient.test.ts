import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { accountLookup } from "../src/lib/auth/account";
import { callJson, callWith, createUser, problemOf } from "./helpers/api";
import { openApiDocument } from "./helpers/openapi";
import { createTask, type Task } from "./helpers/tasks";

const ACCOUNT_LOOKUP_SQL = accountLookup(createDatabase(env.DB), "").toSQL().sql;

/** The way D1 reports a dropped connection (Cloudflare's docs list it as retryable). */
const lostConnection = () => new Error("D1_ERROR: Network connection lost.");

/**
 * A D1 whose sessions fail `failures` times (statements and batches alike) with a lost connection,
 * then work; `sent` counts what reached the database or failed on the way.
 */
function flakyD1(failures: number) {
  let left = failures;
  const counts = { failed: 0 };
  const trip = <T>(go: () => Promise<T>): Promise<T> => {
    if (left > 0) {
      left -= 1;
      counts.failed += 1;
      return Promise.reject(lostConnection());
    }
    return go();
  };
  const wrapStatement = (stmt: D1PreparedStatement): D1PreparedStatement =>
    ({
      bind: (...values: unknown[]) => wrapStatement(stmt.bind(...values)),
      first: (column?: string) => trip(() => (column ? stmt.first(column) : stmt.first())),
      all: () => trip(() => stmt.all()),
      run: () => trip(() => stmt.run()),
      raw: (options?: { columnNames?: false }) => trip(() => stmt.raw(options)),
      original: stmt,
    }) as unknown as D1PreparedStatement;
  const db = {
    ...env.DB,
    withSession: (constraint?: string) => {
      const session = env.DB.withSession(constraint);
      return {
        // The account lookup made beside a login's request is not the route's trip that fails here.
        prepare: (sql: string) =>
          sql === ACCOUNT_LOOKUP_SQL ? session.prepare(sql) : wrapStatement(session.prepare(sql)),
        batch: (statements: (D1PreparedStatement & { original?: D1PreparedStatement })[]) =>
          trip(() => session.batch(statements.map((s) => s.original ?? s))),
        getBookmark: () => session.getBookmark(),
      };
    },
  } as unknown as D1Database;
  return { db, counts };
}

describe("a D1 that drops a connection", () => {
  it("answers a read anyway: the read is sent once more", async () => {
    const user = await createUser();
    await createTask(user, { title: "Still here" });
    const flaky = flakyD1(1);
    const res = await callWith({ DB: flaky.db }, "/api/v1/tasks", { token: user.token });
    expect(res.status).toBe(200);
    expect((await res.json<Task[]>()).map((t) => t.title)).toEqual(["Still here"]);
    expect(flaky.counts.failed).toBe(1);
  });

  it("answers a write with 503 and Retry-After, not 500, and writes nothing", async () => {
    const user = await createUser();
    const flaky = flakyD1(1);
    const res = await callWith({ DB: flaky.db }, "/api/v1/tasks", {
      token: user.token,
      body: { title: "Not yet" },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await problemOf(res)).toMatchObject({ status: 503, code: "temporarily_unavailable" });
    expect(await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token })).toEqual([]);
  });

  it("answers 503 when the read fails again", async () => {
    const user = await createUser();
    const res = await callWith({ DB: flakyD1(2).db }, "/api/v1/tasks", { token: user.token });
    expect(res.status).toBe(503);
    expect((await problemOf(res)).detail).toMatch(/try again/);
  });
});

describe("a Durable Object that is reset", () => {
  /** The focus timer namespace, with the object's calls of `method` failing `failures` times. */
  function flakyTimers(method: string, failures: number) {
    let left = failures;
    const namespace = env.FOCUS_TIMER;
    return {
      idFromName: (name: string) => namespace.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = namespace.get(id);
        return new Proxy(stub, {
          get(target, prop) {
            const value: unknown = Reflect.get(target, prop);
            if (prop !== method || typeof value !== "function") return value;
            return (...args: unknown[]) => {
              if (left > 0) {
                left -= 1;
                const error = Object.assign(new Error("Durable Object reset because its code was updated."), {
                  retryable: true,
                });
                return Promise.reject(error);
              }
              return Reflect.apply(value, target, args);
            };
          },
        });
      },
    } as unknown as typeof env.FOCUS_TIMER;
  }

  it("answers the timer's state anyway: a read is sent once more", async () => {
    const user = await createUser();
    const res = await callWith({ FOCUS_TIMER: flakyTimers("current", 1) }, "/api/v1/focus/enhanced/state", {
      token: user.token,
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ phase: "idle" });
  });

  it("answers an action without an idempotency key with 503, which the client may retry", async () => {
    const user = await createUser();
    const res = await callWith({ FOCUS_TIMER: flakyTimers("act", 1) }, "/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { kind: "pomodoro" },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(await problemOf(res)).toMatchObject({ code: "temporarily_unavailable" });
  });
});

describe("the contract", () => {
  it("documents 503 on every operation", async () => {
    const doc = await openApiDocument();
    const missing = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.entries(operations)
        .filter(([, op]) => op.responses["503"] === undefined)
        .map(([method]) => `${method.toUpperCase()} ${path}`),
    );
    expect(missing).toEqual([]);
  });
});
