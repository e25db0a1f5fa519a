/**
 * The importers as pure functions: each app's sample export (tests/fixtures/imports) read through its
 * source, with a fixed "now" and zone, so counts, first items and the rows problems point at are exact.
 * Plus the pieces they stand on: the CSV reader, text decoding, dates, cells, ids and loop cutting.
 */
import * as chrono from "chrono-node";
import fc from "fast-check";
import { describe, expect, it, vi } from "vitest";
import { dependencyEdgesToCut, parentLinksToCut } from "../src/features/imports/cycles";
import { refOf, stepIdOf, taskIdOf } from "../src/features/imports/ids";
import { scanFile } from "../src/features/imports/preview";
import { SOURCES } from "../src/features/imports/sources";
import { guessDelimiter, readCsv } from "../src/features/imports/sources/csv";
import {
  dueParser,
  endOfLocalDayDue,
  MAX_WORDED_DATES,
  parseDue,
  parseInstant,
  unreadDate,
} from "../src/features/imports/sources/dates";
import {
  doneOfCell,
  fitItem,
  minutesOfCell,
  priorityOfWord,
  tagOf,
  tagsOfCell,
} from "../src/features/imports/sources/fields";
import { decodeUtf8, slicesOf } from "../src/features/imports/sources/text";
import {
  type SourceContext,
  type SourceItem,
  type SourceProblem,
  SourceRefusal,
} from "../src/features/imports/sources/types";
import generic from "./fixtures/imports/generic.csv?raw";
import semicolon from "./fixtures/imports/generic-semicolon.csv?raw";
import ticktick from "./fixtures/imports/ticktick.csv?raw";
import todoist from "./fixtures/imports/todoist.csv?raw";
import trello from "./fixtures/imports/trello.json?raw";

/** A Monday noon in March 2025, as the preview of these files would see it. */
const NOW = Date.UTC(2025, 2, 10, 12);
const ZONE = "Europe/Berlin";
const GENERIC_MAPPING = {
  id: "Ref",
  title: "Task name",
  due: "Deadline",
  notes: "Notes",
  priority: "P",
  done: "Status",
  tags: "Labels",
  parent: "Parent",
  estimate: "Time",
  steps: "Checklist",
  depends_on: "Blocked by",
};
const SEMICOLON_MAPPING = {
  title: "Titel",
  due: "Fällig",
  notes: "Notiz",
  done: "Erledigt",
  tags: "Tags",
  parent: "Oberaufgabe",
};

const textOf = (text: string, slice = 61) => decodeUtf8(slicesOf(new TextEncoder().encode(text), slice));

async function read(source: keyof typeof SOURCES, text: string, context: Partial<SourceContext> = {}) {
  const items: SourceItem[] = [];
  const problems: SourceProblem[] = [];
  for await (const event of SOURCES[source].read(textOf(text), { zone: ZONE, now: NOW, ...context })) {
    if (event.kind === "item") items.push(event.item);
    else problems.push(event.problem);
  }
  return { items, problems };
}

const scan = (source: keyof typeof SOURCES, text: string, mapping?: Record<string, string>) =>
  scanFile(SOURCES[source], textOf(text), { zone: ZONE, now: NOW, mapping });

async function refusal(promise: Promise<unknown>): Promise<SourceRefusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SourceRefusal) return error;
    throw error;
  }
  throw new Error("expected the file to be refused");
}

/** An item with the fields a test does not name left at their blank values. */
const item = (fields: Partial<SourceItem> & Pick<SourceItem, "key" | "title" | "place">): SourceItem => ({
  externalId: null,
  description: null,
  status: "pending",
  priority: "medium",
  dueAt: null,
  tags: [],
  estimatedMinutes: null,
  parentKey: null,
  dependsOn: [],
  steps: [],
  createdAt: null,
  completedAt: null,
  ...fields,
});

