/**
 * The third review of restore (/work/notes/review3-restore.md), the findings about what a restore
 * accepts and says: the API's field rules (M3), the preview's size (M4), your own export (L2, H1) and
 * the staging owners the nightly jobs must never take for users (L1, L4).
 */
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_PREVIEW_BYTES } from "../src/features/imports/limits";
import { OWN_EXPORT_NOTE, VALIDATE_INLINE_BYTES } from "../src/features/imports/restore/preview";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createFeed, feedText } from "./helpers/calendar";
import { download, exportAccount } from "./helpers/export";
import { allTasks, commit, drainImports, getImport } from "./helpers/imports";
import {
  craftExport,
  type ExportDocument,
  firstRow,
  previewRestore,
  restoreFile,
  seedAccount,
  settleAll,
  tableOf,
  uploadRestore,
} from "./helpers/restore";
import { createTask } from "./helpers/tasks";

const HOUR = 3_600_000;

/** Every list a person reads, each checked against the OpenAPI document by callJson. */
async function readEveryList(user: TestUser): Promise<void> {
  for (const path of [
    "/api/v1/tasks?limit=100",
    "/api/v1/tasks/next",
    "/api/v1/templates",
    "/api/v1/notifications",
    "/api/v1/notifications/preferences",
    "/api/v1/webhooks",
    "/api/v1/delegation/agents",
    "/api/v1/focus/sessions",
    "/api/v1/social/shares",
    "/api/v1/gamification/me",
  ])
    await callJson(path, 200, { token: user.token });
  const feed = await createFeed(user);
  expect(await feedText(feed.url)).toMatch(/BEGIN:VCALENDAR/);
}

const taskRow = (doc: ExportDocument, extra: Record<string, unknown>) => ({
  ...firstRow(doc, "tasks"),
  id: crypto.randomUUID(),
  ...extra,
});

