/**
 * The commit's chunks through the imports queue: a big file in several deliveries with its progress
 * moving, a chunk that fails (retried, then failed for good: the account as it was, and a new commit
 * resumes), deliveries that overlap, and what housekeeping and discarding do with a failed job.
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sourceOf } from "../src/jobs/dead-letters";
import { IMPORTS_MAX_RETRIES } from "../src/jobs/imports-consumer";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import {
  allTasks,
  commit,
  drainImports,
  filesOf,
  getImport,
  type ImportMessage,
  preview,
  rowsOf,
  runImportQueue,
  sweepImports,
} from "./helpers/imports";
import { createTask } from "./helpers/tasks";

const MAPPING = { id: "id", title: "title", parent: "parent", depends_on: "after", steps: "steps" };

/**
 * A CSV of `n` rows in projects of ten: each project's row comes after its nine tasks (a reference
 * forward, to a later chunk), every task waits on the one before it, and every third has two steps.
 */
function projectsCsv(n: number): string {
  const lines = ["id,title,parent,after,steps"];
  for (let i = 0; i < n; i++) {
    const project = Math.floor(i / 10) * 10 + 9;
    const isProject = i % 10 === 9;
    const parent = isProject ? "" : `r${project}`;
    const after = i % 10 === 0 || isProject ? "" : `r${i - 1}`;
    const steps = i % 3 === 0 ? '"[x] first\nsecond"' : "";
    lines.push(`r${i},${isProject ? `Project ${i}` : `Task ${i}`},${parent},${after},${steps}`);
  }
  return `${lines.join("\n")}\n`;
}

async function committed(user: TestUser, rows: number, mode: "merge" | "replace" = "merge") {
  const previewed = await preview(user, "csv", projectsCsv(rows), MAPPING);
  const { sent } = await commit(user, previewed.import_id, mode);
  const [message] = sent;
  if (!message) throw new Error("the commit queued nothing");
  return { importId: previewed.import_id, message };
}

const failAt = (from: number) => ({
  chunkItems: 10,
  beforeChunk: ({ from: at }: { from: number }) => {
    if (at === from) throw new Error("D1_ERROR: injected failure of this chunk");
  },
});

describe("a big file", () => {
  it("goes in several deliveries, its progress moving, and ends with every link resolved", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 1200);
    const seen: number[] = [];
    let pending: ImportMessage[] = [message];
    for (let delivery = 0; delivery < 20 && pending.length > 0; delivery++) {
      const { sent, result } = await runImportQueue(pending, 1, { chunkItems: 100, maxChunks: 2 });
      expect(result.explicitAcks).toHaveLength(1);
      const job = await getImport(user, importId);
      seen.push(job.progress.items_done);
      if (job.status !== "completed") {
        expect(job.status).toBe("running");
        // Nothing shows until the last chunk is in.
        expect(await allTasks(user)).toEqual([]);
      }
      pending = sent;
    }
    expect(seen).toEqual([200, 400, 600, 800, 1000, 1200, 1200]);
    const done = await getImport(user, importId);
    expect(done).toMatchObject({
      status: "completed",
      progress: { items_done: 1200, items_total: 1200, percent: 100 },
      result: { created: 1200, skipped_duplicates: 0, replaced: 0, steps: 800 },
    });
    const tasks = await allTasks(user);
    expect(tasks).toHaveLength(1200);
    const byTitle = new Map(tasks.map((t) => [t.title, t]));
    // Task 0's project is row 9 of the same chunk; task 1190's is row 1199, in the last one.
    expect(byTitle.get("Task 0")?.parent_task_id).toBe(byTitle.get("Project 9")?.task_id);
    expect(byTitle.get("Task 1190")?.parent_task_id).toBe(byTitle.get("Project 1199")?.task_id);
    // Task 100 (first of the second chunk) waits on nothing; Task 101 on Task 100, across no boundary;
    // Task 200 starts chunk three and Task 199 is a project: the chain restarts.
    expect(byTitle.get("Task 101")?.depends_on).toEqual([byTitle.get("Task 100")?.task_id]);
    expect(byTitle.get("Task 100")?.depends_on).toEqual([]);
    expect(byTitle.get("Task 3")?.micro_steps?.map((s) => [s.description, s.status])).toEqual([
      ["first", "completed"],
      ["second", "pending"],
    ]);
    expect(await rowsOf("tasks", user.id)).toBe(1200);
  });
});

