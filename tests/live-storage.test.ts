import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import { LiveStorage } from "../durable-objects/live-storage";

interface Counted {
  storage: DurableObjectStorage;
  statements: string[];
}

/** The object's storage, with every SQL statement run through it written down. */
function counted(storage: DurableObjectStorage): Counted {
  const statements: string[] = [];
  const sql = new Proxy(storage.sql, {
    get(target, prop) {
      if (prop !== "exec") return Reflect.get(target, prop, target);
      return (query: string, ...bindings: unknown[]) => {
        statements.push(query);
        return target.exec(query, ...bindings);
      };
    },
  });
  const wrapped = new Proxy(storage, {
    get(target, prop) {
      if (prop === "sql") return sql;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { storage: wrapped, statements };
}

/** Runs `work` inside a fresh object of its own (a timer nobody uses), on its real SQLite storage. */
function inFreshObject<T>(work: (storage: DurableObjectStorage) => T | Promise<T>): Promise<T> {
  const stub = env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(`live-storage-${crypto.randomUUID()}`));
  return runInDurableObject(stub, (_instance: FocusTimer, state) => work(state.storage));
}

const change = (state: { n: number }, meta?: Record<string, unknown>) => ({
  state,
  messages: [],
  outbox: [],
  ...(meta ? { meta } : {}),
});

describe("a live object's meta table", () => {
  it("is read in one statement when an object wakes, and keys it lacks cost no statement", async () => {
    const result = await inFreshObject((storage) => {
      const first = new LiveStorage<{ n: number }>(storage);
      first.commit(change({ n: 7 }, { rooms: ["r1"] }), Date.now());

      // A new instance over the same storage: the object woken after an eviction.
      const woken = counted(storage);
      const again = new LiveStorage<{ n: number }>(woken.storage);
      const onWake = [...woken.statements];
      const read = {
        state: again.state(),
        rooms: again.json<string[]>("rooms"),
        seq: again.seq(),
        label: again.json("task_label"),
        settings: again.has("settings"),
      };
      return { onWake, afterReads: woken.statements.length, read };
    });
    expect(result.onWake).toEqual(["SELECT key, value FROM meta"]);
    expect(result.afterReads).toBe(1);
    expect(result.read).toEqual({
      state: { n: 7 },
      rooms: ["r1"],
      seq: 0,
      label: undefined,
      settings: false,
    });
  });

  it("is created on an object's first use, and then known whole", async () => {
    const result = await inFreshObject(async (storage) => {
      // The object's own instance made its tables when it was built: start from none, as a new one.
      await storage.deleteAll();
      const fresh = counted(storage);
      const store = new LiveStorage<{ n: number }>(fresh.storage);
      const made = fresh.statements.length;
      const state = store.state();
      return { made, reads: fresh.statements.length - made, state, tables: tablesOf(storage) };
    });
    expect(result.state).toBeUndefined();
    expect(result.reads).toBe(0);
    // The read that finds no table, then the schema's statements.
    expect(result.made).toBeGreaterThan(5);
    expect(result.tables).toEqual(
      expect.arrayContaining(["meta", "messages", "outbox", "idempotency", "seen", "revoked_credentials"]),
    );
  });

  it("keeps a cached value only where none was, and reads the kept one back", async () => {
    const result = await inFreshObject((storage) => {
      new LiveStorage<{ n: number }>(storage).cacheJson("settings", { work: 40 });
      const store = new LiveStorage<{ n: number }>(storage);
      store.cacheJson("settings", { work: 25 });
      const kept = store.json("settings");
      store.cacheJson("other", { work: 30 });
      return { kept, other: store.json("other"), fromTable: new LiveStorage(storage).json("other") };
    });
    expect(result.kept).toEqual({ work: 40 });
    expect(result.other).toEqual({ work: 30 });
    expect(result.fromTable).toEqual({ work: 30 });
  });

  it("goes back to the table after a failed transaction (its writes were rolled back)", async () => {
    const result = await inFreshObject((storage) => {
      const store = new LiveStorage<{ n: number }>(storage);
      store.commit(change({ n: 1 }), Date.now());
      // A meta value that cannot be written as JSON fails the transaction after the state was written.
      const failing = change({ n: 2 }, { broken: 1n });
      const error = (() => {
        try {
          store.commit(failing, Date.now());
          return null;
        } catch (thrown) {
          return (thrown as Error).message;
        }
      })();
      return { error, state: store.state(), seq: store.seq() };
    });
    expect(result.error).toMatch(/BigInt/);
    expect(result.state).toEqual({ n: 1 });
    expect(result.seq).toBe(0);
  });
});

function tablesOf(storage: DurableObjectStorage): string[] {
  return storage.sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .toArray()
    .map((r) => r.name);
}