describe("Todoist CSV", () => {
  it("counts what the sample export holds", async () => {
    const { preview } = await scan("todoist", todoist);
    expect(preview.counts).toEqual({
      tasks: 28,
      steps: 0,
      tags: 8,
      completed: 0,
      skipped: 4,
      duplicates: 0,
      problems: 8,
    });
  });

  it("reads tasks, labels, sections, sub-tasks, notes, priorities, dates and durations", async () => {
    const { items } = await read("todoist", todoist);
    expect(items.slice(0, 10)).toEqual([
      item({
        key: "row:5",
        place: { row: 5, line: 5 },
        title: "Pay the electricity bill",
        description: "Account number is on the last letter",
        priority: "critical",
        dueAt: "2025-03-14T22:59:00.000Z",
        tags: ["home", "bills"],
        estimatedMinutes: 15,
      }),
      item({
        key: "row:6",
        place: { row: 6, line: 6 },
        title: "Deep-clean the kitchen",
        priority: "medium",
        dueAt: "2025-03-15T09:00:00.000Z",
        tags: ["home"],
        estimatedMinutes: 90,
      }),
      item({
        key: "row:7",
        place: { row: 7, line: 7 },
        title: "Wipe the cupboards",
        priority: "medium",
        tags: ["home"],
        parentKey: "row:6",
      }),
      item({
        key: "row:8",
        place: { row: 8, line: 8 },
        title: "Descale the kettle",
        priority: "medium",
        tags: ["home"],
        parentKey: "row:6",
      }),
      item({
        key: "row:9",
        place: { row: 9, line: 9 },
        title: "Buy vinegar, baking soda and lemons",
        priority: "medium",
        tags: ["home"],
        parentKey: "row:8",
      }),
      item({
        key: "row:10",
        place: { row: 10, line: 10 },
        title: "Defrost the freezer",
        description: "Turn the dial to 0 first, then wait ~2h",
        tags: ["home"],
        parentKey: "row:6",
      }),
      item({
        key: "row:12",
        place: { row: 12, line: 12 },
        title: "Book the chimney sweep",
        description: 'Call before 10:00\n\nNúmero: 030 1234 5678\n\nHe said "any Tuesday" works',
        priority: "high",
        dueAt: "2025-04-01T07:30:00.000Z",
        tags: ["home"],
      }),
      // "every monday", said on a Monday: the next one.
      item({
        key: "row:15",
        place: { row: 15, line: 15 },
        title: "Water the plants 🌱",
        priority: "medium",
        dueAt: "2025-03-17T22:59:00.000Z",
        tags: ["home"],
        estimatedMinutes: 5,
      }),
      item({
        key: "row:16",
        place: { row: 16, line: 16 },
        title: "Fix the dripping tap",
        description: 'Washer size: 1/2"\nTools: wrench, tape',
        tags: ["home"],
      }),
      // After a description spanning two lines, rows and lines part ways.
      item({
        key: "row:19",
        place: { row: 19, line: 20 },
        title: "Prepare the Q2 review",
        description: "Slides + numbers",
        priority: "critical",
        dueAt: "2025-04-10T12:00:00.000Z",
        tags: ["work"],
        estimatedMinutes: 120,
      }),
    ]);
    const japanese = items.find((i) => i.key === "row:30");
    expect(japanese).toMatchObject({
      title: "日本語の資料を翻訳する",
      tags: ["work", "翻訳"],
      dueAt: "2025-03-20T14:59:00.000Z",
    });
    // A task in a zone of its own (TIMEZONE empty: the user's).
    expect(items.find((i) => i.key === "row:31")?.dueAt).toBe("2025-03-18T15:30:00.000Z");
    expect(items.filter((i) => i.parentKey === "row:40").map((i) => i.title)).toEqual([
      "By decade",
      "Scan the best ones",
      "Make an album",
    ]);
  });

  it("points its problems at the rows (and lines) they are on", async () => {
    const { problems } = await read("todoist", todoist);
    expect(problems).toEqual([
      {
        row: 15,
        line: 15,
        field: "DATE",
        message: '"every monday" repeats: only its next date is imported.',
        skipped: false,
      },
      {
        row: 25,
        line: 26,
        field: "DATE",
        message: 'The date "someday maybe" could not be read: imported without a due date.',
        skipped: false,
      },
      { row: 26, line: 27, message: 'TYPE "tsk" is not task, section or note: skipped.', skipped: true },
      {
        row: 27,
        line: 28,
        field: "PRIORITY",
        message: 'PRIORITY "7" is not 1–4: medium is used.',
        skipped: false,
      },
      {
        row: 27,
        line: 28,
        field: "DURATION_UNIT",
        message: "A duration in days is a span of days, not an estimate: not kept.",
        skipped: false,
      },
      {
        row: 28,
        line: 29,
        message: "Row 28 has 15 cells but the header has 14 (an unquoted comma?): skipped.",
        skipped: true,
      },
      { row: 29, line: 30, field: "title", message: "A task without a name: skipped.", skipped: true },
      { row: 34, line: 35, message: "A note with no task above it: skipped.", skipped: true },
    ]);
  });

  it("refuses a file that is not a Todoist export", async () => {
    const error = await refusal(read("todoist", "Title,Due\nBuy milk,tomorrow\n"));
    expect(error.message).toContain("TYPE and CONTENT");
    expect(error.place).toEqual({ row: 1, line: 1 });
  });
});

