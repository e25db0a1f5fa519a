/**
 * Imports from other apps, end to end: upload → preview → commit → the queue's chunks → the tasks and
 * steps GET /api/v1/tasks answers. Every source on its sample file, merge and replace, and what is
 * refused (422, with nothing stored).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TaskDto } from "../src/features/tasks/schemas";
import generic from "./fixtures/imports/generic.csv?raw";
import semicolon from "./fixtures/imports/generic-semicolon.csv?raw";
import ticktick from "./fixtures/imports/ticktick.csv?raw";
import todoist from "./fixtures/imports/todoist.csv?raw";
import trello from "./fixtures/imports/trello.json?raw";
import { call, callJson, callWith, createUser, problemOf, refusingQueue, type TestUser } from "./helpers/api";
import { actingThroughApiToken } from "./helpers/auth";
import { freezeClock, realNow } from "./helpers/clock";
import { registerAgent } from "./helpers/delegation";
import {
  allTasks,
  commit,
  drainImports,
  filesOf,
  GENERIC_MAPPING,
  getImport,
  type Import,
  type ImportMessage,
  type ImportSummary,
  importFile,
  preview,
  rowsOf,
  sweepImports,
  upload,
} from "./helpers/imports";
import { eventsOf } from "./helpers/outbox";
import { createTask } from "./helpers/tasks";

const SEMICOLON_MAPPING = {
  title: "Titel",
  due: "Fällig",
  notes: "Notiz",
  done: "Erledigt",
  tags: "Tags",
  parent: "Oberaufgabe",
};

const byTitle = (tasks: TaskDto[], title: string) => {
  const task = tasks.find((t) => t.title === title);
  if (!task) throw new Error(`no task titled ${title}`);
  return task;
};

async function expectNothingStored(user: TestUser) {
  expect(await callJson<ImportSummary[]>("/api/v1/import", 200, { token: user.token })).toEqual([]);
  expect(await filesOf(user.id)).toEqual([]);
  expect(await rowsOf("imports", user.id)).toBe(0);
  expect(await rowsOf("tasks", user.id)).toBe(0);
}

describe("Todoist", () => {
  it("previews without writing a task, then imports every task with its sub-tasks, in file order", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const previewed = await preview(user, "todoist", todoist);
    expect(previewed).toMatchObject({ source: "todoist", status: "previewed", mode: null, result: null });
    expect(previewed.preview.counts).toMatchObject({ tasks: 28, skipped: 4, problems: 8, duplicates: 0 });
    expect(previewed.preview.first_items.map((i) => i.title).slice(0, 3)).toEqual([
      "Pay the electricity bill",
      "Deep-clean the kitchen",
      "Wipe the cupboards",
    ]);
    expect(previewed.preview.problems.filter((p) => p.skipped).map((p) => p.row)).toEqual([26, 28, 29, 34]);
    expect(previewed.expires_at).not.toBeNull();
    // A preview writes no task; it keeps the file and its items, in the part the commit reads, under
    // the user's prefix.
    expect(await allTasks(user)).toEqual([]);
    expect(await rowsOf("tasks", user.id)).toBe(0);
    expect(await filesOf(user.id)).toEqual([
      `imports/${user.id}/${previewed.import_id}/items/00000.ndjson`,
      `imports/${user.id}/${previewed.import_id}/upload.csv`,
    ]);

    const { job, sent } = await commit(user, previewed.import_id, "merge");
    expect(job).toMatchObject({ import_id: previewed.import_id, status: "queued", mode: "merge" });
    expect(sent).toEqual([{ type: "import.run", import_id: previewed.import_id, user_id: user.id }]);
    await drainImports(sent);

    const done = await getImport(user, previewed.import_id);
    expect(done).toMatchObject({
      status: "completed",
      progress: { items_done: 28, items_total: 28, percent: 100 },
      result: { created: 28, skipped_duplicates: 0, replaced: 0, steps: 0 },
      error: null,
      expires_at: null,
    });
    const tasks = await allTasks(user);
    expect(tasks).toHaveLength(28);
    // Newest first lists the file's first task first.
    expect(tasks.slice(0, 2).map((t) => t.title)).toEqual([
      "Pay the electricity bill",
      "Deep-clean the kitchen",
    ]);
    const first = previewed.preview.first_items[0];
    expect(tasks[0]).toMatchObject({
      title: first?.title,
      description: first?.description,
      priority: "critical",
      due_at: first?.due_at,
      estimated_minutes: 15,
      tags: ["home", "bills"],
      task_source: "import",
      status: "pending",
    });
    const kitchen = byTitle(tasks, "Deep-clean the kitchen");
    const kettle = byTitle(tasks, "Descale the kettle");
    expect(byTitle(tasks, "Wipe the cupboards").parent_task_id).toBe(kitchen.task_id);
    expect(kettle.parent_task_id).toBe(kitchen.task_id);
    expect(byTitle(tasks, "Buy vinegar, baking soda and lemons").parent_task_id).toBe(kettle.task_id);
    expect(byTitle(tasks, "Book the chimney sweep").description).toContain('He said "any Tuesday" works');
    // The upload is deleted once the tasks are in.
    expect(await filesOf(user.id)).toEqual([]);

    // One event for the file: no task.created per task (old work is not today's activity, and earns no XP).
    expect(await eventsOf(user.id, "task.created")).toEqual([]);
    const events = await eventsOf(user.id, "import.completed");
    expect(events.map((e) => e.data)).toEqual([
      {
        import_id: previewed.import_id,
        source: "todoist",
        mode: "merge",
        created: 28,
        skipped_duplicates: 0,
        replaced: 0,
        replaced_task_ids: [],
        replaced_task_ids_truncated: false,
        steps: 0,
      },
    ]);
  });
});

describe("TickTick", () => {
  it("imports checklists as steps, done and won't-do states, and sub-tasks listed before their parent", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const done = await importFile(user, "ticktick", ticktick);
    expect(done.result).toEqual({ created: 28, skipped_duplicates: 0, replaced: 0, steps: 15 });
    const tasks = await allTasks(user);
    expect(tasks).toHaveLength(28);
    const shop = byTitle(tasks, "Weekly shop");
    expect(shop.micro_steps?.map((s) => [s.position, s.description, s.status, s.estimated_minutes])).toEqual([
      [1, "Milk", "completed", 5],
      [2, "Eggs", "pending", 5],
      [3, "Rye bread", "pending", 5],
      [4, "Tomatoes, cherry", "pending", 5],
    ]);
    expect(shop.progress).toEqual({ completed_steps: 1, total_steps: 4, percent: 25 });
    const smoke = byTitle(tasks, "Run the smoke tests");
    expect(smoke).toMatchObject({
      status: "completed",
      parent_task_id: byTitle(tasks, "Ship the mobile release").task_id,
    });
    expect(smoke.completed_at).not.toBeNull();
    expect(byTitle(tasks, "Try the new yoga class").status).toBe("cancelled");
    expect(byTitle(tasks, "Fix the login crash on Android 12").parent_task_id).toBe(
      byTitle(tasks, "Triage crash reports").task_id,
    );
    expect(byTitle(tasks, "Start 『ノルウェイの森』").tags).toEqual(["reading", "books", "日本語"]);
  });

  it("skips on a second import what came in before, by TickTick's own id, even renamed since", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    await importFile(user, "ticktick", ticktick);
    const before = await allTasks(user);
    const renamed = byTitle(before, "Weekly shop");
    await callJson(`/api/v1/tasks/${renamed.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { title: "Weekly shop (big one)" },
    });
    const again = await preview(user, "ticktick", ticktick);
    expect(again.preview.counts.duplicates).toBe(28);
    expect(again.preview.duplicates.find((d) => d.title === "Weekly shop")?.matches_task_id).toBe(
      renamed.task_id,
    );
    const { sent } = await commit(user, again.import_id, "merge");
    await drainImports(sent);
    expect((await getImport(user, again.import_id)).result).toEqual({
      created: 0,
      skipped_duplicates: 28,
      replaced: 0,
      steps: 0,
    });
    expect(await allTasks(user)).toHaveLength(28);
  });
});

describe("Trello", () => {
  it("imports open cards with their checklists as steps, in order, and labels as tags", async () => {
    const user = await createUser();
    const done = await importFile(user, "trello", trello);
    expect(done.result).toEqual({ created: 27, skipped_duplicates: 0, replaced: 0, steps: 16 });
    const tasks = await allTasks(user);
    const landing = byTitle(tasks, "Redesign the landing page");
    expect(landing.tags).toEqual(["this-week", "design", "urgent"]);
    expect(landing.micro_steps?.map((s) => [s.description, s.status])).toEqual([
      ["Sketch three options", "completed"],
      ["Pick one with Sam", "pending"],
      ["Hand over to dev", "pending"],
      ["A/B test the headline", "pending"],
    ]);
    // A finished card leaves no step pending: they are skipped, as completing a task by hand does.
    expect(byTitle(tasks, "Fix typo on pricing page").status).toBe("completed");
    expect(tasks.map((t) => t.title)).not.toContain("Old: print flyers");
  });
});

describe("a CSV with a mapping", () => {
  it("keeps parents and dependencies by id, forward references included, and cuts a dependency loop", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const done = await importFile(user, "csv", generic, { mapping: GENERIC_MAPPING });
    expect(done.result).toEqual({ created: 19, skipped_duplicates: 0, replaced: 0, steps: 8 });
    const tasks = await allTasks(user);
    const move = byTitle(tasks, "Move house");
    const notice = byTitle(tasks, "Give notice to the landlord");
    const movers = byTitle(tasks, "Book the movers");
    expect(notice).toMatchObject({
      status: "completed",
      parent_task_id: move.task_id,
      estimated_minutes: 20,
    });
    expect(movers.depends_on).toEqual([notice.task_id]);
    expect(movers.micro_steps?.map((s) => s.status)).toEqual(["completed", "pending", "pending"]);
    expect(byTitle(tasks, "Clean the flat for the handover").depends_on).toEqual(
      [byTitle(tasks, "Pack the books").task_id, byTitle(tasks, "Sell the old sofa").task_id].sort(),
    );
    // T99 is no row of the file: that dependency is left out.
    expect(byTitle(tasks, "Sell the old sofa").depends_on).toEqual([]);
    // A parent further down the file.
    expect(byTitle(tasks, "Plan the route").parent_task_id).toBe(
      byTitle(tasks, "Drive to the new city").task_id,
    );
    // T19 and T20 wait on each other in the file: one edge of the loop is cut, the other kept.
    const register = byTitle(tasks, "Register at the Bürgeramt");
    const unpack = byTitle(tasks, "Unpack the kitchen");
    expect([...register.depends_on, ...unpack.depends_on]).toHaveLength(1);
  });

  it("reads a semicolon file, parents by title", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    await importFile(user, "csv", semicolon, { mapping: SEMICOLON_MAPPING });
    const tasks = await allTasks(user);
    expect(byTitle(tasks, "Kette ölen")).toMatchObject({
      status: "completed",
      parent_task_id: byTitle(tasks, "Fahrrad reparieren").task_id,
    });
  });
});

describe("merge", () => {
  it("skips what the account already has: importing the same file twice brings in nothing new", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    // One task the person already had, by hand: same title (other case), no due date, open.
    const own = await createTask(user, { title: "learn to JUGGLE" });
    const first = await importFile(user, "todoist", todoist);
    expect(first.result).toMatchObject({ created: 27, skipped_duplicates: 1 });
    const juggle = (await allTasks(user)).filter((t) => t.title.toLowerCase() === "learn to juggle");
    expect(juggle.map((t) => t.task_id)).toEqual([own.task_id]);
    // Its sub-tasks hang off the task the person had.
    expect(byTitle(await allTasks(user), "Three balls").parent_task_id).toBe(own.task_id);

    const again = await preview(user, "todoist", todoist);
    expect(again.preview.counts.duplicates).toBe(28);
    const second = await importFile(user, "todoist", todoist);
    expect(second.result).toEqual({ created: 0, skipped_duplicates: 28, replaced: 0, steps: 0 });
    expect(await allTasks(user)).toHaveLength(28);
  });

  it("does not take a completed task for an open item of the same name", async () => {
    const user = await createUser();
    const done = await createTask(user, { title: "Learn to juggle" });
    await callJson(`/api/v1/tasks/${done.task_id}/complete`, 200, { method: "POST", token: user.token });
    const previewed = await preview(user, "todoist", todoist);
    expect(previewed.preview.duplicates).toEqual([]);
  });
});

describe("replace", () => {
  it("deletes the earlier tasks only in the step that shows the new ones", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const old = await Promise.all(
      ["Old one", "Old two", "Old three"].map((title) => createTask(user, { title })),
    );
    const previewed = await preview(user, "csv", semicolon, SEMICOLON_MAPPING);
    const { sent } = await commit(user, previewed.import_id, "replace");
    // Chunk by chunk, until the last: the old tasks are all there and none of the new shows.
    const seen: string[][] = [];
    await drainImports(sent, {
      chunkItems: 2,
      beforeChunk: async () => {
        seen.push((await allTasks(user)).map((t) => t.title).sort());
      },
    });
    expect(seen).toHaveLength(4);
    for (const titles of seen) expect(titles).toEqual(["Old one", "Old three", "Old two"]);
    const done = await getImport(user, previewed.import_id);
    expect(done.result).toEqual({ created: 7, skipped_duplicates: 0, replaced: 3, steps: 0 });
    const tasks = await allTasks(user);
    expect(tasks.map((t) => t.title).sort()).toEqual(
      [
        "Belege sortieren",
        "Elster-Zugang erneuern",
        "Fahrrad reparieren",
        "Kette ölen",
        "Steuererklärung 2024",
        "Unbekannte Oberaufgabe",
        "Zahnarzt anrufen",
      ].sort(),
    );
    for (const task of old) {
      const res = await call(`/api/v1/tasks/${task.task_id}`, { token: user.token });
      expect(res.status).toBe(404);
    }
  });
});

describe("refused files: 422, with the reason, and nothing stored", () => {
  it("an unknown source", async () => {
    const user = await createUser();
    const res = await upload(user, "asana", todoist, { query: "source=asana" });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["source"]);
    await expectNothingStored(user);
  });

  it("an empty file", async () => {
    const user = await createUser();
    const res = await upload(user, "todoist", "");
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: "empty_file" });
    await expectNothingStored(user);
  });

  it("a file over 10 MiB (not the 413 of other routes)", async () => {
    const user = await createUser();
    const big = new Uint8Array(10 * 1024 * 1024 + 1).fill(0x61);
    const res = await upload(user, "todoist", big);
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: "file_too_large" });
    await expectNothingStored(user);
  });

  it("a CSV without the mapped columns, naming them; a CSV without a mapping; a mapping of unknown fields", async () => {
    const user = await createUser();
    const missing = await upload(user, "csv", generic, {
      mapping: { title: "Task name", due: "When", notes: "Memo" },
    });
    expect(missing.status).toBe(422);
    const problem = await problemOf(missing);
    expect(problem).toMatchObject({ code: "unreadable_file" });
    expect(problem.detail).toContain('The file has no column "Memo" (notes), "When" (due).');
    const none = await upload(user, "csv", generic);
    expect(none.status).toBe(422);
    expect((await problemOf(none)).errors?.map((e) => e.field)).toEqual(["mapping"]);
    const unknown = await upload(user, "csv", generic, { mapping: { title: "Task name", colour: "Colour" } });
    expect(unknown.status).toBe(422);
    const notJson = await upload(user, "csv", generic, { mapping: "{title:" });
    expect(notJson.status).toBe(422);
    await expectNothingStored(user);
  });

  it("a file that is not what the source says", async () => {
    const user = await createUser();
    const res = await upload(user, "trello", todoist);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toMatch(/not a whole JSON file/);
    const notTodoist = await upload(user, "todoist", generic);
    expect((await problemOf(notTodoist)).detail).toContain("not a Todoist CSV export");
    await expectNothingStored(user);
  });

  it("a file corrupted mid-way, with the line it breaks on", async () => {
    const user = await createUser();
    const bytes = new TextEncoder().encode(todoist);
    const lineStarts = [0, ...[...bytes.keys()].filter((i) => bytes[i] === 0x0a).map((i) => i + 1)];
    const corrupted = bytes.slice();
    const at = lineStarts[20] ?? 0;
    corrupted.set([0xff, 0xfe, 0xfd], at);
    const res = await upload(user, "todoist", corrupted);
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.detail).toContain("Line 21 holds bytes that are not UTF-8");
    expect(problem.errors).toEqual([{ field: "line 21", message: problem.detail }]);
    // A Trello board cut off half-way.
    const cut = await upload(user, "trello", trello.slice(0, trello.length / 2));
    expect(cut.status).toBe(422);
    expect((await problemOf(cut)).detail).toMatch(/^This is not a whole JSON file \(line \d+\)/);
    await expectNothingStored(user);
  });

  it("a file with nothing to import", async () => {
    const user = await createUser();
    const res = await upload(user, "todoist", "TYPE,CONTENT,PRIORITY\ntask,,4\n");
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toBe(
      "Nothing in the file can be imported. The first problem: A task without a name: skipped.",
    );
    await expectNothingStored(user);
  });
});

describe("any file", () => {
  it("is previewed (201) or refused (422) as problem+json, never a 5xx", async () => {
    const user = await createUser();
    const lines = fc
      .array(
        fc.constantFrom(
          "task,Buy milk,,1,2",
          "note,hi",
          '"open',
          "x,y,z",
          "",
          "ÿ",
          "@tag",
          "{}",
          "2025-13-01",
        ),
        {
          maxLength: 12,
        },
      )
      .map((parts) => parts.join("\n"));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("todoist", "ticktick", "trello", "csv"),
        fc.oneof(
          lines.map((t) => `TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT\n${t}`),
          fc.string(),
          fc.uint8Array({ maxLength: 64 }),
        ),
        async (source, file) => {
          const res = await upload(user, source, file, {
            mapping: source === "csv" ? { title: "TYPE" } : undefined,
          });
          expect([201, 422]).toContain(res.status);
          if (res.status === 422) expect((await problemOf(res)).detail.length).toBeGreaterThan(10);
          else await res.text();
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe("the import's own routes", () => {
  it("an Idempotency-Key answers a retried upload with the first preview, and stores one file", async () => {
    const user = await createUser();
    const headers = { "idempotency-key": "upload-1" };
    const first = await upload(user, "trello", trello, { headers });
    const again = await upload(user, "trello", trello, { headers });
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [(await first.json()) as Import, (await again.json()) as Import];
    expect(b.import_id).toBe(a.import_id);
    expect(await filesOf(user.id)).toEqual([
      `imports/${user.id}/${a.import_id}/items/00000.ndjson`,
      `imports/${user.id}/${a.import_id}/upload.json`,
    ]);
  });

  it("takes a file over the 1 MiB other routes allow", async () => {
    const user = await createUser();
    const notes = "n".repeat(1000);
    const rows = Array.from({ length: 2100 }, (_, i) => `Task ${i},${notes}`);
    const file = `Title,Notes\n${rows.join("\n")}\n`;
    expect(file.length).toBeGreaterThan(2 * 1024 * 1024);
    const previewed = await preview(user, "csv", file, { title: "Title", notes: "Notes" });
    expect(previewed.preview.counts.tasks).toBe(2100);
    expect(previewed.file_bytes).toBe(file.length);
  });

  it("committing twice answers the same job; another mode is 409", async () => {
    const user = await createUser();
    const previewed = await preview(user, "trello", trello);
    const first = await commit(user, previewed.import_id, "merge");
    const second = await commit(user, previewed.import_id, "merge");
    expect(second.job.import_id).toBe(first.job.import_id);
    // The job was queued once.
    expect(second.sent).toEqual([]);
    const other = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      token: user.token,
      body: { mode: "replace" },
    });
    expect(other.status).toBe(409);
    expect((await problemOf(other)).code).toBe("import_mode_conflict");
    const bad = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      token: user.token,
      body: { mode: "mix" },
    });
    expect(bad.status).toBe(422);
  });

  it("answers 503 when the queue refuses the job, and leaves the preview to commit again", async () => {
    const user = await createUser();
    const previewed = await preview(user, "trello", trello);
    const down = refusingQueue<ImportMessage>();
    const res = await callWith({ IMPORTS_QUEUE: down }, `/api/v1/import/${previewed.import_id}/commit`, {
      method: "POST",
      token: user.token,
      body: { mode: "merge" },
    });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect((await problemOf(res)).code).toBe("queue_unavailable");
    expect(await getImport(user, previewed.import_id)).toMatchObject({
      status: "previewed",
      mode: null,
      committed_at: null,
      expires_at: previewed.expires_at,
    });
    const { job } = await commit(user, previewed.import_id, "merge");
    expect(job.status).toBe("queued");
  });

  it("lists imports newest first, paged", async () => {
    const user = await createUser();
    const a = await preview(user, "trello", trello);
    const b = await preview(user, "csv", semicolon, SEMICOLON_MAPPING);
    const res = await call("/api/v1/import?limit=1", { token: user.token });
    expect(res.headers.get("link")).toContain("cursor=");
    expect(((await res.json()) as ImportSummary[]).map((i) => i.import_id)).toEqual([b.import_id]);
    const all = await callJson<ImportSummary[]>("/api/v1/import", 200, { token: user.token });
    expect(all.map((i) => [i.import_id, i.status])).toEqual([
      [b.import_id, "previewed"],
      [a.import_id, "previewed"],
    ]);
  });

  it("discards a preview with its file; a completed import is 409", async () => {
    const user = await createUser();
    const previewed = await preview(user, "trello", trello);
    await callJson(`/api/v1/import/${previewed.import_id}`, 204, { method: "DELETE", token: user.token });
    expect(await filesOf(user.id)).toEqual([]);
    expect((await call(`/api/v1/import/${previewed.import_id}`, { token: user.token })).status).toBe(404);
    const done = await importFile(user, "csv", semicolon, { mapping: SEMICOLON_MAPPING });
    const refused = await call(`/api/v1/import/${done.import_id}`, { method: "DELETE", token: user.token });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).code).toBe("import_completed");
  });

  it("another user sees, commits and discards none of it", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const previewed = await preview(alice, "trello", trello);
    const path = `/api/v1/import/${previewed.import_id}`;
    expect((await call(path, { token: bob.token })).status).toBe(404);
    expect((await call(`${path}/commit`, { token: bob.token, body: { mode: "merge" } })).status).toBe(404);
    expect((await call(path, { method: "DELETE", token: bob.token })).status).toBe(404);
    expect(await callJson<ImportSummary[]>("/api/v1/import", 200, { token: bob.token })).toEqual([]);
    expect((await getImport(alice, previewed.import_id)).status).toBe("previewed");
  });

  it("runs through the real queue as well", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", semicolon, SEMICOLON_MAPPING);
    const res = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      token: user.token,
      body: { mode: "merge" },
    });
    expect(res.status).toBe(202);
    let job = await getImport(user, previewed.import_id);
    for (let i = 0; i < 100 && job.status !== "completed" && job.status !== "failed"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      job = await getImport(user, previewed.import_id);
    }
    expect(job.status).toBe("completed");
    expect(await allTasks(user)).toHaveLength(7);
  });

  it("is not shown to an agent's own token", async () => {
    const user = await createUser();
    const previewed = await preview(user, "trello", trello);
    const agent = await registerAgent(user);
    const token = agent.token ?? "";
    expect(await callJson("/api/v1/import", 200, { token })).toEqual([]);
    expect((await call(`/api/v1/import/${previewed.import_id}`, { token })).status).toBe(404);
  });
});

describe("an expired preview", () => {
  it("is gone a day on (404, as one that never existed), before housekeeping deletes its row", async () => {
    const person = await createUser();
    // A token that outlives the day the clock moves on (a login's access token lasts 15 minutes).
    const user = await actingThroughApiToken(person, "importer", ["tasks:read", "tasks:write"]);
    const previewed = await preview(user, "trello", trello);
    freezeClock(realNow() + 25 * 3_600_000);
    expect((await call(`/api/v1/import/${previewed.import_id}`, { token: user.token })).status).toBe(404);
    const commitLate = await call(`/api/v1/import/${previewed.import_id}/commit`, {
      token: user.token,
      body: { mode: "merge" },
    });
    expect(commitLate.status).toBe(404);
    expect(await callJson("/api/v1/import", 200, { token: user.token })).toEqual([]);
    expect(await rowsOf("imports", user.id)).toBe(1);
  });
});

describe("housekeeping", () => {
  it("discards a preview nobody committed after a day, with its file", async () => {
    const user = await createUser();
    const previewed = await preview(user, "trello", trello);
    await sweepImports(Date.now() + 60_000);
    expect((await getImport(user, previewed.import_id)).status).toBe("previewed");
    await sweepImports(Date.now() + 25 * 3_600_000);
    expect((await call(`/api/v1/import/${previewed.import_id}`, { token: user.token })).status).toBe(404);
    expect(await filesOf(user.id)).toEqual([]);
    expect(await rowsOf("imports", user.id)).toBe(0);
  });
});
