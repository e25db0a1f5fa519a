/**
 * What a replace does beyond deleting the earlier tasks — their open delegation assignments are
 * cancelled and the agents' slots given back, calendar imports forget the tasks they made, and
 * `import.completed` names the deleted tasks — and what a mapped CSV id means (a row of this file only).
 */
import { describe, expect, it } from "vitest";
import { publishedData } from "../src/lib/events/catalog";
import { parseEvent } from "../src/lib/events/envelope";
import { createUser } from "./helpers/api";
import { icsFile, icsUtc, importIcs, vevent } from "./helpers/calendar";
import { agentsOf, assignmentsOf, delegate, registerAgent } from "./helpers/delegation";
import { allTasks, importFile } from "./helpers/imports";
import { eventsOf } from "./helpers/outbox";
import { createTask } from "./helpers/tasks";

const HOUR = 3_600_000;
const NEW_TASKS = "title\nFresh start\nSecond thing\n";

describe("replace", () => {
  it("cancels the old tasks' open assignments and gives the agents their slots back", async () => {
    const user = await createUser();
    const agent = await registerAgent(user, { max_concurrent_tasks: 2 });
    const [a, b, mine] = await Promise.all(
      ["Delegated one", "Delegated two", "Done by me"].map((title) => createTask(user, { title })),
    );
    for (const task of [a, b]) await delegate(user, { task_id: task?.task_id, delegation_mode: "DELEGATE" });
    await delegate(user, { task_id: mine?.task_id, delegation_mode: "DO" });
    expect((await agentsOf(user))[0]).toMatchObject({ current_task_count: 2, status: "busy" });

    const done = await importFile(user, "csv", NEW_TASKS, { mapping: { title: "title" }, mode: "replace" });
    expect(done.result).toMatchObject({ created: 2, replaced: 3 });
    expect((await agentsOf(user))[0]).toMatchObject({ current_task_count: 0, status: "idle" });
    const assignments = await assignmentsOf(user, agent.agent_id);
    expect(assignments.map((x) => [x.status, x.reason])).toEqual([
      ["cancelled", "The task was deleted: an import replaced the tasks."],
      ["cancelled", "The task was deleted: an import replaced the tasks."],
    ]);
  });

  it("names the deleted tasks in import.completed (no task.deleted per task)", async () => {
    const user = await createUser();
    const old = await Promise.all(["Old one", "Old two"].map((title) => createTask(user, { title })));
    const done = await importFile(user, "csv", NEW_TASKS, { mapping: { title: "title" }, mode: "replace" });
    const [event] = await eventsOf(user.id, "import.completed");
    expect(event?.data).toMatchObject({
      import_id: done.import_id,
      source: "csv",
      mode: "replace",
      replaced: 2,
      replaced_task_ids: old.map((t) => t.task_id).sort(),
      replaced_task_ids_truncated: false,
    });
    expect(await eventsOf(user.id, "task.deleted")).toEqual([]);
  });

  it("still reads an import.completed v1 recorded before it listed the replaced tasks", () => {
    const envelope = (data: Record<string, unknown>) => ({
      id: crypto.randomUUID(),
      type: "import.completed",
      version: 1,
      user_id: "u1",
      occurred_at: new Date().toISOString(),
      data: { import_id: "i1", source: "csv", skipped_duplicates: 0, steps: 0, created: 2, ...data },
    });
    const older = [
      envelope({ mode: "replace", replaced: 3 }),
      envelope({ mode: "merge", replaced: 0 }),
      envelope({ mode: "replace", replaced: 2, replaced_task_ids: ["a", "b"] }),
    ];
    const read = older.map((e) => {
      const parsed = parseEvent(e);
      if (!parsed.ok) throw new Error(parsed.refusal.detail);
      return parsed.event.data;
    });
    // Nothing listed: the list is short whenever tasks were replaced ("treat every task as deleted").
    expect(read).toMatchObject([
      { replaced: 3, replaced_task_ids: [], replaced_task_ids_truncated: true },
      { replaced: 0, replaced_task_ids: [], replaced_task_ids_truncated: false },
      { replaced: 2, replaced_task_ids: ["a", "b"], replaced_task_ids_truncated: false },
    ]);
    // Webhooks send what the catalog promises, the filled-in fields too.
    expect(publishedData("import.completed", 1, older[0]?.data)).toMatchObject({
      replaced_task_ids: [],
      replaced_task_ids_truncated: true,
    });
  });

  it("lets a calendar imported again bring its events back, instead of skipping them as deleted by hand", async () => {
    const user = await createUser();
    const start = Date.now() + 2 * 24 * HOUR;
    const ics = icsFile(
      vevent({
        UID: `standup-${crypto.randomUUID()}@example.com`,
        DTSTAMP: icsUtc(Date.now()),
        DTSTART: icsUtc(start),
        DTEND: icsUtc(start + HOUR),
        SUMMARY: "Standup",
      }),
    );
    expect(await importIcs(user, ics)).toMatchObject({ created: 1 });
    await importFile(user, "csv", NEW_TASKS, { mapping: { title: "title" }, mode: "replace" });
    expect((await allTasks(user)).map((t) => t.title).sort()).toEqual(["Fresh start", "Second thing"]);
    const again = await importIcs(user, ics);
    expect(again).toMatchObject({ created: 1, skipped: 0 });
    expect((await allTasks(user)).map((t) => t.title)).toContain("Standup");
  });
});

describe("a mapped CSV id", () => {
  it("names a row of its file only: another spreadsheet numbered 1, 2, 3 is not taken for the first", async () => {
    const user = await createUser();
    const mapping = { id: "id", title: "title" };
    const first = await importFile(user, "csv", "id,title\n1,Buy milk\n2,Call mom\n", { mapping });
    expect(first.result).toMatchObject({ created: 2, skipped_duplicates: 0 });
    const second = await importFile(user, "csv", "id,title\n1,Write the report\n2,Fix the bike\n", {
      mapping,
    });
    expect(second.result).toMatchObject({ created: 2, skipped_duplicates: 0 });
    expect(await allTasks(user)).toHaveLength(4);
    // The same file again is still caught, by title, due date and state.
    const again = await importFile(user, "csv", "id,title\n1,Buy milk\n2,Call mom\n", { mapping });
    expect(again.result).toMatchObject({ created: 0, skipped_duplicates: 2 });
  });
});