describe("TickTick backup CSV", () => {
  it("counts what the sample backup holds", async () => {
    const { preview } = await scan("ticktick", ticktick);
    expect(preview.counts).toEqual({
      tasks: 28,
      steps: 15,
      tags: 16,
      completed: 5,
      skipped: 4,
      duplicates: 0,
      problems: 8,
    });
  });

  it("reads checklists into steps, statuses, all-day dues, lists as tags and parent ids", async () => {
    const { items } = await read("ticktick", ticktick);
    const created = "2025-01-10T08:00:00.000Z";
    const id = (n: number) => `6500a00000000000000000${String(n).padStart(2, "0")}`;
    expect(items.slice(0, 10)).toEqual([
      // All day in Madrid on the 11th: due at 23:59 on that date where the user lives.
      item({
        key: `ticktick:${id(1)}`,
        externalId: id(1),
        place: { row: 5, line: 8 },
        title: "Buy stamps",
        priority: "low",
        dueAt: "2025-03-11T22:59:00.000Z",
        tags: ["errands"],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(2)}`,
        externalId: id(2),
        place: { row: 6, line: 9 },
        title: "Return the library books",
        dueAt: "2025-03-11T16:30:00.000Z",
        tags: ["errands", "library"],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(3)}`,
        externalId: id(3),
        place: { row: 7, line: 10 },
        title: "Weekly shop",
        dueAt: "2025-03-12T17:00:00.000Z",
        tags: ["groceries", "food"],
        steps: [
          { description: "Milk", done: true },
          { description: "Eggs", done: false },
          { description: "Rye bread", done: false },
          { description: "Tomatoes, cherry", done: false },
        ],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(4)}`,
        externalId: id(4),
        place: { row: 8, line: 14 },
        title: "Party snacks",
        description: "For Saturday",
        tags: ["groceries"],
        steps: [
          { description: "Crisps", done: false },
          { description: 'Dips "extra hot"', done: false },
          { description: "Lemonade", done: true },
        ],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(5)}`,
        externalId: id(5),
        place: { row: 9, line: 18 },
        title: "Ship the mobile release",
        description: "Release notes in the wiki.\nCoordinate with QA.",
        priority: "high",
        dueAt: "2025-03-20T09:00:00.000Z",
        tags: ["projects", "release", "mobile"],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(6)}`,
        externalId: id(6),
        place: { row: 10, line: 20 },
        title: "Write release notes",
        tags: ["projects", "release"],
        parentKey: `ticktick:${id(5)}`,
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(7)}`,
        externalId: id(7),
        place: { row: 11, line: 21 },
        title: "Run the smoke tests",
        status: "completed",
        priority: "high",
        tags: ["projects"],
        parentKey: `ticktick:${id(5)}`,
        createdAt: created,
        completedAt: "2025-03-09T15:45:00.000Z",
      }),
      // A sub-task listed before its parent.
      item({
        key: `ticktick:${id(9)}`,
        externalId: id(9),
        place: { row: 12, line: 22 },
        title: "Fix the login crash on Android 12",
        priority: "high",
        tags: ["projects"],
        parentKey: `ticktick:${id(8)}`,
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(8)}`,
        externalId: id(8),
        place: { row: 13, line: 23 },
        title: "Triage crash reports",
        tags: ["projects"],
        createdAt: created,
      }),
      item({
        key: `ticktick:${id(10)}`,
        externalId: id(10),
        place: { row: 14, line: 24 },
        title: "1:1 with Priya",
        dueAt: "2025-03-13T10:00:00.000Z",
        tags: ["meetings"],
        createdAt: created,
      }),
    ]);
    expect(items.find((i) => i.externalId === id(16))?.status).toBe("cancelled");
    expect(items.find((i) => i.title === "Think about a garden")?.key).toBe("row:34");
  });

  it("points its problems at the rows they are on", async () => {
    const { problems } = await read("ticktick", ticktick);
    expect(problems.map((p) => [p.row, p.line, p.field ?? null, p.skipped])).toEqual([
      [14, 24, "Repeat", false],
      [15, 25, null, true],
      [19, 29, "Repeat", false],
      [21, 31, "title", true],
      [22, 32, "Priority", false],
      [23, 33, "taskId", true],
      [26, 36, "Due Date", false],
      [36, 52, null, true],
    ]);
    expect(problems[1]?.message).toBe("A note, not a task: skipped.");
    expect(problems[5]?.message).toBe("taskId 6500a0000000000000000018 appears twice: this row is skipped.");
    expect(problems[7]?.message).toBe(
      "Row 36 has 26 cells but the header has 24 (an unquoted comma?): skipped.",
    );
  });

  it("refuses a CSV without TickTick's header", async () => {
    const lines = Array.from({ length: 25 }, (_, i) => `"line ${i}"`).join("\n");
    const error = await refusal(read("ticktick", lines));
    expect(error.message).toContain("not a TickTick backup");
    expect(error.place.row).toBe(20);
    await expect(read("ticktick", '"Date: x"\n')).rejects.toThrow(/not a TickTick backup/);
  });
});

describe("Trello board JSON", () => {
  it("counts what the sample board holds", async () => {
    const { preview } = await scan("trello", trello);
    expect(preview.counts).toEqual({
      tasks: 27,
      steps: 16,
      tags: 8,
      completed: 2,
      skipped: 3,
      duplicates: 0,
      problems: 4,
    });
  });

  it("reads cards in board order, with checklists as steps and labels and lists as tags", async () => {
    const { items } = await read("trello", trello);
    expect(items.slice(0, 3).map((i) => [i.title, i.tags])).toEqual([
      ["Order business cards", ["backlog", "green"]],
      ["Idea: podcast", ["backlog", "urgent"]],
      ["Reply to Zoë about the invoice", ["backlog"]],
    ]);
    const landing = items.find((i) => i.title === "Redesign the landing page");
    expect(landing).toEqual(
      item({
        key: "trello:65f74cf00000000000000065",
        externalId: "65f74cf00000000000000065",
        place: { field: "cards[0]" },
        title: "Redesign the landing page",
        description: 'New hero image, shorter copy.\nSee "brand guide v3".',
        dueAt: "2025-03-21T17:00:00.000Z",
        tags: ["this-week", "design", "urgent"],
        // Checklists in their order (by pos), each one's items by pos.
        steps: [
          { description: "Sketch three options", done: true },
          { description: "Pick one with Sam", done: false },
          { description: "Hand over to dev", done: false },
          { description: "A/B test the headline", done: false },
        ],
        createdAt: "2024-03-17T20:05:04.000Z",
      }),
    );
    expect(items.filter((i) => i.status === "completed").map((i) => i.title)).toEqual([
      "Fix typo on pricing page",
      "Publish the case study",
    ]);
  });

  it("skips archived cards and cards of archived lists, naming where they are", async () => {
    const { problems } = await read("trello", trello);
    expect(problems).toEqual([
      {
        field: "cards[9].due",
        message: "The due date could not be read: imported without one.",
        skipped: false,
      },
      { field: "cards[10].title", message: "A task without a name: skipped.", skipped: true },
      { field: "cards[5]", message: "An archived card: skipped.", skipped: true },
      { field: "cards[7]", message: "An archived card: skipped.", skipped: true },
    ]);
  });

  it("refuses JSON that is cut off, naming the line, and JSON that is not a board", async () => {
    const cut = trello.slice(0, Math.floor(trello.length / 2));
    const error = await refusal(read("trello", cut));
    expect(error.message).toMatch(/truncated or corrupted/);
    expect(error.place.line).toBeGreaterThan(100);
    await expect(read("trello", '{"name":"not a board"}')).rejects.toThrow(/not a Trello board/);
    await expect(read("trello", "[1,2,3]")).rejects.toThrow(/not a Trello board/);
  });
});

describe("generic CSV with a mapping", () => {
  it("counts what the sample file holds", async () => {
    const { preview } = await scan("csv", generic, GENERIC_MAPPING);
    expect(preview.counts).toEqual({
      tasks: 19,
      steps: 8,
      tags: 6,
      completed: 2,
      skipped: 2,
      duplicates: 0,
      problems: 7,
    });
  });

  it("reads ids, parents and dependencies by id, steps, estimates, words for priorities and done", async () => {
    const { items } = await read("csv", generic, { mapping: GENERIC_MAPPING });
    expect(items.slice(0, 4)).toEqual([
      item({
        key: "id:T1",
        // A mapped id names rows within the file only: not remembered as an app's id.
        externalId: null,
        place: { row: 2, line: 2 },
        title: "Move house",
        description: "The big one.",
        priority: "high",
        dueAt: "2025-06-30T21:59:00.000Z",
        tags: ["home"],
      }),
      item({
        key: "id:T2",
        externalId: null,
        place: { row: 3, line: 3 },
        title: "Give notice to the landlord",
        description: "Registered letter!",
        status: "completed",
        priority: "critical",
        dueAt: "2025-04-30T21:59:00.000Z",
        tags: ["home", "admin"],
        estimatedMinutes: 20,
        parentKey: "id:T1",
      }),
      item({
        key: "id:T3",
        externalId: null,
        place: { row: 4, line: 4 },
        title: "Book the movers",
        description: "Get 3 quotes, compare",
        priority: "high",
        dueAt: "2025-05-15T08:00:00.000Z",
        tags: ["home"],
        estimatedMinutes: 60,
        parentKey: "id:T1",
        dependsOn: ["id:T2"],
        steps: [
          { description: "Ask Ana for her mover", done: true },
          { description: "Call Umzug Müller", done: false },
          { description: 'Call "Fast & Safe"', done: false },
        ],
      }),
      item({
        key: "id:T4",
        externalId: null,
        place: { row: 5, line: 7 },
        title: "Pack the books",
        tags: ["home"],
        estimatedMinutes: 180,
        parentKey: "id:T1",
        dependsOn: ["id:T3"],
        steps: [
          { description: "Kitchen shelf", done: false },
          { description: "Office", done: false },
          { description: "Kids' room", done: true },
        ],
      }),
    ]);
    // A parent named before its row: resolved by id at commit.
    expect(items.find((i) => i.key === "id:T16")?.parentKey).toBe("id:T17");
    expect(items.find((i) => i.key === "id:T14")?.dependsOn).toEqual(["id:T4", "id:T13"]);
  });

  it("points its problems at rows and columns", async () => {
    const { problems } = await read("csv", generic, { mapping: GENERIC_MAPPING });
    expect(problems.map((p) => [p.row, p.field ?? null, p.skipped])).toEqual([
      [9, "title", true],
      [11, "due", false],
      [12, "priority", false],
      [13, "done", false],
      [13, "estimate", false],
      [14, "id", true],
      // Only once the file has ended is it certain that no row has this id.
      [15, "depends_on", false],
    ]);
    expect(problems[1]?.message).toBe(
      'The date "2025-13-01" could not be read: imported without a due date.',
    );
    expect(problems[6]?.message).toBe('No row has the id "T99": the reference is left out.');
  });

  it("reads a semicolon file without ids: parents by title above, German yes and no", async () => {
    const { items, problems } = await read("csv", semicolon, { mapping: SEMICOLON_MAPPING });
    expect(items.map((i) => [i.key, i.title, i.status, i.parentKey, i.tags])).toEqual([
      ["row:2", "Steuererklärung 2024", "pending", null, ["finanzen"]],
      ["row:3", "Belege sortieren", "completed", "row:2", ["finanzen"]],
      ["row:4", "Elster-Zugang erneuern", "pending", "row:2", ["finanzen", "admin"]],
      ["row:5", "Zahnarzt anrufen", "pending", null, ["gesundheit"]],
      ["row:6", "Fahrrad reparieren", "pending", null, []],
      ["row:7", "Kette ölen", "completed", "row:6", []],
      ["row:8", "Unbekannte Oberaufgabe", "pending", null, []],
    ]);
    expect(items[3]?.dueAt).toBe("2025-04-02T06:00:00.000Z");
    expect(problems).toEqual([
      {
        row: 8,
        line: 8,
        field: "parent",
        message: 'No row above is titled "Gibt es nicht": imported without a parent.',
        skipped: false,
      },
    ]);
  });

  it("refuses a file without the mapped columns, naming them and the columns it has", async () => {
    const error = await refusal(
      read("csv", "Name,When\nBuy milk,2025-03-12\n", {
        mapping: { title: "Task", due: "When", notes: "Memo" },
      }),
    );
    expect(error.message).toBe(
      'The file has no column "Task" (title), "Memo" (notes). Its columns are: "Name", "When".',
    );
    expect(error.place).toEqual({ row: 1, line: 1, field: "mapping" });
  });

  it("reads a last row without a line break whose trailing cells are left out as empty cells, and says so", async () => {
    const { items, problems } = await read("csv", "title,notes\nA,x\nB", {
      mapping: { title: "title", notes: "notes" },
    });
    // A file cut off between cells looks the same: not skipped, but said.
    expect(problems).toEqual([
      {
        row: 3,
        line: 3,
        message:
          "The last row has 1 of the header's 2 cells and no line break after it: the rest are read as empty. If the file was cut off, export it again.",
        skipped: false,
      },
    ]);
    // With its line break, the same row is an ordinary one.
    expect((await read("csv", "title,notes\nA,x\nB\n", { mapping: { title: "title" } })).problems).toEqual(
      [],
    );
    expect(items.map((i) => [i.title, i.description])).toEqual([
      ["A", "x"],
      ["B", null],
    ]);
  });

  it("refuses a file cut off inside a quoted cell, naming its row", async () => {
    const error = await refusal(
      read("csv", 'Title,Notes\nOne,a\nTwo,"half a no', { mapping: { title: "Title" } }),
    );
    expect(error.place).toEqual({ row: 3, line: 3 });
  });
});

describe("cells of any size", () => {
  const huge = "x".repeat(200_000);

  it("are quoted in problems only so far: 80 characters, on one line", async () => {
    const header =
      "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE,DURATION,DURATION_UNIT";
    const todoistRows = [
      `${huge},A,,,,,,,,,,`,
      `task,B,,${huge},${huge},,,${huge},${huge},,${huge},`,
      `task,C,,,,,,tomorrow ${huge},,,5,${huge}`,
    ];
    const csvRows = [`1,A,${huge},${huge},${huge},${huge},${huge}`, `1,B,,,,,`];
    const ticktickHeader =
      '"Folder Name","List Name","Title","Kind","Tags","Content","Is Check list","Start Date","Due Date","Reminder","Repeat","Priority","Status","Created Time","Completed Time","Order","Timezone","Is All Day","Is Floating","Column Name","Column Order","View Mode","taskId","parentId"';
    const problems = [
      ...(await read("todoist", `${header}\n${todoistRows.join("\n")}\n`)).problems,
      ...(
        await read("csv", `id,title,due,priority,done,estimate,parent\n${csvRows.join("\n")}\n`, {
          mapping: {
            id: "id",
            title: "title",
            due: "due",
            priority: "priority",
            done: "done",
            estimate: "estimate",
            parent: "parent",
          },
        })
      ).problems,
      ...(
        await read(
          "ticktick",
          `${ticktickHeader}\n,Inbox,T,TEXT,,,N,,${huge},,,${huge},${huge},,,,,,,,,,${huge},\n,Inbox,U,TEXT,,,N,,,,,,,,,,,,,,,,${huge},\n`,
        )
      ).problems,
    ];
    expect(problems.length).toBeGreaterThanOrEqual(14);
    for (const p of problems) expect(p.message.length, p.message.slice(0, 120)).toBeLessThan(200);
    expect(problems[0]?.message).toBe(`TYPE "${"x".repeat(79)}…" is not task, section or note: skipped.`);
  });

  it("a refusal names at most 30 columns, each cut", async () => {
    const names = Array.from({ length: 500 }, (_, i) => `column ${i} ${"y".repeat(1000)}`);
    const error = await refusal(read("csv", `${names.join(",")}\n1\n`, { mapping: { title: "Title" } }));
    expect(error.message.length).toBeLessThan(4_000);
    expect(error.message).toContain("and 470 more");
  });
});

describe("Todoist priorities", () => {
  it("p4, Todoist's default for a task nobody prioritised, is ours (medium), as an empty cell is", async () => {
    const header = "TYPE,CONTENT,PRIORITY";
    const { items } = await read("todoist", `${header}\ntask,A,1\ntask,B,2\ntask,C,3\ntask,D,4\ntask,E,\n`);
    expect(items.map((i) => i.priority)).toEqual(["critical", "high", "medium", "medium", "medium"]);
  });
});

describe("the CSV reader", () => {
  async function records(text: string, delimiter: "," | ";" | "auto" = ",", slice = 3) {
    const out: { fields: string[]; row: number; line: number; terminated: boolean }[] = [];
    for await (const r of readCsv(textOf(text, slice), { delimiter })) out.push(r);
    return out;
  }

  it("reads quotes, doubled quotes, delimiters and line breaks inside fields, CRLF, across any piece boundary", async () => {
    const text = 'a,"b,c","say ""hi"""\r\n"multi\r\nline",x,\r\n\r\nlast,row,here';
    for (const slice of [1, 2, 5, 64]) {
      expect(await records(text, ",", slice)).toEqual([
        { fields: ["a", "b,c", 'say "hi"'], row: 1, line: 1, terminated: true },
        { fields: ["multi\nline", "x", ""], row: 2, line: 2, terminated: true },
        { fields: [""], row: 3, line: 4, terminated: true },
        { fields: ["last", "row", "here"], row: 4, line: 5, terminated: false },
      ]);
    }
  });

  it("keeps text after a closing quote, as spreadsheets mean it", async () => {
    expect((await records('"a"b,c\n'))[0]?.fields).toEqual(["ab", "c"]);
  });

  it("refuses a quoted field that never closes, naming its row and line", async () => {
    const error = await refusal(records('ok,fine\n"open,\nand on\n'));
    expect(error.message).toBe(
      "Row 2 (from line 2) opens a quoted field that never closes: the file looks truncated, or a quote is missing.",
    );
  });

  it("reads a first line of megabytes, arriving in small pieces, in time linear in its length", async () => {
    const header = `${"h".repeat(2_000_000)};b`;
    async function* pieces() {
      for (let at = 0; at < header.length; at += 100) yield header.slice(at, at + 100);
      yield "\n1;2\n";
    }
    const started = Date.now();
    const out: string[][] = [];
    for await (const r of readCsv(pieces(), { delimiter: "auto" })) out.push(r.fields);
    expect(out.map((f) => f.length)).toEqual([2, 2]);
    expect(out[1]).toEqual(["1", "2"]);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("guesses the delimiter from the header", async () => {
    expect(guessDelimiter("a;b;c")).toBe(";");
    expect(guessDelimiter("a\tb\tc")).toBe("\t");
    expect(guessDelimiter('"x;y",b,c')).toBe(",");
    expect(guessDelimiter("single")).toBe(",");
    expect((await records("a;b\n1;2\n", "auto"))[1]?.fields).toEqual(["1", "2"]);
    expect((await records("a;b", "auto"))[0]?.fields).toEqual(["a", "b"]);
  });
});

describe("text", () => {
  it("drops a BOM and refuses bytes that are not UTF-8, with their line", async () => {
    let text = "";
    for await (const piece of decodeUtf8(slicesOf(new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x0a, 0x62]))))
      text += piece;
    expect(text).toBe("a\nb");
    const bad = new Uint8Array([0x61, 0x0a, 0x62, 0x0a, 0xff, 0xfe, 0x0a]);
    const error = await refusal(
      (async () => {
        for await (const _ of decodeUtf8(slicesOf(bad, 2))) void _;
      })(),
    );
    expect(error.message).toContain("Line 3 holds bytes that are not UTF-8");
  });

  it("refuses a NUL byte (a binary or corrupted file) and a character cut off at the end", async () => {
    const drain = async (bytes: Uint8Array) => {
      for await (const _ of decodeUtf8(slicesOf(bytes))) void _;
    };
    expect((await refusal(drain(new TextEncoder().encode("a\nb\nc\u0000d")))).place).toEqual({ line: 3 });
    expect((await refusal(drain(new Uint8Array([0x61, 0xc3])))).message).toContain("middle of a character");
  });
});

describe("dates", () => {
  it("reads ISO dates and times in the zone given, a bare date at 23:59 there", () => {
    expect(parseDue("2025-03-14", ZONE, NOW)).toBe("2025-03-14T22:59:00.000Z");
    expect(parseDue("2025-07-14 08:30", ZONE, NOW)).toBe("2025-07-14T06:30:00.000Z");
    expect(parseDue("2025-03-14T08:30:00+0530", ZONE, NOW)).toBe("2025-03-14T03:00:00.000Z");
    expect(parseDue("2025-03-14T08:30Z", ZONE, NOW)).toBe("2025-03-14T08:30:00.000Z");
    expect(parseDue("2025-02-30", ZONE, NOW)).toBeNull();
    expect(parseDue("2025-13-01", ZONE, NOW)).toBeNull();
  });

  it("reads the dates spreadsheets write without leading zeros, as the ISO dates they are", () => {
    expect(parseDue("2025-3-14", ZONE, NOW)).toBe(parseDue("2025-03-14", ZONE, NOW));
    expect(parseDue("2025-3-4 9:05", ZONE, NOW)).toBe("2025-03-04T08:05:00.000Z");
    expect(parseDue("2025-3-4T9:05Z", ZONE, NOW)).toBe("2025-03-04T09:05:00.000Z");
    expect(parseDue("2025-2-30", ZONE, NOW)).toBeNull();
  });

  it("reads no prose as a date: a cell past 200 characters is not one", () => {
    expect(parseDue(`tomorrow ${"and then ".repeat(30)}`, ZONE, NOW)).toBeNull();
  });

  it("reads each distinct date of a file once (chrono costs about a millisecond a cell)", async () => {
    const parse = vi.spyOn(chrono.en.casual, "parse");
    try {
      const header = "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE";
      const rows = Array.from(
        { length: 300 },
        (_, i) => `task,Task ${i},,4,1,,,${i % 2 ? "tomorrow 5pm" : "next friday"},en,`,
      );
      const { items } = await read("todoist", `${header}\n${rows.join("\n")}\n`);
      expect(items).toHaveLength(300);
      expect(items[1]?.dueAt).toBe(parseDue("tomorrow 5pm", ZONE, NOW));
      expect(items[0]?.dueAt).toBe(parseDue("next friday", ZONE, NOW));
      // Two distinct dates in one zone: two readings, not 300 (the two above are outside the file).
      expect(parse.mock.calls.length).toBe(4);
    } finally {
      parse.mockRestore();
    }
    // Each file reads at its own now: a parser of another now answers for that now.
    expect(dueParser(NOW + 86_400_000).parse("tomorrow 5pm", ZONE)).toBe(
      parseDue("tomorrow 5pm", ZONE, NOW + 86_400_000),
    );
  });

  it("reads at most so many different dates in words a file, and says why the rest have none", async () => {
    const dates = dueParser(NOW, 2);
    expect(dates.parse("tomorrow 5pm", ZONE)).not.toBeNull();
    expect(dates.parse("next friday", ZONE)).not.toBeNull();
    expect(dates.parse("next monday", ZONE)).toBeNull();
    expect(dates.skipped).toBe(true);
    // What it read before is still answered, and ISO dates cost nothing and are always read.
    expect(dates.parse("tomorrow 5pm", ZONE)).toBe(parseDue("tomorrow 5pm", ZONE, NOW));
    expect(dates.skipped).toBe(false);
    expect(dates.parse("2025-3-20", ZONE)).toBe(parseDue("2025-03-20", ZONE, NOW));
    expect(dates.parse("someday", ZONE)).toBeNull();
    expect(dates.skipped).toBe(true);
    expect(unreadDate("someday", true)).toBe(
      `The file holds more than ${MAX_WORDED_DATES} different dates in words: "someday" was not read (write dates as YYYY-MM-DD): imported without a due date.`,
    );
    expect(unreadDate("someday", false)).toBe(
      'The date "someday" could not be read: imported without a due date.',
    );
  });

  it("reads words relative to now, and not what names no date", () => {
    expect(parseDue("tomorrow 5pm", ZONE, NOW)).toBe("2025-03-11T16:00:00.000Z");
    expect(parseDue("Mar 20", ZONE, NOW)).toBe("2025-03-20T22:59:00.000Z");
    expect(parseDue("morgen", ZONE, NOW, "de")).toBe("2025-03-11T22:59:00.000Z");
    expect(parseDue("someday", ZONE, NOW)).toBeNull();
  });

  it("reads exported instants, and an all-day date on its own calendar", () => {
    expect(parseInstant("2025-03-10T23:00:00+0000", ZONE)).toBe("2025-03-10T23:00:00.000Z");
    expect(parseInstant("1741600800000", ZONE)).toBe("2025-03-10T10:00:00.000Z");
    expect(parseInstant("1900-01-01T00:00:00Z", ZONE)).toBeNull();
    expect(endOfLocalDayDue("2025-03-10T23:00:00.000Z", "Europe/Madrid", "America/New_York")).toBe(
      "2025-03-12T03:59:00.000Z",
    );
  });
});

describe("cells", () => {
  it("makes labels into tags", () => {
    expect(tagOf("  Home Stuff ")).toBe("home-stuff");
    expect(tagOf("#Café crew!")).toBe("café-crew");
    expect(tagOf("!!!")).toBeNull();
    expect(tagOf("x".repeat(40))).toHaveLength(32);
    expect(tagsOfCell("a, b; #c,, ")).toEqual(["a", "b", "c"]);
  });

  it("reads priorities, done and minutes in the words people use", () => {
    expect(["p1", "Urgent", "!!", "normal", "LOW", "p4", "meh"].map(priorityOfWord)).toEqual([
      "critical",
      "critical",
      "high",
      "medium",
      "low",
      // Todoist's p4 is its "no priority" default: ours, medium.
      "medium",
      null,
    ]);
    expect(["x", "Yes", "", "nein", "maybe"].map(doneOfCell)).toEqual([true, true, false, false, null]);
    expect(["45", "1h30m", "1.5 h", "90 min", "2 hours", "soon", "h"].map(minutesOfCell)).toEqual([
      45,
      90,
      90,
      90,
      120,
      null,
      null,
    ]);
  });

  it("fits an item to a task's limits, saying what was cut", () => {
    const steps = Array.from({ length: 52 }, (_, i) => ({ description: `step ${i + 1}`, done: i === 51 }));
    const { item: fitted, problems } = fitItem(
      item({
        key: "row:2",
        place: { row: 2 },
        title: `  ${"t".repeat(310)} `,
        tags: Array.from({ length: 22 }, (_, i) => `t${i}`),
        steps,
        estimatedMinutes: 200_000,
        completedAt: "2025-03-01T00:00:00.000Z",
      }),
    );
    expect(fitted?.title).toHaveLength(300);
    expect(fitted?.tags).toHaveLength(20);
    expect(fitted?.steps).toHaveLength(50);
    expect(fitted?.description).toBe("[ ] step 51\n[x] step 52");
    expect(fitted?.estimatedMinutes).toBe(100_000);
    // Only a completed item keeps a completion time.
    expect(fitted?.completedAt).toBeNull();
    expect(problems.map((p) => p.field)).toEqual(["title", "tags", "steps", "estimate"]);
  });
});

describe("ids", () => {
  const importId = "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";

  it("are the same for the same item, differ between items and imports, and are UUIDs of the right version", () => {
    expect(taskIdOf(importId, 0, "row:2")).toBe(taskIdOf(importId, 0, "row:2"));
    expect(taskIdOf(importId, 0, "row:2")).not.toBe(taskIdOf(importId, 1, "row:3"));
    expect(taskIdOf(importId, 0, "row:2")).not.toBe(taskIdOf(importId.replace("5b", "5c"), 0, "row:2"));
    expect(taskIdOf(importId, 5, "k")).toMatch(/^0195a1b2-c3d4-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stepIdOf(importId, "k", 0)).toMatch(/^0195a1b2-c3d4-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(stepIdOf(importId, "k", 0)).not.toBe(stepIdOf(importId, "k", 1));
    expect(refOf(importId, "k")).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  it("list the file's first item first (newest first is the highest id)", () => {
    const ids = [0, 1, 2, 1000, 2_000_000].map((n) => taskIdOf(importId, n, `row:${n}`));
    expect([...ids].sort().reverse()).toEqual(ids);
  });
});

describe("loops a file may hold", () => {
  it("cut one parent link per loop of parents, and none elsewhere", () => {
    const parents = new Map([
      ["a", "b"],
      ["b", "c"],
      ["c", "a"],
      ["d", "a"],
      ["e", "e"],
      ["f", "g"],
    ]);
    expect(parentLinksToCut(parents).sort()).toEqual(["c", "e"]);
  });

  it("cut the dependency edges that close cycles, and keep the rest", () => {
    const edges = [
      { id: "a", dependsOn: "b" },
      { id: "b", dependsOn: "c" },
      { id: "c", dependsOn: "a" },
      { id: "d", dependsOn: "a" },
      { id: "x", dependsOn: "y" },
      { id: "y", dependsOn: "x" },
    ];
    expect(dependencyEdgesToCut(edges)).toEqual([
      { id: "c", dependsOn: "a" },
      { id: "y", dependsOn: "x" },
    ]);
    const chain = Array.from({ length: 20_000 }, (_, i) => ({ id: `n${i}`, dependsOn: `n${i + 1}` }));
    expect(dependencyEdgesToCut(chain)).toEqual([]);
  });
});

describe("any bytes at all", () => {
  const sources = Object.keys(SOURCES) as (keyof typeof SOURCES)[];
  const mapping = {
    title: "title",
    due: "due",
    parent: "parent",
    depends_on: "after",
    id: "id",
    steps: "steps",
  };
  const headers: Record<keyof typeof SOURCES, string> = {
    todoist: "TYPE,CONTENT,PRIORITY,INDENT,DATE\n",
    ticktick: '"Title","List Name","taskId","parentId","Content","Is Check list","Status","Due Date"\n',
    trello: "",
    csv: "id,title,due,parent,after,steps\n",
  };
  const text = fc.oneof(
    fc.string({ unit: "grapheme", maxLength: 300 }),
    fc
      .array(
        fc.constantFrom(
          "task",
          "note",
          "section",
          ",",
          '"',
          "\n",
          "\r\n",
          "x",
          "2025-03-14",
          "@a",
          "▪",
          "{",
          "[",
          "}",
          "]",
          ":",
        ),
        { maxLength: 80 },
      )
      .map((parts) => parts.join("")),
  );

  it.each(sources)(
    "are read by %s as items and problems, or refused as a file, never an error of another kind",
    async (source) => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            text.map((t) => new TextEncoder().encode(headers[source] + t)),
            fc.uint8Array({ maxLength: 200 }),
          ),
          async (bytes) => {
            try {
              for await (const event of SOURCES[source].read(decodeUtf8(slicesOf(bytes, 7)), {
                zone: ZONE,
                now: NOW,
                mapping,
              })) {
                if (event.kind === "item") expect(event.item.title.length).toBeGreaterThan(0);
              }
            } catch (error) {
              if (!(error instanceof SourceRefusal)) throw error;
            }
          },
        ),
        { numRuns: 200 },
      );
    },
  );
});
