/**
 * The end of a restore (review3 H2, M1, M2, L3): the commit point, the paged move spread over
 * deliveries (the restored tasks hidden until its last batch), and a finishing step that restores each
 * object once and always ends — through HTTP and the imports queue, with objects made to fail.
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_RESENDS } from "../src/features/imports/limits";
import { GAVE_UP_PET } from "../src/features/imports/restore/job";
import { IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import { countingD1 } from "./helpers/counting-d1";
import { download, exportAccount } from "./helpers/export";
import { startFocus } from "./helpers/focus";
import {
  allTasks,
  commit,
  drainImports,
  getImport,
  type ImportMessage,
  runImportQueue,
  sweepImports,
} from "./helpers/imports";
import { petOf } from "./helpers/pets";
import {
  previewRestore,
  restoreFile,
  seedAccount,
  settleAll,
  stagedRows,
  withOwnPetAndFocus,
} from "./helpers/restore";
import { spyOnBatches } from "./helpers/sql-spy";
import { createTask } from "./helpers/tasks";

type Refusal = { status: number; code: string; detail: string };

/** A PET_STATE whose restoreSnapshot answers `refusal` (or throws, for an RPC failure); counts calls. */
function refusingPets(refusal: Refusal | "throw") {
  let calls = 0;
  const namespace = new Proxy(env.PET_STATE, {
    get(target, prop) {
      if (prop === "get")
        return () => ({
          restoreSnapshot: async () => {
            calls += 1;
            if (refusal === "throw") throw new Error("pet object reset (test)");
            return { ok: false, error: refusal };
          },
        });
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as unknown as DurableObjectNamespace;
  return { namespace, calls: () => calls };
}

const UNAVAILABLE: Refusal = { status: 503, code: "unavailable", detail: "pet object unavailable (test)" };

/** A D1 binding that records, for each batch statement moving rows (`SET user_id`), its `changes`. */
function movesOf(db: D1Database) {
  const moved: { sql: string; changes: number }[] = [];
  const wrapped = spyOnBatches(db, async (texts, run) => {
    const results = await run();
    texts.forEach((text, i) => {
      if (/SET user_id = \?/.test(text)) moved.push({ sql: text, changes: results[i]?.meta.changes ?? 0 });
    });
    return results;
  });
  return { db: wrapped, moved };
}

/** What a restore gave the account, without ids and times (two accounts compared). */
async function restoredShape(user: TestUser) {
  const tasks = (await allTasks(user))
    .map((t) => `${t.title}|${t.status}|${(t.micro_steps ?? []).map((s) => s.description).join(",")}`)
    .sort();
  const counts: Record<string, number> = {};
  for (const table of [
    "tasks",
    "micro_steps",
    "xp_ledger",
    "task_templates",
    "activity_days",
    "user_badges",
  ]) {
    const row = await env.DB.prepare(`SELECT count(*) AS n FROM "${table}" WHERE user_id = ?`)
      .bind(user.id)
      .first<{ n: number }>();
    counts[table] = row?.n ?? 0;
  }
  const progress = await env.DB.prepare("SELECT total_xp, level FROM user_progress WHERE user_id = ?")
    .bind(user.id)
    .first();
  return { tasks, counts, progress };
}

const focusSettings = (user: TestUser) =>
  callJson<Record<string, unknown>>("/api/v1/focus/enhanced/settings", 200, { token: user.token });

describe("restore: the paged move and the finishing step (review3)", () => {
  let file: string;
  beforeAll(async () => {
    const source = await createUser();
    await seedAccount(source, {
      // Enough rows that a move of one row a page takes more than one delivery of 600 statements.
      tasks: Array.from({ length: 60 }, (_, i) => ({
        title: `Chore ${i}`,
        steps: ["one", "two", "three"],
        done: i % 3,
      })),
    });
    const gone = await createTask(source, { title: "Deleted in the file" });
    await call(`/api/v1/tasks/${gone.task_id}`, { method: "DELETE", token: source.token });
    await callJson("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: source.token,
      body: { pomodoro_work_minutes: 40 },
    });
    await settleAll(source);
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  it("H2: a move over many deliveries, a page per statement and ≤ 600 statements each, ends as a one-delivery restore", async () => {
    const whole = await createUser();
    const { done: one } = await restoreFile(whole, file);
    expect(one.status).toBe("completed");

    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const watch = movesOf(env.DB);
    let pending: ImportMessage[] = sent;
    let moving = 0;
    let most = 0;
    for (let i = 0; i < 200 && pending.length > 0; i++) {
      const counting = countingD1(watch.db);
      const before = watch.moved.length;
      const run = await runImportQueue(pending, 1, { movePage: 1 }, { DB: counting.db });
      expect(run.result.retryMessages).toHaveLength(0);
      expect(counting.statements()).toBeLessThanOrEqual(600);
      most = Math.max(most, counting.statements());
      pending = run.sent as ImportMessage[];
      if (watch.moved.length > before) moving += 1;
      const job = await getImport(user, previewed.import_id);
      if (job.status === "running") {
        expect(job.progress.phase).toBe("moving");
        // Nothing of the restore's tasks shows while they move; the percent says 99 and why.
        expect(job.progress.percent).toBe(99);
        expect(await allTasks(user)).toEqual([]);
      }
    }
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(done.progress).toEqual({
      items_done: done.progress.items_total,
      items_total: done.progress.items_total,
      percent: 100,
    });
    // The move took several deliveries, each stopped by the statement budget.
    expect(moving).toBeGreaterThan(1);
    expect(most).toBeGreaterThan(500);
    // Every statement of the move moved at most one row (the page); the share cards move in the last batch.
    const paged = watch.moved.filter((m) => !m.sql.includes("social_shares"));
    expect(paged.length).toBeGreaterThan(100);
    expect(Math.max(...paged.map((m) => m.changes))).toBeLessThanOrEqual(1);
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
    await settleAll(user);
    const shape = await restoredShape(user);
    expect(shape).toEqual(await restoredShape(whole));
    expect(done.result).toEqual(one.result);
    // The file's deleted task stays deleted.
    expect(shape.tasks.some((t) => t.startsWith("Deleted in the file"))).toBe(false);
    expect(shape.tasks.length).toBeGreaterThan(12);
  });

  it("H2: a replace's move over deliveries deletes the earlier tasks only at its end", async () => {
    const user = await createUser();
    await createTask(user, { title: "Mine before" });
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "replace");
    let pending: ImportMessage[] = sent;
    for (let i = 0; i < 200 && pending.length > 0; i++) {
      pending = (await runImportQueue(pending, 1, { movePage: 7, maxMovePages: 2 })).sent as ImportMessage[];
      const job = await getImport(user, previewed.import_id);
      if (job.progress.phase === "moving") {
        expect((await allTasks(user)).map((t) => t.title)).toEqual(["Mine before"]);
        // Board standing the account earns while the rows move (as a grant writes it) is kept.
        await env.DB.prepare(
          `INSERT INTO user_progress (user_id, board_xp, updated_at) VALUES (?1, 77, ?2)
            ON CONFLICT (user_id) DO UPDATE SET board_xp = 77`,
        )
          .bind(user.id, new Date().toISOString())
          .run();
      }
    }
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    const progress = await env.DB.prepare("SELECT board_xp FROM user_progress WHERE user_id = ?")
      .bind(user.id)
      .first<{ board_xp: number }>();
    expect(progress?.board_xp).toBe(77);
    expect(done.result?.replaced).toBe(1);
    const titles = (await allTasks(user)).map((t) => t.title);
    expect(titles).not.toContain("Mine before");
    expect(titles).toContain("Plan the party");
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
  });

  it("H2: a delivery failing mid-move is retried, never failed nor discarded, re-sent past MAX_RESENDS, and completes", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    let pages = 0;
    const failing = {
      movePage: 3,
      beforeMove: () => {
        pages += 1;
        if (pages > 4) throw new Error("D1_ERROR: the move fails (test)");
      },
    };
    let pending: ImportMessage[] = sent;
    let retried: ImportMessage[] = [];
    for (let i = 0; i < 50 && pending.length > 0; i++) {
      const run = await runImportQueue(pending, 1, failing);
      if (run.result.retryMessages.length > 0) {
        retried = pending;
        break;
      }
      pending = run.sent as ImportMessage[];
    }
    expect(retried).toHaveLength(1);
    // The last attempt fails too: the job is not failed (it only goes forward).
    await runImportQueue(retried, IMPORTS_MAX_RETRIES + 1, failing);
    const stuck = await getImport(user, previewed.import_id);
    expect(stuck).toMatchObject({
      status: "running",
      error: null,
      progress: { percent: 99, phase: "moving" },
    });
    expect(await allTasks(user)).toEqual([]);
    const discard = await call(`/api/v1/import/${previewed.import_id}`, {
      method: "DELETE",
      token: user.token,
    });
    expect(discard.status).toBe(409);
    expect(((await discard.json()) as { detail: string }).detail).toMatch(/completes on its own/);
    // The message is lost; the stale sweep sends it again, even past MAX_RESENDS.
    await env.DB.prepare("UPDATE imports SET resends = ? WHERE id = ?")
      .bind(MAX_RESENDS + 2, previewed.import_id)
      .run();
    const again = await sweepImports(Date.now() + 16 * 60_000);
    expect(again).toHaveLength(1);
    await drainImports(again);
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(await stagedRows(user.id, previewed.import_id)).toBe(0);
    await settleAll(user);
    const whole = await createUser();
    await restoreFile(whole, file);
    expect(await restoredShape(user)).toEqual(await restoredShape(whole));
  });

  it("M1: a pet object that keeps failing: retried, the focus timer restored once, then completed with a note", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const pets = refusingPets(UNAVAILABLE);
    const bindings = { PET_STATE: pets.namespace } as never;
    let pending: ImportMessage[] = sent;
    let retried: ImportMessage[] = [];
    for (let i = 0; i < 50 && pending.length > 0; i++) {
      const run = await runImportQueue(pending, 1, {}, bindings);
      if (run.result.retryMessages.length > 0) {
        retried = pending;
        break;
      }
      pending = run.sent as ImportMessage[];
    }
    expect(retried).toHaveLength(1);
    const finishing = await getImport(user, previewed.import_id);
    expect(finishing).toMatchObject({ status: "running", progress: { percent: 99, phase: "finishing" } });
    // The timer was restored once: a change made now is not overwritten by the retries.
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(40);
    await callJson("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: user.token,
      body: { pomodoro_work_minutes: 55 },
    });
    await runImportQueue(retried, 2, {}, bindings);
    expect(pets.calls()).toBe(2);
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(55);
    const last = await runImportQueue(retried, IMPORTS_MAX_RETRIES + 1, {}, bindings);
    expect(last.result.retryMessages).toHaveLength(1);
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(done.progress.percent).toBe(100);
    expect(done.progress.phase).toBeUndefined();
    expect(done.result?.notes).toContain(GAVE_UP_PET);
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(55);
    // No pet was created: no interaction points at one (M2).
    const dangling = await env.DB.prepare(
      "SELECT count(*) AS n FROM pet_interactions i WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM user_pets p WHERE p.id = i.pet_id)",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(dangling?.n).toBe(0);
    expect((await call("/api/v1/pets/me", { token: user.token })).status).toBe(404);
    // The import is over: it can no longer be discarded, and a later sweep leaves it.
    expect(await sweepImports(Date.now() + 16 * 60_000)).toEqual([]);
  });

  it("M1: a stale finishing job past MAX_RESENDS is completed by the sweep, with a note", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const pets = refusingPets("throw");
    const bindings = { PET_STATE: pets.namespace } as never;
    let pending: ImportMessage[] = sent;
    for (let i = 0; i < 50 && pending.length > 0; i++) {
      const run = await runImportQueue(pending, 1, {}, bindings);
      if (run.result.retryMessages.length > 0) break;
      pending = run.sent as ImportMessage[];
    }
    expect(pets.calls()).toBe(1);
    expect((await getImport(user, previewed.import_id)).progress.phase).toBe("finishing");
    // Re-sent while under MAX_RESENDS...
    expect(await sweepImports(Date.now() + 16 * 60_000)).toHaveLength(1);
    expect((await getImport(user, previewed.import_id)).status).toBe("running");
    // ...then ended.
    await env.DB.prepare("UPDATE imports SET resends = ? WHERE id = ?")
      .bind(MAX_RESENDS, previewed.import_id)
      .run();
    expect(await sweepImports(Date.now() + 32 * 60_000)).toEqual([]);
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(done.result?.notes).toContain(GAVE_UP_PET);
  });

  it("M1: a thrown pet restore is retried and then restores the pet, the timer not asked again", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const pets = refusingPets("throw");
    let pending: ImportMessage[] = sent;
    let retried: ImportMessage[] = [];
    for (let i = 0; i < 50 && pending.length > 0; i++) {
      const run = await runImportQueue(pending, 1, {}, { PET_STATE: pets.namespace } as never);
      if (run.result.retryMessages.length > 0) {
        retried = pending;
        break;
      }
      pending = run.sent as ImportMessage[];
    }
    await callJson("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: user.token,
      body: { pomodoro_work_minutes: 25 },
    });
    await drainImports(retried);
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(done.result?.notes ?? []).toEqual([]);
    expect((await petOf(user)).name).toBe("Hoot");
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(25);
  });

  it("M1/M2: a pet the object refuses (422) is a note, and no interaction points at a pet never created", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    const { sent } = await commit(user, previewed.import_id, "merge");
    const pets = refusingPets({
      status: 422,
      code: "invalid_snapshot",
      detail: "The pet snapshot is not valid.",
    });
    let pending: ImportMessage[] = sent;
    for (let i = 0; i < 50 && pending.length > 0; i++) {
      const run = await runImportQueue(pending, 1, {}, { PET_STATE: pets.namespace } as never);
      expect(run.result.retryMessages).toHaveLength(0);
      pending = run.sent as ImportMessage[];
    }
    const done = await getImport(user, previewed.import_id);
    expect(done.status).toBe("completed");
    expect(done.result?.notes).toContain("The pet was not restored: The pet snapshot is not valid.");
    const interactions = await env.DB.prepare("SELECT count(*) AS n FROM pet_interactions WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(interactions?.n).toBe(0);
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(40);
  });

  it("M2: a replace while a focus session runs (409) leaves D1's focus settings as the timer's", async () => {
    const user = await withOwnPetAndFocus();
    await startFocus(user, {});
    const { done } = await restoreFile(user, file, "replace");
    expect(done.status).toBe("completed");
    expect(
      done.result?.notes?.some((n) => n.startsWith("The focus timer was not restored: A focus session")),
    ).toBe(true);
    const d1 = await env.DB.prepare("SELECT pomodoro_work_minutes AS m FROM focus_settings WHERE user_id = ?")
      .bind(user.id)
      .first<{ m: number }>();
    expect((await focusSettings(user)).pomodoro_work_minutes).toBe(33);
    expect(d1?.m).toBe(33);
    // The pet was restored over the account's (replace); its interactions point at it.
    expect((await petOf(user)).name).toBe("Hoot");
    const dangling = await env.DB.prepare(
      "SELECT count(*) AS n FROM pet_interactions i WHERE user_id = ? AND NOT EXISTS (SELECT 1 FROM user_pets p WHERE p.id = i.pet_id)",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(dangling?.n).toBe(0);
  });
});
