/**
 * Your own backup restored by its link (review4 H1, M2, L1, L2, L6): the account's own tasks take the
 * file's version in bounded pages after the move (never in the commit point's batch), what a person
 * sees meanwhile, and what the result says — through HTTP and the imports queue, one page a delivery.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import { exportAccount } from "./helpers/export";
import { allTasks, commit, getImport, type ImportMessage, runImportQueue } from "./helpers/imports";
import { previewRestore, settleAll, stagedRows } from "./helpers/restore";
import { spyOnBatches } from "./helpers/sql-spy";
import { createTask } from "./helpers/tasks";

const N = 12;
const STEPS = 3;
const OWN_PAGE = 3;
const ownStepToDelete = new Map<string, string>();

/** A D1 binding that records each batch: its statements' SQL and its rows changed. */
function batchesOf(db: D1Database) {
  const batches: { texts: string[]; changes: number }[] = [];
  const wrapped = spyOnBatches(db, async (texts, run) => {
    const results = await run();
    batches.push({ texts, changes: results.reduce((n, r) => n + (r?.meta.changes ?? 0), 0) });
    return results;
  });
  return { db: wrapped, batches };
}

const isCommitPoint = (texts: string[]) => texts.some((t) => t.includes("SET parent_task_id = NULL"));
const isOwnPage = (texts: string[]) => texts.some((t) => t.includes("json_set(mapping, '$.own'"));

/**
 * N tasks of STEPS steps, T1 depending on T0, exported; then every task renamed, the first step of
 * every fourth task deleted, a step added to T0, T1's dependency removed, T2 and T3 deleted, and a
 * task made: the backup is to undo that.
 */
async function changedSinceBackup() {
  const owner = await createUser();
  const ids: string[] = [];
  for (let i = 0; i < N; i++) {
    const task = await createTask(owner, {
      title: `T${String(i).padStart(2, "0")}`,
      micro_steps: Array.from({ length: STEPS }, (_, j) => ({ description: `T${i} s${j}` })),
      ...(i === 1 ? { depends_on: [ids[0] ?? ""] } : {}),
    });
    ids.push(task.task_id);
    if (i % 4 === 0) ownStepToDelete.set(task.task_id, task.micro_steps?.[0]?.step_id ?? "");
  }
  await settleAll(owner);
  const done = await exportAccount(owner, "json");
  const before = await view(owner);
  for (const [i, id] of ids.entries()) {
    await callJson(`/api/v1/tasks/${id}`, 200, {
      method: "PATCH",
      token: owner.token,
      body: { title: `T${String(i).padStart(2, "0")} renamed`, ...(i === 1 ? { depends_on: [] } : {}) },
    });
    const step = ownStepToDelete.get(id);
    if (step)
      expect(
        (await call(`/api/v1/tasks/${id}/steps/${step}`, { method: "DELETE", token: owner.token })).status,
      ).toBe(204);
  }
  await callJson(`/api/v1/tasks/${ids[0]}/steps`, 201, {
    token: owner.token,
    body: { description: "T0 step added after export" },
  });
  for (const id of [ids[2], ids[3]])
    expect((await call(`/api/v1/tasks/${id}`, { method: "DELETE", token: owner.token })).status).toBe(204);
  await createTask(owner, { title: "D made after export" });
  await settleAll(owner);
  return { owner, link: done.download_url ?? "", ids, before, changed: await view(owner) };
}

type View = Map<string, { title: string; steps: string; depends: string }>;

async function view(user: TestUser): Promise<View> {
  const out: View = new Map();
  for (const t of await allTasks(user))
    out.set(t.task_id, {
      title: t.title,
      steps: (t.micro_steps ?? [])
        .map((s) => s.description)
        .sort()
        .join(","),
      depends: [...t.depends_on].sort().join(","),
    });
  return out;
}

/** Runs the job one page a delivery, calling `during` after each delivery while it is moving. */
async function runPaged(
  user: TestUser,
  importId: string,
  sent: ImportMessage[],
  during: (deliveries: number) => Promise<void>,
) {
  const watch = batchesOf(env.DB);
  let pending: ImportMessage[] = sent;
  let moving = 0;
  for (let i = 0; i < 300 && pending.length > 0; i++) {
    const run = await runImportQueue(
      pending,
      1,
      { movePage: 5, maxMovePages: 1, ownPage: OWN_PAGE },
      { DB: watch.db },
    );
    expect(run.result.retryMessages).toHaveLength(0);
    pending = run.sent as ImportMessage[];
    const job = await getImport(user, importId);
    if (job.status === "running") {
      // Nothing final-looking while it runs (L6).
      expect(job.result).toBeNull();
      if (job.progress.phase === "moving") {
        moving += 1;
        await during(moving);
      }
    }
  }
  return watch.batches;
}

