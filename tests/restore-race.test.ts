/**
 * Review4 M1: an erase never empties a failed restore whose cursor is kept (the consumer's last attempt
 * keeps it, so that committing again resumes there). Two routes used to: a late `import.erase` message,
 * and a discard racing a commit (the discard erased before it marked the row).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { MAX_RESENDS, STALE_AFTER_MS } from "../src/features/imports/limits";
import { GAVE_UP_PET, giveUpFinishing } from "../src/features/imports/restore/job";
import { discardImport } from "../src/features/imports/service";
import { cleanUpImports, IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { download, exportAccount } from "./helpers/export";
import {
  capturingQueue,
  commit,
  drainImports,
  getImport,
  type ImportMessage,
  runImportQueue,
} from "./helpers/imports";
import {
  failAtTheEnd,
  fileWithSteps,
  previewRestore,
  seedAccount,
  settleAll,
  stagedRows,
} from "./helpers/restore";
import { createTask } from "./helpers/tasks";

const STEPS = 600;

async function stepsOf(userId: string) {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM micro_steps WHERE user_id = ?")
    .bind(userId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function rowOf(importId: string) {
  return env.DB.prepare("SELECT status, items_done FROM imports WHERE id = ?")
    .bind(importId)
    .first<{ status: string; items_done: number }>();
}

/** A commit through the Worker with a queue the test holds, whatever it answers. */
async function commitAnswer(user: TestUser, importId: string) {
  const { sent, queue } = capturingQueue();
  const res = await callWith({ IMPORTS_QUEUE: queue }, `/api/v1/import/${importId}/commit`, {
    method: "POST",
    token: user.token,
    body: { mode: "merge" },
  });
  return { res, sent };
}

type Hook = (sql: string) => Promise<void>;

/** Runs `hook` with a statement's SQL before it (or a batch holding it) executes. */
function hooked(db: D1Database, hook: Hook): D1Database {
  const sqlOf = new WeakMap<object, string>();
  const wrap = (stmt: D1PreparedStatement, query: string): D1PreparedStatement => {
    sqlOf.set(stmt, query);
    const bind = stmt.bind.bind(stmt);
    const run = stmt.run.bind(stmt);
    const all = stmt.all.bind(stmt);
    const raw = stmt.raw.bind(stmt) as (...args: unknown[]) => Promise<unknown>;
    const first = stmt.first.bind(stmt) as (...args: unknown[]) => Promise<unknown>;
    const after =
      <T>(go: () => Promise<T>) =>
      async () => {
        await hook(query);
        return go();
      };
    return Object.assign(stmt, {
      bind: (...args: unknown[]) => wrap(bind(...args), query),
      run: after(run),
      all: after(all),
      raw: (...args: unknown[]) => after(() => raw(...args))(),
      first: (...args: unknown[]) => after(() => first(...args))(),
    });
  };
  return new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare")
        return (query: string) => wrap(value.call(target, query) as D1PreparedStatement, query);
      if (prop === "batch")
        return async (list: D1PreparedStatement[]) => {
          for (const stmt of list) await hook(sqlOf.get(stmt) ?? "");
          return value.call(target, list);
        };
      return value.bind(target);
    },
  });
}

/** The discard's mark: `discarding` set on the import row. */
const isMark = (query: string) => /^update "imports" set "status"/i.test(query);