describe("a restore takes what the API takes (review3 M3)", () => {
  let file: string;

  beforeAll(async () => {
    const source = await createUser();
    await seedAccount(source, { pet: false });
    await createTask(source, { title: "Due soon", due_at: new Date(Date.now() + 5 * HOUR).toISOString() });
    await settleAll(source);
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 120_000);

  it("restores a genuine export, and every list answers under the contract afterwards", async () => {
    const user = await createUser();
    const { done } = await restoreFile(user, file);
    expect(done.status).toBe("completed");
    await readEveryList(user);
  });

  const bad: [string, (doc: ExportDocument) => void, RegExp][] = [
    [
      "a due_at that is no time",
      (doc) => tableOf(doc, "tasks").push(taskRow(doc, { due_at: "not a date at all" })),
      /Row \d+ of table "tasks" is not valid: due_at is not an ISO-8601 time/,
    ],
    [
      "a due_at with garbage after the minutes",
      (doc) =>
        tableOf(doc, "tasks").push(
          taskRow(doc, { due_at: `${new Date(Date.now() + HOUR).toISOString().slice(0, 16)}garbage` }),
        ),
      /"tasks" is not valid: due_at is not an ISO-8601 time/,
    ],
    [
      "tags that are a JSON object",
      (doc) => tableOf(doc, "tasks").push(taskRow(doc, { tags: '{"not":"an array"}' })),
      /"tasks" is not valid: tags is not what the API accepts/,
    ],
    [
      "a title of 100,000 characters",
      (doc) => tableOf(doc, "tasks").push(taskRow(doc, { title: "T".repeat(100_000) })),
      /"tasks" is not valid: title is not what the API accepts/,
    ],
    [
      "a step's description past 500 characters",
      (doc) => {
        const step = firstRow(doc, "micro_steps");
        step.description = "s".repeat(501);
      },
      /Row 1 of table "micro_steps" is not valid: description is not what the API accepts/,
    ],
    [
      "an agent's capabilities that are an object",
      (doc) => {
        firstRow(doc, "agents").capabilities = '{"code":true}';
      },
      /Row 1 of table "agents" is not valid: capabilities is not what the API accepts/,
    ],
    [
      "a webhook's event_types that are not a list",
      (doc) => {
        firstRow(doc, "webhooks").event_types = '"task.completed"';
      },
      /"webhooks" is not valid: event_types is not what the API accepts/,
    ],
    [
      "an activity day that is no date",
      (doc) => {
        firstRow(doc, "activity_days").day = "yesterday";
      },
      /"activity_days" is not valid: day is not a date/,
    ],
  ];

  for (const [name, change, detail] of bad) {
    it(`refuses ${name} at the preview, naming the table, row and field`, async () => {
      const user = await createUser();
      const res = await uploadRestore(user, craftExport(file, change));
      expect(res.status).toBe(422);
      expect((await problemOf(res)).detail).toMatch(detail);
    });
  }

  it("fails the job of a big file found with such a row, writing nothing", async () => {
    const user = await createUser();
    const previewed = await previewRestore(user, file);
    // As for a file too big to check in the upload's request: the job checks it as it writes.
    await env.DB.prepare("UPDATE imports SET mapping = json_set(mapping, '$.validated', '0') WHERE id = ?")
      .bind(previewed.import_id)
      .run();
    const crafted = craftExport(file, (doc) => {
      tableOf(doc, "tasks").push(taskRow(doc, { due_at: "not a date at all" }));
    });
    const [key] = (await env.FILES.list({ prefix: `imports/${user.id}/${previewed.import_id}/` })).objects;
    await env.FILES.put(key?.key ?? "", crafted);
    const { sent } = await commit(user, previewed.import_id, "merge");
    await drainImports(sent);
    const job = await getImport(user, previewed.import_id);
    expect(job.status).toBe("failed");
    expect(job.error).toMatch(/"tasks" is not valid: due_at is not an ISO-8601 time/);
    const tasks = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(tasks?.n).toBe(0);
  });
});

describe("the restore preview fits D1 (review3 M4)", () => {
  let file: string;
  beforeAll(async () => {
    const source = await createUser();
    await createTask(source, { title: "base" });
    await settleAll(source);
    const done = await exportAccount(source, "json");
    file = await (await download(done.download_url ?? "")).text();
  }, 60_000);

  it("refuses a big file whose first tasks carry descriptions of megabytes: the preview never holds them", async () => {
    // Too big to check whole in the request: previewed from its head, whose rows are checked all the same.
    const crafted = craftExport(file, (doc) => {
      for (let i = 0; i < 10; i++)
        tableOf(doc, "tasks").push(taskRow(doc, { title: `big ${i}`, description: "x".repeat(1_800_000) }));
    });
    expect(crafted.length).toBeGreaterThan(VALIDATE_INLINE_BYTES);
    const user = await createUser();
    const res = await uploadRestore(user, crafted);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toMatch(/Row 2 of table "tasks" is not valid: description/);
  });

  it("stores the preview of the largest first tasks the API allows within MAX_PREVIEW_BYTES", async () => {
    const crafted = craftExport(file, (doc) => {
      for (let i = 0; i < 10; i++)
        tableOf(doc, "tasks").push(
          taskRow(doc, { title: `${i}`.padEnd(300, "t"), description: "é".repeat(10_000) }),
        );
    });
    const user = await createUser();
    const previewed = await previewRestore(user, crafted);
    expect(previewed.preview.first_items).toHaveLength(10);
    expect(previewed.preview.truncated).toBe(false);
    const stored = await env.DB.prepare("SELECT length(CAST(preview AS BLOB)) AS n FROM imports WHERE id = ?")
      .bind(previewed.import_id)
      .first<{ n: number }>();
    expect(stored?.n ?? Number.POSITIVE_INFINITY).toBeLessThanOrEqual(MAX_PREVIEW_BYTES);
  });
});

describe("your own export uploaded into your own account (review3 L2)", () => {
  it("says so in the preview; by its link, or in another account, it says nothing", async () => {
    const owner = await createUser();
    await createTask(owner, { title: "Mine" });
    await settleAll(owner);
    const done = await exportAccount(owner, "json");
    const file = await (await download(done.download_url ?? "")).text();
    const uploaded = await previewRestore(owner, file);
    expect(uploaded.preview.problems).toContainEqual({
      field: "account.id",
      message: OWN_EXPORT_NOTE,
      skipped: false,
    });
    expect(uploaded.preview.counts.problems).toBe(1);
    const byLink = await previewRestore(owner, JSON.stringify({ download_url: done.download_url }));
    expect(byLink.preview.problems).toEqual([]);
    expect(byLink.preview.counts.duplicates).toBe(1);
    const other = await createUser();
    expect((await previewRestore(other, file)).preview.problems).toEqual([]);
  });
});

/** An account with A (two steps), B (depends on A) and C, exported; then changed: the backup is to undo it. */
async function changedSinceBackup() {
  const owner = await createUser();
  const a = await createTask(owner, {
    title: "A original",
    micro_steps: [{ description: "A step 1" }, { description: "A step 2" }],
  });
  const b = await createTask(owner, { title: "B depends on A", depends_on: [a.task_id] });
  const c = await createTask(owner, { title: "C will be deleted", micro_steps: [{ description: "C step" }] });
  await settleAll(owner);
  const done = await exportAccount(owner, "json");
  await callJson(`/api/v1/tasks/${a.task_id}`, 200, {
    method: "PATCH",
    token: owner.token,
    body: { title: "A renamed after export" },
  });
  const step2 = a.micro_steps?.[1]?.step_id ?? "";
  expect(
    (await call(`/api/v1/tasks/${a.task_id}/steps/${step2}`, { method: "DELETE", token: owner.token }))
      .status,
  ).toBe(204);
  await callJson(`/api/v1/tasks/${a.task_id}/steps`, 201, {
    token: owner.token,
    body: { description: "A step added after export" },
  });
  await callJson(`/api/v1/tasks/${b.task_id}`, 200, {
    method: "PATCH",
    token: owner.token,
    body: { depends_on: [] },
  });
  expect((await call(`/api/v1/tasks/${c.task_id}`, { method: "DELETE", token: owner.token })).status).toBe(
    204,
  );
  await createTask(owner, { title: "D made after export" });
  await settleAll(owner);
  return { owner, link: done.download_url ?? "", ids: { a: a.task_id, b: b.task_id, c: c.task_id } };
}

const tasksView = async (user: TestUser) =>
  (await allTasks(user))
    .map((t) => ({
      id: t.task_id,
      title: t.title,
      // A step brought back keeps its position in the file, which a step added since may share.
      steps: (t.micro_steps ?? []).map((s) => s.description).sort(),
      depends_on: t.depends_on,
    }))
    .sort((x, y) => x.title.localeCompare(y.title));

describe("restoring your own backup by its link (review3 H1, L3)", () => {
  it("merge: brings back the task deleted since and the steps and dependency missing; keeps the live edits", async () => {
    const { owner, link, ids } = await changedSinceBackup();
    const previewed = await previewRestore(owner, JSON.stringify({ download_url: link }));
    expect(previewed.preview.counts.duplicates).toBe(3);
    expect(previewed.preview.duplicates.map((d) => [d.matches_task_id, d.deleted_since]).sort()).toEqual(
      [
        [ids.a, false],
        [ids.b, false],
        [ids.c, true],
      ].sort(),
    );
    const { sent } = await commit(owner, previewed.import_id, "merge");
    await drainImports(sent);
    await settleAll(owner);
    const done = await getImport(owner, previewed.import_id);
    expect(done.status).toBe("completed");
    // One step came back (A's second); C's step stayed with C while it was deleted. C came back
    // (`restored`), A and B were left as they are (review4 L2: C is no longer a skipped duplicate).
    expect(done.result).toEqual({
      created: 0,
      skipped_duplicates: 2,
      restored: 1,
      replaced: 0,
      steps: 1,
      notes: [],
    });
    expect(await tasksView(owner)).toEqual([
      {
        id: ids.a,
        title: "A renamed after export",
        steps: ["A step 1", "A step 2", "A step added after export"].sort(),
        depends_on: [],
      },
      { id: ids.b, title: "B depends on A", steps: [], depends_on: [ids.a] },
      { id: ids.c, title: "C will be deleted", steps: ["C step"], depends_on: [] },
      expect.objectContaining({ title: "D made after export" }),
    ]);
  });

  it("replace: the file is the truth for the ids it holds, and only the task made since is deleted", async () => {
    const { owner, link, ids } = await changedSinceBackup();
    const previewed = await previewRestore(owner, JSON.stringify({ download_url: link }));
    const { sent } = await commit(owner, previewed.import_id, "replace");
    await drainImports(sent);
    await settleAll(owner);
    const done = await getImport(owner, previewed.import_id);
    expect(done.status).toBe("completed");
    // Every task the file holds took the file's version, with its 3 steps (review4 L2).
    expect(previewed.preview.counts.duplicates).toBe(3);
    expect(done.result).toEqual({
      created: 0,
      skipped_duplicates: 0,
      restored: 3,
      replaced: 1,
      steps: 3,
      notes: [],
    });
    expect(await tasksView(owner)).toEqual([
      { id: ids.a, title: "A original", steps: ["A step 1", "A step 2"], depends_on: [] },
      { id: ids.b, title: "B depends on A", steps: [], depends_on: [ids.a] },
      { id: ids.c, title: "C will be deleted", steps: ["C step"], depends_on: [] },
    ]);
  });
});