/** Every batch's rows changed stays within its page: the commit point does not grow with the backup (H1). */
function expectBounded(batches: { texts: string[]; changes: number }[]) {
  const commitPoint = batches.filter((b) => isCommitPoint(b.texts));
  expect(commitPoint).toHaveLength(1);
  // The import row, and nothing of the account's own tasks (before: every task, step and dependency).
  expect(commitPoint[0]?.changes ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(3);
  const own = batches.filter((b) => isOwnPage(b.texts));
  expect(own).toHaveLength(N / OWN_PAGE);
  // A page: its tasks, their steps and dependencies (the account's and the file's), their copies, the
  // import row twice.
  const most = Math.max(...own.map((b) => b.changes));
  expect(most).toBeLessThanOrEqual(OWN_PAGE * (2 + 2 * (STEPS + 1) + 2) + 2);
  expect(most).toBeGreaterThan(OWN_PAGE);
}

describe("your own backup by its link: the own pages after the move (review4)", () => {
  it("replace: bounded pages; each task shows the account's version until its page, the file's from it; the result counts it", async () => {
    const { owner, link, ids, before, changed } = await changedSinceBackup();
    const previewed = await previewRestore(owner, JSON.stringify({ download_url: link }));
    expect(previewed.preview.counts.duplicates).toBe(N);
    const { sent } = await commit(owner, previewed.import_id, "replace");
    const live = ids.filter((_, i) => i !== 2 && i !== 3);
    let switched = 0;
    const batches = await runPaged(owner, previewed.import_id, sent, async (delivery) => {
      const now = await view(owner);
      // M2: the account's live tasks the file holds never disappear while the job moves.
      for (const id of live) {
        const shown = now.get(id);
        expect(shown).toBeDefined();
        const fileVersion = before.get(id);
        // Either the account's version or the file's, the task with all its steps at once.
        if (shown?.title === fileVersion?.title) {
          expect(shown).toEqual(fileVersion);
          switched += 1;
        } else expect(shown).toEqual(changed.get(id));
      }
      // The tasks deleted since come back only with the restored ones, in the last batch.
      expect(now.has(ids[2] ?? "")).toBe(false);
      if (delivery === 1) await createTask(owner, { title: "F made during the move" });
    });
    expect(switched).toBeGreaterThan(0);
    expectBounded(batches);
    const done = await getImport(owner, previewed.import_id);
    expect(done.status).toBe("completed");
    // L1: the task made during the move is deleted and counted; L2: what the backup changed.
    expect(done.result).toEqual({
      created: 0,
      skipped_duplicates: 0,
      restored: N,
      replaced: 2,
      steps: N * STEPS,
      notes: [],
    });
    const after = await view(owner);
    expect(after).toEqual(before);
    expect(await stagedRows(owner.id, previewed.import_id)).toBe(0);
  }, 120_000);

  it("merge: bounded pages; a live task's brought-back steps appear all at once; the deleted tasks come back at the end", async () => {
    const { owner, link, ids, before, changed } = await changedSinceBackup();
    const previewed = await previewRestore(owner, JSON.stringify({ download_url: link }));
    const { sent } = await commit(owner, previewed.import_id, "merge");
    const merged = (id: string) => {
      const mine = changed.get(id);
      const file = before.get(id);
      const steps = new Set([...(mine?.steps.split(",") ?? []), ...(file?.steps.split(",") ?? [])]);
      return {
        title: mine?.title,
        steps: [...steps].sort().join(","),
        depends: [...new Set([...(mine?.depends.split(",") ?? []), ...(file?.depends.split(",") ?? [])])]
          .filter(Boolean)
          .sort()
          .join(","),
      };
    };
    const batches = await runPaged(owner, previewed.import_id, sent, async () => {
      const now = await view(owner);
      for (const [i, id] of ids.entries()) {
        if (i === 2 || i === 3) {
          expect(now.has(id)).toBe(false);
          continue;
        }
        const shown = now.get(id);
        // M2: as the account had it, or with everything the file adds — never a part of it.
        expect([JSON.stringify(changed.get(id)), JSON.stringify(merged(id))]).toContain(
          JSON.stringify(shown),
        );
      }
    });
    expectBounded(batches);
    const done = await getImport(owner, previewed.import_id);
    expect(done.status).toBe("completed");
    // T2 and T3 came back; the first steps of T0, T4 and T8 came back; the others were left as they are.
    expect(done.result).toEqual({
      created: 0,
      skipped_duplicates: N - 2,
      restored: 2,
      replaced: 0,
      steps: 3,
      notes: [],
    });
    const after = await view(owner);
    for (const [i, id] of ids.entries())
      expect(after.get(id)).toEqual(i === 2 || i === 3 ? before.get(id) : merged(id));
    expect([...after.values()].some((t) => t.title === "D made after export")).toBe(true);
    expect(await stagedRows(owner.id, previewed.import_id)).toBe(0);
  }, 120_000);
});