describe("an erase never empties a restore that will resume (review4 M1)", () => {
  let file: string;
  beforeAll(async () => {
    file = await fileWithSteps(STEPS);
  }, 60_000);

  it("a late import.erase leaves a job failed at its last attempt as it was; committing again restores everything", async () => {
    const user = await createUser();
    const importId = await failAtTheEnd(user, file, "merge");
    const failed = await getImport(user, importId);
    expect(failed.status).toBe("failed");
    expect(failed.progress.items_done).toBeGreaterThan(STEPS);
    const staged = await stagedRows(user.id, importId);
    expect(staged).toBeGreaterThan(STEPS);
    // An erase message of an earlier failure, retried by the queue or delivered twice.
    const message: ImportMessage = { type: "import.erase", import_id: importId, user_id: user.id };
    const run = await runImportQueue([message], 1, { erasePage: 100 });
    expect(run.sent).toEqual([]);
    expect(run.result.retryMessages).toHaveLength(0);
    expect(await stagedRows(user.id, importId)).toBe(staged);
    expect(await rowOf(importId)).toEqual({ status: "failed", items_done: failed.progress.items_done });

    const { sent } = await commit(user, importId, "merge");
    await drainImports(sent);
    const done = await getImport(user, importId);
    expect(done.status).toBe("completed");
    expect(done.result).toMatchObject({ created: 1, skipped_duplicates: 0, steps: STEPS });
    expect(await stepsOf(user.id)).toBe(STEPS);
    expect(await stagedRows(user.id, importId)).toBe(0);
  }, 120_000);

  it("a commit racing a discard after its mark is 404 import_discarded, and the discard erases everything", async () => {
    const user = await createUser();
    const importId = await failAtTheEnd(user, file, "merge");
    let answer: Response | null = null;
    let sentByCommit: ImportMessage[] = [];
    let marked = false;
    // The person commits again (another tab) right after the discard marked the row, before it erases.
    const db = createDatabase(
      hooked(env.DB, async (query) => {
        if (isMark(query)) marked = true;
        else if (marked && answer === null) {
          answer = new Response();
          const raced = await commitAnswer(user, importId);
          answer = raced.res;
          sentByCommit = raced.sent;
        }
      }),
    );
    const { sent, queue } = capturingQueue();
    await discardImport(db, env.FILES, queue, user.id, importId, { erasePage: 100 });
    const res = answer as Response | null;
    expect(res?.status).toBe(404);
    if (res) expect((await problemOf(res)).code).toBe("import_discarded");
    expect(sentByCommit).toEqual([]);
    // Erased within the request (604 staged rows, 100 a statement): the import is gone.
    expect(sent).toEqual([]);
    expect(await stagedRows(user.id, importId)).toBe(0);
    expect(await rowOf(importId)).toBeNull();
    expect(await stepsOf(user.id)).toBe(0);
  }, 120_000);

  it("a commit racing a discard before its mark wins: the discard is 409 and erases nothing", async () => {
    const user = await createUser();
    const importId = await failAtTheEnd(user, file, "merge");
    const staged = await stagedRows(user.id, importId);
    let sentByCommit: ImportMessage[] = [];
    let raced = false;
    const { sent, queue } = capturingQueue();
    const db = createDatabase(
      hooked(env.DB, async (query) => {
        if (raced || !isMark(query)) return;
        raced = true;
        const answer = await commitAnswer(user, importId);
        expect(answer.res.status).toBe(202);
        sentByCommit = answer.sent;
      }),
    );
    let status = 204;
    try {
      await discardImport(db, env.FILES, queue, user.id, importId, { erasePage: 100 });
    } catch (error) {
      status = (error as { status?: number }).status ?? 500;
    }
    expect(status).toBe(409);
    expect(sent).toEqual([]);
    expect(await stagedRows(user.id, importId)).toBe(staged);
    await drainImports(sentByCommit);
    const done = await getImport(user, importId);
    expect(done.status).toBe("completed");
    expect(done.result).toMatchObject({ created: 1, steps: STEPS });
    expect(await stepsOf(user.id)).toBe(STEPS);
  }, 120_000);
});

/** A D1 whose first read of the imports table fails (SQLite refuses an unknown function): the erase's. */
function failingFirstImportRead(db: D1Database): D1Database {
  let failed = false;
  return new Proxy(db, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "prepare")
        return (query: string) => {
          if (failed || !/^select .* from "imports"/is.test(query)) return value.call(target, query);
          failed = true;
          return value.call(target, "SELECT no_such_function()");
        };
      return value.bind(target);
    },
  });
}

describe("the last attempt of an erase message (review4 L5)", () => {
  it("never fails the import: a job committed again goes on, and the message is retried", async () => {
    const user = await createUser();
    await createTask(user, { title: "mine" });
    await settleAll(user);
    const done = await exportAccount(user, "json");
    const previewed = await previewRestore(user, await (await download(done.download_url ?? "")).text());
    const { sent } = await commit(user, previewed.import_id, "merge");
    const message: ImportMessage = { type: "import.erase", import_id: previewed.import_id, user_id: user.id };
    const run = await runImportQueue(
      [message],
      IMPORTS_MAX_RETRIES + 1,
      {},
      { DB: failingFirstImportRead(env.DB) },
    );
    expect(run.result.retryMessages).toHaveLength(1);
    const job = await getImport(user, previewed.import_id);
    expect(job.status).toBe("queued");
    expect(job.error).toBeNull();
    await drainImports(sent);
    expect((await getImport(user, previewed.import_id)).status).toBe("completed");
  }, 60_000);
});

