import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import { LiveStorage, MESSAGE_LOG_SIZE } from "../durable-objects/live-storage";

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
      const made = [...fresh.statements];
      const state = store.state();
      return { made, reads: fresh.statements.length - made.length, state, tables: tablesOf(storage) };
    });
    expect(result.state).toBeUndefined();
    expect(result.reads).toBe(0);
    // The read that finds no table, then the schema's statements, then the new table read whole.
    expect(result.made[0]).toBe("SELECT key, value FROM meta");
    expect(result.made.slice(1).some((q) => q.startsWith("CREATE TABLE IF NOT EXISTS meta"))).toBe(true);
    expect(result.made.at(-1)).toBe("SELECT key, value FROM meta");
    expect(result.tables).toEqual(
      expect.arrayContaining([
        "meta",
        "messages",
        "outbox",
        "idempotency",
        "used_tickets",
        "seen",
        "revoked_credentials",
      ]),
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
      const afterFailure = { state: store.state(), seq: store.seq() };
      // The same state again, now for real: the copy must not take it for written already.
      store.commit(change({ n: 2 }), Date.now());
      return { error, afterFailure, stored: new LiveStorage<{ n: number }>(storage).state() };
    });
    expect(result.error).toMatch(/BigInt/);
    expect(result.afterFailure).toEqual({ state: { n: 1 }, seq: 0 });
    expect(result.stored).toEqual({ n: 2 });
  });
});

describe("a live object's message log", () => {
  it("keeps at least the last 100 messages, cut back once in a while rather than on every change", async () => {
    const result = await inFreshObject((storage) => {
      const watched = counted(storage);
      const store = new LiveStorage<{ n: number }>(watched.storage);
      for (let n = 1; n <= 150; n++) {
        store.commit({ state: { n }, messages: [(seq) => JSON.stringify({ seq })], outbox: [] }, Date.now());
      }
      const kept = storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM messages").one().n;
      return {
        seq: store.seq(),
        kept,
        trims: watched.statements.filter((q) => q.startsWith("DELETE FROM messages")).length,
        lastHundred: store.messagesAfter(store.seq() - MESSAGE_LOG_SIZE).map((m) => JSON.parse(m).seq),
      };
    });
    expect(result.seq).toBe(150);
    expect(result.kept).toBeGreaterThanOrEqual(MESSAGE_LOG_SIZE);
    expect(result.kept).toBeLessThan(MESSAGE_LOG_SIZE + 20);
    expect(result.trims).toBe(7);
    expect(result.lastHundred).toEqual(Array.from({ length: 100 }, (_, i) => 51 + i));
  });

  it("does not write again a meta value that is already there", async () => {
    const result = await inFreshObject((storage) => {
      const watched = counted(storage);
      const store = new LiveStorage<{ n: number }>(watched.storage);
      const sameEachTime = { ...change({ n: 1 }, { task_label: null }), messages: [() => "{}"] };
      for (let n = 0; n < 3; n++) store.commit(sameEachTime, Date.now());
      const again = new LiveStorage<{ n: number }>(storage);
      return {
        metaWrites: watched.statements.filter((q) => q.startsWith("INSERT INTO meta")).length,
        label: storage.sql.exec("SELECT value FROM meta WHERE key = 'task_label'").toArray(),
        reread: { state: again.state(), seq: again.seq() },
      };
    });
    // The first change writes state, task_label and seq; the other two only seq (their state is the same).
    expect(result.metaWrites).toBe(5);
    expect(result.label).toEqual([{ value: "null" }]);
    expect(result.reread).toEqual({ state: { n: 1 }, seq: 3 });
  });
});

function tablesOf(storage: DurableObjectStorage): string[] {
  return storage.sql
    .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
    .toArray()
    .map((r) => r.name);
}