describe("a chunk that fails", () => {
  it("is retried from where the last batch stopped, and nothing is written twice", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 50);
    const failed = await runImportQueue([message], 1, failAt(30));
    expect(failed.result.retryMessages).toHaveLength(1);
    const stopped = await getImport(user, importId);
    expect(stopped).toMatchObject({ status: "running", progress: { items_done: 30, items_total: 50 } });
    // Three chunks are written, hidden: the account shows none of them.
    expect(await rowsOf("tasks", user.id)).toBe(30);
    expect(await allTasks(user)).toEqual([]);
    await drainImports([message], { chunkItems: 10 });
    expect((await getImport(user, importId)).result).toMatchObject({ created: 50 });
    expect(await allTasks(user)).toHaveLength(50);
    expect(await rowsOf("tasks", user.id)).toBe(50);
    expect(await rowsOf("import_items", user.id)).toBe(50);
  });

  it("fails for good on its last attempt: the account as it was, a sentence, and a new commit resumes", async () => {
    const user = await createUser();
    const mine = await Promise.all(["Keep me", "Me too"].map((title) => createTask(user, { title })));
    const { importId, message } = await committed(user, 50, "replace");
    await runImportQueue([message], 1, failAt(20));
    const last = await runImportQueue([message], IMPORTS_MAX_RETRIES + 1, failAt(20));
    // Retried once more, into the dead-letter queue, where it is recorded as the import's.
    expect(last.result.retryMessages).toHaveLength(1);
    expect(sourceOf(message)).toBe("imports");
    const failed = await getImport(user, importId);
    expect(failed).toMatchObject({ status: "failed", mode: "replace", progress: { items_done: 20 } });
    expect(failed.error).toBe(
      `Writing the import kept failing (${IMPORTS_MAX_RETRIES + 1} attempts), so it stopped. Nothing of it shows ` +
        "yet and your account is as it was (a restore puts back the pet and focus settings only after everything " +
        "else is in); commit it again to resume where it stopped, or discard it.",
    );
    expect(failed.expires_at).not.toBeNull();
    // Replace deletes only at the very end: the person's tasks are all there, and only they.
    expect((await allTasks(user)).map((t) => t.task_id).sort()).toEqual(mine.map((t) => t.task_id).sort());

    // Committed again (as replace: the job's mode), it picks up at item 20.
    const again = await commit(user, importId, "replace");
    expect(again.job).toMatchObject({ status: "queued", error: null, expires_at: null });
    const resumed: number[] = [];
    await drainImports(again.sent, {
      chunkItems: 10,
      beforeChunk: ({ from }) => {
        resumed.push(from);
      },
    });
    expect(resumed).toEqual([20, 30, 40]);
    const done = await getImport(user, importId);
    expect(done.result).toEqual({ created: 50, skipped_duplicates: 0, replaced: 2, steps: 34 });
    const tasks = await allTasks(user);
    expect(tasks).toHaveLength(50);
    expect(tasks.map((t) => t.title)).not.toContain("Keep me");
  });

  it("fails at once when its file is gone", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 20);
    const [key] = await filesOf(user.id);
    await env.FILES.delete(key ?? "");
    const run = await runImportQueue([message]);
    expect(run.result.explicitAcks).toHaveLength(1);
    expect(await getImport(user, importId)).toMatchObject({
      status: "failed",
      error: "The uploaded file is no longer stored; upload it again.",
    });
  });
});

describe("deliveries", () => {
  it("of the same message at once write every task once", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 60);
    const runs = await Promise.all([1, 2, 3].map(() => runImportQueue([message], 1, { chunkItems: 10 })));
    const forwarded = runs.flatMap((r) => r.sent);
    await drainImports(forwarded, { chunkItems: 10 });
    const job = await getImport(user, importId);
    expect(job.status).toBe("completed");
    expect(job.result).toMatchObject({ created: 60 });
    expect(await rowsOf("tasks", user.id)).toBe(60);
    expect(await allTasks(user)).toHaveLength(60);
  });

  it("of a job that is done, discarded or malformed change nothing and are acknowledged", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 5);
    await drainImports([message]);
    const again = await runImportQueue([message, { type: "import.run" } as unknown as ImportMessage]);
    expect(again.result.explicitAcks).toHaveLength(2);
    expect((await getImport(user, importId)).status).toBe("completed");
    expect(await rowsOf("tasks", user.id)).toBe(5);
  });
});

describe("a failed job", () => {
  it("is discarded on request with everything it staged", async () => {
    const user = await createUser();
    const { importId, message } = await committed(user, 40);
    await runImportQueue([message], IMPORTS_MAX_RETRIES + 1, failAt(30));
    expect(await rowsOf("tasks", user.id)).toBe(30);
    expect(await rowsOf("micro_steps", user.id)).toBeGreaterThan(0);
    await callJson(`/api/v1/import/${importId}`, 204, { method: "DELETE", token: user.token });
    for (const table of ["tasks", "micro_steps", "task_dependencies", "import_items", "imports"] as const)
      expect(await rowsOf(table, user.id), table).toBe(0);
    expect(await filesOf(user.id)).toEqual([]);
  });

  it("nobody resumes is discarded by housekeeping a day on; a queued one is not discarded", async () => {
    const user = await createUser();
    const failed = await committed(user, 40);
    await runImportQueue([failed.message], IMPORTS_MAX_RETRIES + 1, failAt(10));
    const running = await committed(user, 20);
    const refused = await call(`/api/v1/import/${running.importId}`, { method: "DELETE", token: user.token });
    expect(refused.status).toBe(409);
    const resent = await sweepImports(Date.now() + 25 * 3_600_000);
    expect((await call(`/api/v1/import/${failed.importId}`, { token: user.token })).status).toBe(404);
    expect((await getImport(user, running.importId)).status).toBe("queued");
    // Queued a day ago and never started: its message is sent again (imports-stale.test.ts).
    expect(resent).toEqual([running.message]);
    await drainImports([running.message]);
    expect(await rowsOf("tasks", user.id)).toBe(20);
    expect(await filesOf(user.id)).toEqual([]);
  });
});