/** A PET_STATE whose restoreSnapshot throws (an RPC failure), or runs `before` and then the real one. */
function petsThat(before: (() => Promise<void>) | "throw"): DurableObjectNamespace {
  return new Proxy(env.PET_STATE, {
    get(target, prop) {
      if (prop === "get")
        return (id: DurableObjectId) => {
          const real = target.get(id);
          return {
            restoreSnapshot: async (...args: Parameters<typeof real.restoreSnapshot>) => {
              if (before === "throw") throw new Error("pet object reset (test)");
              await before();
              return real.restoreSnapshot(...args);
            },
          };
        };
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as DurableObjectNamespace;
}

/** A LEADERBOARD whose shards record the entries they are sent. */
function recordingBoards() {
  const entries: { user_id: string }[] = [];
  const namespace = new Proxy(env.LEADERBOARD, {
    get(target, prop) {
      if (prop === "get")
        return () => ({
          upsert: async (list: { user_id: string }[]) => {
            entries.push(...list);
          },
        });
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as typeof env.LEADERBOARD;
  return { namespace, users: () => entries.map((e) => e.user_id) };
}

/** Commits a restore and runs it until its finishing step is retried (its pet object throwing). */
async function finishingRestore(
  user: TestUser,
  file: string,
): Promise<{ importId: string; retried: ImportMessage[] }> {
  const previewed = await previewRestore(user, file);
  const { sent } = await commit(user, previewed.import_id, "merge");
  let pending: ImportMessage[] = sent;
  for (let i = 0; i < 50 && pending.length > 0; i++) {
    const run = await runImportQueue(pending, 1, {}, { PET_STATE: petsThat("throw") } as never);
    if (run.result.retryMessages.length > 0) return { importId: previewed.import_id, retried: pending };
    pending = run.sent as ImportMessage[];
  }
  throw new Error("the restore's finishing step was never retried");
}

/** As after MAX_RESENDS rounds of the sweep: the row last changed `ago` ms back. */
async function resentUntilGivenUp(importId: string, ago: number) {
  await env.DB.prepare("UPDATE imports SET resends = ?, updated_at = ? WHERE id = ?")
    .bind(MAX_RESENDS, new Date(Date.now() - ago).toISOString(), importId)
    .run();
}

describe("the stale sweep giving up on finishing (review4 L3)", () => {
  let file: string;
  beforeAll(async () => {
    const source = await createUser();
    await seedAccount(source);
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  it("updates the leaderboards, as the consumer's give-up does", async () => {
    const user = await createUser();
    await callJson("/api/v1/gamification/enhanced/leaderboard/opt-in", 200, {
      method: "PUT",
      token: user.token,
      body: { opt_in: true, display_name: `Racer ${crypto.randomUUID().slice(0, 6)}` },
    });
    const { importId } = await finishingRestore(user, file);
    await resentUntilGivenUp(importId, STALE_AFTER_MS + 60_000);
    const boards = recordingBoards();
    const { queue } = capturingQueue();
    await cleanUpImports({ ...env, IMPORTS_QUEUE: queue, LEADERBOARD: boards.namespace });
    const done = await getImport(user, importId);
    expect(done.status).toBe("completed");
    expect(done.result?.notes).toContain(GAVE_UP_PET);
    expect(boards.users()).toContain(user.id);
  }, 120_000);

  it("never gives up while a consumer retry is restoring the pet: the retry claimed the job", async () => {
    const user = await createUser();
    const { importId, retried } = await finishingRestore(user, file);
    // The consumer has been retrying for a while; the sweep re-sent it MAX_RESENDS times already.
    await resentUntilGivenUp(importId, STALE_AFTER_MS + 60_000);
    const { queue } = capturingQueue();
    // The sweep runs while the retry is inside the pet object's restore.
    const pets = petsThat(async () => {
      await cleanUpImports({ ...env, IMPORTS_QUEUE: queue });
    });
    const run = await runImportQueue(retried, 2, {}, { PET_STATE: pets } as never);
    expect(run.result.retryMessages).toHaveLength(0);
    const done = await getImport(user, importId);
    expect(done.status).toBe("completed");
    expect(done.result?.notes ?? []).not.toContain(GAVE_UP_PET);
    expect((await call("/api/v1/pets/me", { token: user.token })).status).toBe(200);
  }, 120_000);

  it("gives up only on the row as the sweep read it", async () => {
    const user = await createUser();
    const { importId } = await finishingRestore(user, file);
    const db = createDatabase(env.DB);
    // A delivery claimed the job after the sweep read it an hour ago.
    const read = new Date(Date.now() - 3_600_000).toISOString();
    expect(await giveUpFinishing(db, importId, undefined, read)).toBe(false);
    expect((await getImport(user, importId)).status).toBe("running");
    const row = await env.DB.prepare("SELECT updated_at FROM imports WHERE id = ?")
      .bind(importId)
      .first<{ updated_at: string }>();
    expect(await giveUpFinishing(db, importId, undefined, row?.updated_at)).toBe(true);
    expect((await getImport(user, importId)).status).toBe("completed");
  }, 120_000);
});
