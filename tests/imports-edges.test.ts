/**
 * Edges of the importers and of the import's own rows: what a source makes of a file's odd corners
 * (Trello boards with cards that name nothing, dates out of range, CSV line endings of old Macs), the
 * preview's bounds, the summary an import is shown as, and restores of files altered by hand.
 */
import { env, exports } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { imports } from "../src/db/schema";
import { signDownload } from "../src/features/export/signing";
import { MAX_FILE_BYTES, MAX_ITEMS, MAX_LISTED } from "../src/features/imports/limits";
import { scanFile } from "../src/features/imports/preview";
import { summaryOf } from "../src/features/imports/queries";
import { hasRowShape, rowProblem, ruleOf } from "../src/features/imports/restore/checks";
import { fieldProblem } from "../src/features/imports/restore/fields";
import { itemOf } from "../src/features/imports/restore/preview";
import { SOURCES, sourceOf } from "../src/features/imports/sources";
import { readCsv } from "../src/features/imports/sources/csv";
import { endOfLocalDayDue, parseInstant, parseWordsDue } from "../src/features/imports/sources/dates";
import { MAX_DESCRIPTION, MAX_STEP_DESCRIPTION, MAX_TITLE } from "../src/features/imports/sources/fields";
import { decodeUtf8, piecesOf, slicesOf } from "../src/features/imports/sources/text";
import {
  type ImportSource,
  type SourceContext,
  type SourceEvent,
  type SourceItem,
  type SourceProblem,
  SourceRefusal,
} from "../src/features/imports/sources/types";
import { MAX_STEPS_PER_TASK } from "../src/features/tasks/schemas";
import { BASE, call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { checkContract } from "./helpers/contract";
import { download, exportAccount } from "./helpers/export";
import { importFile, preview, rowsOf } from "./helpers/imports";
import { craftExport, type ExportDocument, firstRow, tableOf, uploadRestore } from "./helpers/restore";
import { createTask } from "./helpers/tasks";

const DAY_MS = 86_400_000;
const NOW = Date.now();
const ZONE = "Europe/Berlin";

const textOf = (text: string, slice = 61) => decodeUtf8(slicesOf(new TextEncoder().encode(text), slice));

async function read(
  source: keyof typeof SOURCES,
  text: string,
  context: Partial<SourceContext> = {},
  slice = 61,
) {
  const items: SourceItem[] = [];
  const problems: SourceProblem[] = [];
  for await (const event of SOURCES[source].read(textOf(text, slice), { zone: ZONE, now: NOW, ...context })) {
    if (event.kind === "item") items.push(event.item);
    else problems.push(event.problem);
  }
  return { items, problems };
}

async function refusal(promise: Promise<unknown>): Promise<SourceRefusal> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof SourceRefusal) return error;
    throw error;
  }
  throw new Error("expected the file to be refused");
}

/** A CSV line of quoted cells (a quote inside doubled). */
const csvLine = (cells: string[]) => cells.map((c) => `"${c.replaceAll('"', '""')}"`).join(",");

describe("a Trello board's odd corners", () => {
  const board = {
    lists: [
      { id: "todo", name: "To Do", pos: 1 },
      // No name, and a position that is no number (read as 0: before "To Do").
      { id: "nameless", name: "", pos: "first" },
    ],
    labels: [{ id: "errands", name: "Errands" }],
    cards: [
      "not a card",
      {
        id: "card-one",
        name: "First",
        idList: "todo",
        pos: 2,
        desc: "line one\r\nline two\rline three",
        labels: [{ id: "not-on-the-board", name: "", color: "green" }],
      },
      { id: "card-one", name: "The same card again", idList: "todo", pos: 3 },
      { name: "No id", idList: "a-list-that-is-gone", idLabels: ["errands", "gone"], due: 1_700_000 },
      { id: "same-a", name: "Same place A", idList: "nameless" },
      { id: "same-b", name: "Same place B", idList: "nameless" },
      { id: "card-six", name: "Labelled", idList: "todo", pos: 1, labels: [{ id: "x", name: "Home Stuff" }] },
    ],
  };

  it("orders by list and position (then file order), and reads what each card has", async () => {
    const { items, problems } = await read("trello", JSON.stringify(board));
    expect(items.map((i) => i.title)).toEqual(["Same place A", "Same place B", "Labelled", "First", "No id"]);
    const [a, b, labelled, first, noId] = items;
    // A list without a name gives no tag; a label not on the board is read by its name, else its colour.
    expect(a?.tags).toEqual([]);
    expect(b?.key).toBe("trello:same-b");
    expect(labelled?.tags).toEqual(["to-do", "home-stuff"]);
    expect(first?.tags).toEqual(["to-do", "green"]);
    // Line breaks of any kind are "\n".
    expect(first?.description).toBe("line one\nline two\nline three");
    // An id that is not Trello's says nothing of when the card was made.
    expect(first?.createdAt).toBeNull();
    // No id: named by its place, nothing remembered; a list that is gone gives no tag; unknown labels none.
    expect(noId).toMatchObject({
      key: "card:3",
      externalId: null,
      tags: ["errands"],
      dueAt: null,
      place: { field: "cards[3]" },
    });
    expect(problems).toEqual([
      { field: "cards[2]", message: "Card card-one appears twice: skipped.", skipped: true },
      { field: "cards[0]", message: "Not a card: skipped.", skipped: true },
      {
        field: "cards[3].due",
        message: "The due date could not be read: imported without one.",
        skipped: false,
      },
    ]);
  });

  it("says the line a broken board breaks at", async () => {
    const error = await refusal(read("trello", '{\n  "lists": [],\n  "cards" []\n}'));
    expect(error.message).toMatch(
      /^This is not a whole JSON file \(line 3\): it looks truncated or corrupted\./,
    );
    expect(error.place).toEqual({ line: 3 });
  });
});

describe("dates", () => {
  const tomorrowAt = (hour: number) => {
    const at = new Date(NOW + DAY_MS);
    at.setUTCHours(hour, 0, 0, 0);
    return at.toISOString();
  };

  it("reads a time with its own zone as that instant, whatever the user's zone", () => {
    expect(parseWordsDue("tomorrow at 10:00 UTC", "UTC", NOW)).toBe(tomorrowAt(10));
    // Read in New York, 10:00 would be 14:00 or 15:00 UTC: the zone the text names wins.
    expect(parseWordsDue("tomorrow 10am UTC", "America/New_York", NOW, "en")).toMatch(/T10:00:00\.000Z$/);
  });

  it("reads words in UTC when the zone is none, and in English when the language is unknown", () => {
    expect(parseWordsDue("tomorrow 10am", "Not/A_Zone", NOW)).toBe(tomorrowAt(10));
    expect(parseWordsDue("tomorrow 10am", "UTC", NOW, "xx")).toBe(tomorrowAt(10));
  });

  it("refuses dates past the years a plan can have, zoned or not", () => {
    const far = new Date(NOW).getUTCFullYear() + 400;
    expect(parseWordsDue(`Jan 5 ${far} 10:00 UTC`, "UTC", NOW)).toBeNull();
    expect(parseWordsDue(`March 3 ${far}`, ZONE, NOW)).toBeNull();
    expect(parseWordsDue(`March 3 ${far - 300}`, "UTC", NOW)).toMatch(/-03-03T23:59:00\.000Z$/);
  });

  it("refuses epoch milliseconds past those years", () => {
    expect(parseInstant("99999999999999", ZONE)).toBeNull();
    expect(parseInstant(String(NOW), ZONE)).toBe(new Date(NOW).toISOString());
  });

  it("gives no end of day for what is no instant, or a day before 1970", () => {
    expect(endOfLocalDayDue("not an instant", ZONE, ZONE)).toBeNull();
    expect(endOfLocalDayDue(new Date(-12 * 3_600_000).toISOString(), "UTC", "UTC")).toBeNull();
    expect(endOfLocalDayDue(new Date(NOW).toISOString(), "UTC", "UTC")).toMatch(/T23:59:00\.000Z$/);
  });
});

describe("a generic CSV's odd corners", () => {
  const mapping = {
    title: "Title",
    notes: "Notes",
    steps: "Steps",
    estimate: "Time",
    id: "Ref",
    depends_on: "After",
  };

  it("refuses to read without a mapping that names the title", async () => {
    const error = await refusal(read("csv", "Title\nA\n", { mapping: null }));
    expect(error.message).toBe("A CSV import needs a mapping that names the title column.");
  });

  it("cuts what a task cannot hold, saying so at the row and field", async () => {
    const steps = Array.from({ length: MAX_STEPS_PER_TASK + 2 }, (_, i) =>
      i === 0 ? "x".repeat(MAX_STEP_DESCRIPTION + 10) : `Step ${i + 1}`,
    );
    const file = [
      csvLine(["Title", "Notes", "Steps", "Time", "Ref", "After"]),
      csvLine(["t".repeat(MAX_TITLE + 5), "Keep this", steps.join("\n"), `${"9".repeat(400)}h`, "1", "1"]),
      csvLine(["Long notes", "n".repeat(MAX_DESCRIPTION + 1), "", "", "2", ""]),
    ].join("\n");
    const { items, problems } = await read("csv", file, { mapping });
    const [cut, notes] = items;
    expect(cut?.title).toHaveLength(MAX_TITLE);
    expect(cut?.steps).toHaveLength(MAX_STEPS_PER_TASK);
    expect(cut?.steps[0]?.description).toHaveLength(MAX_STEP_DESCRIPTION);
    // The steps past a task's 50 follow its notes, after a blank line.
    expect(cut?.description).toBe(
      `Keep this\n\n[ ] Step ${MAX_STEPS_PER_TASK + 1}\n[ ] Step ${MAX_STEPS_PER_TASK + 2}`,
    );
    // An estimate too big to be a number is none.
    expect(cut?.estimatedMinutes).toBeNull();
    // A row that waits on itself waits on nothing.
    expect(cut?.dependsOn).toEqual([]);
    expect(notes?.description).toHaveLength(MAX_DESCRIPTION);
    expect(problems.map((p) => [p.row, p.field, p.skipped])).toEqual([
      [2, "title", false],
      [2, "steps", false],
      [2, "steps", false],
      [3, "description", false],
    ]);
  });

  it("skips a row with more cells than the header, and names a dependency on no row above", async () => {
    const file = "Title,Notes,After\nFirst,,Later\nBroken,a,b,c\nLater,,\n";
    const { items, problems } = await read("csv", file, { mapping: { title: "Title", depends_on: "After" } });
    expect(items.map((i) => [i.title, i.dependsOn])).toEqual([
      ["First", []],
      ["Later", []],
    ]);
    expect(problems).toEqual([
      {
        row: 2,
        line: 2,
        field: "depends_on",
        message: 'No row above is titled "Later": that dependency is left out.',
        skipped: false,
      },
      {
        row: 3,
        line: 3,
        message: "Row 3 has 4 cells but the header has 3 (an unquoted comma?): skipped.",
        skipped: true,
      },
    ]);
  });

  it("reads the first of two columns with the same name", async () => {
    const { items } = await read("csv", "Title,title\nThe first,The second\n", {
      mapping: { title: "TITLE" },
    });
    expect(items.map((i) => i.title)).toEqual(["The first"]);
  });

  it("guesses the delimiter from a header whose quoted names hold commas and line breaks", async () => {
    const file = '"Task,\nname";"Notes, more"\n"Buy milk, 2L";Fresh\n';
    const { items } = await read("csv", file, { mapping: { title: "Task,\nname", notes: "Notes, more" } }, 3);
    expect(items.map((i) => [i.title, i.description])).toEqual([["Buy milk, 2L", "Fresh"]]);
  });

  it("ends rows at a lone carriage return (old Mac files), even one that ends a piece", async () => {
    const records = [];
    for await (const record of readCsv(textOf("a,b\rc,d\r\re,f", 1), { delimiter: "," }))
      records.push([record.fields, record.line]);
    expect(records).toEqual([
      [["a", "b"], 1],
      [["c", "d"], 2],
      [[""], 3],
      [["e", "f"], 4],
    ]);
  });
});

describe("Todoist and TickTick odd corners", () => {
  it("drops a Todoist label that leaves no tag", async () => {
    const file =
      "TYPE,CONTENT,DESCRIPTION,PRIORITY,INDENT,AUTHOR,RESPONSIBLE,DATE,DATE_LANG,TIMEZONE\n" +
      "task,Buy stuff @--- @shop,,4,1,,,,,\n";
    const { items } = await read("todoist", file);
    expect(items.map((i) => [i.title, i.tags])).toEqual([["Buy stuff", ["shop"]]]);
  });

  it("keeps the notes of a TickTick checklist without its blank lines", async () => {
    const file = [
      csvLine(["Folder Name", "List Name", "Title", "Kind", "Content", "Is Check list", "Status"]),
      csvLine(["", "Inbox", "Pack", "CHECKLIST", "For the trip\n\n▪Socks\n   \n▫Hat", "Y", "0"]),
    ].join("\n");
    const { items } = await read("ticktick", file);
    expect(items.map((i) => [i.description, i.steps])).toEqual([
      [
        "For the trip",
        [
          { description: "Socks", done: true },
          { description: "Hat", done: false },
        ],
      ],
    ]);
  });
});

describe("reading a file's bytes", () => {
  it("reads an R2 body piece by piece to its end", async () => {
    const blob = new Blob(["first piece, ", "second piece"]);
    const pieces: string[] = [];
    for await (const text of decodeUtf8(piecesOf(blob.stream()))) pieces.push(text);
    expect(pieces.join("")).toBe("first piece, second piece");
  });

  it("refuses to read a restore as an import", () => {
    expect(() => sourceOf("export")).toThrow(SourceRefusal);
    expect(sourceOf("trello")).toBe(SOURCES.trello);
  });
});

/** A source that yields the events it is given (the preview's bounds, without a file to parse). */
function sourceOfEvents(events: () => Iterable<SourceEvent>): ImportSource {
  return {
    async *read() {
      yield* events();
    },
  };
}

const plainItem = (n: number, controls = false): SourceEvent => ({
  kind: "item",
  item: {
    key: `row:${n}`,
    externalId: null,
    place: { row: n },
    title: `Task ${n}`,
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
  },
  ...(controls ? { controls: true } : {}),
});

const noText = (async function* () {})();

describe("the preview's bounds", () => {
  const context = { zone: ZONE, now: NOW };

  it("lists the first problems and counts them all, the dropped control characters too", async () => {
    const source = sourceOfEvents(function* () {
      for (let n = 1; n <= MAX_LISTED + 5; n++)
        yield { kind: "problem", problem: { row: n, message: `Problem ${n}`, skipped: n % 2 === 0 } };
      yield plainItem(1, true);
      yield plainItem(2, true);
    });
    const { preview } = await scanFile(source, noText, context);
    expect(preview.counts.problems).toBe(MAX_LISTED + 6);
    expect(preview.counts.skipped).toBe(Math.floor((MAX_LISTED + 5) / 2));
    expect(preview.problems).toHaveLength(MAX_LISTED);
    expect(preview.problems.at(-1)?.message).toBe(`Problem ${MAX_LISTED}`);
  });

  it("says a task had control characters removed, in the singular", async () => {
    const source = sourceOfEvents(function* () {
      yield plainItem(1);
      yield plainItem(2, true);
    });
    const { preview } = await scanFile(source, noText, context);
    expect(preview.problems).toEqual([
      {
        row: 2,
        message:
          "Control characters (other than tabs and line breaks) were removed from 1 task, this one the first.",
        skipped: false,
      },
    ]);
  });

  it(`refuses a file of more than ${MAX_ITEMS} tasks, at the first one past the limit`, async () => {
    const source = sourceOfEvents(function* () {
      for (let n = 1; n <= MAX_ITEMS + 10; n++) yield plainItem(n);
    });
    const error = await refusal(scanFile(source, noText, context));
    expect(error.message).toBe(`The file holds more than ${MAX_ITEMS} tasks: split it into smaller files.`);
    expect(error.place).toEqual({ row: MAX_ITEMS + 1 });
  });
});

describe("a restore's row checks", () => {
  const row = {
    id: "task-1",
    user_id: "someone",
    title: "A task",
    status: "pending",
    priority: "medium",
    created_at: new Date(NOW).toISOString(),
    updated_at: new Date(NOW).toISOString(),
  };

  it("takes only CHECKs of the forms it knows", () => {
    expect(ruleOf(`"status" IN ('a', 'b')`)?.test("a")).toBe(true);
    expect(ruleOf(`"status" IN ('a', 'b')`)?.test("c")).toBe(false);
    // A list of numbers, or any other form, is no rule this reader can apply.
    expect(ruleOf(`"level" IN (1, 2)`)).toBeNull();
    expect(ruleOf(`length("title") > 0`)).toBeNull();
  });

  it("says a row fits its table only with its own columns, of their types, the required ones present", () => {
    const inherited: Record<string, unknown> = Object.assign(Object.create({ extra: 1 }), row);
    expect(hasRowShape("tasks", row)).toBe(true);
    expect(hasRowShape("tasks", inherited)).toBe(true);
    expect(hasRowShape("no_such_table", row)).toBe(false);
    expect(hasRowShape("tasks", [row])).toBe(false);
    expect(hasRowShape("tasks", { ...row, colour: "red" })).toBe(false);
    expect(hasRowShape("tasks", { ...row, title: null })).toBe(false);
    expect(hasRowShape("tasks", { ...row, description: null })).toBe(true);
    expect(hasRowShape("tasks", { ...row, title: 5 })).toBe(false);
    expect(hasRowShape("tasks", { ...row, status: "paused" })).toBe(false);
    const { title: _title, ...untitled } = row;
    expect(hasRowShape("tasks", untitled)).toBe(false);
  });

  it("finds nothing to refuse in a table it does not know, and leaves JSON that is no text to the shape", () => {
    expect(rowProblem("no_such_table", { anything: 1 })).toBeNull();
    expect(fieldProblem("tasks", { tags: 5 })).toBeNull();
    expect(fieldProblem("tasks", { created_at: 5 })).toBe("created_at is not an ISO-8601 time");
  });

  it("shows an exported task in the preview with defaults for what the row leaves out", () => {
    expect(itemOf({ id: "t1", tags: 5 }, 1)).toMatchObject({
      key: "t1",
      field: "tables.tasks[0]",
      title: "",
      status: "pending",
      priority: "medium",
      tags: [],
      estimated_minutes: null,
    });
    expect(
      itemOf({ id: "t2", tags: '{"a":1}', status: "cancelled", estimated_minutes: 25 }, 2),
    ).toMatchObject({
      status: "cancelled",
      tags: [],
      estimated_minutes: 25,
    });
  });
});

describe("an import as it is shown", () => {
  it("shows rows it never lists as what they are to the person, and a finished one at 100%", async () => {
    const user = await createUser();
    const previewed = await preview(user, "csv", "Title\nOne\nTwo\n", { title: "Title" });
    const row = await createDatabase(env.DB)
      .select()
      .from(imports)
      .where(eq(imports.id, previewed.import_id))
      .get();
    if (!row) throw new Error("no import row");
    expect(summaryOf({ ...row, status: "uploading" })).toMatchObject({
      status: "previewed",
      expires_at: null,
    });
    expect(summaryOf({ ...row, status: "discarding" })).toMatchObject({ status: "failed" });
    expect(summaryOf({ ...row, status: "completed", itemsDone: 2, result: null })).toMatchObject({
      status: "completed",
      progress: { items_done: 2, items_total: 2, percent: 100 },
      result: null,
      expires_at: null,
    });
    expect(summaryOf({ ...row, status: "running", itemsDone: 0, itemsTotal: 0 }).progress.percent).toBe(0);
  });

  it("lists a user's imports page by page, newest first", async () => {
    const user = await createUser();
    const older = await preview(user, "csv", "Title\nOne\n", { title: "Title" });
    const newer = await preview(user, "csv", "Title\nTwo\n", { title: "Title" });
    const first = await call("/api/v1/import?limit=1", { token: user.token });
    expect(((await first.json()) as { import_id: string }[]).map((i) => i.import_id)).toEqual([
      newer.import_id,
    ]);
    const next = /<([^>]+)>;\s*rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
    if (!next) throw new Error("no next page");
    const second = await callJson<{ import_id: string }[]>(next.replace(BASE, ""), 200, {
      token: user.token,
    });
    expect(second.map((i) => i.import_id)).toEqual([older.import_id]);
  });
});

describe("uploading", () => {
  const url = `${BASE}/api/v1/import?source=todoist`;

  it("refuses a request without a body as an empty file, storing nothing", async () => {
    const user = await createUser();
    const res = await exports.default.fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "text/csv" },
    });
    await checkContract("POST", url, res);
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: "empty_file" });
    expect(await rowsOf("imports", user.id)).toBe(0);
  });

  it("refuses a file that grows past the limit without saying its length, storing nothing", async () => {
    const user = await createUser();
    const chunk = new TextEncoder().encode(`${"x".repeat(1023)}\n`.repeat(1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent > MAX_FILE_BYTES) controller.close();
        else {
          sent += chunk.length;
          controller.enqueue(chunk);
        }
      },
    });
    const res = await exports.default.fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "text/csv" },
      body,
    });
    await checkContract("POST", url, res);
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: "file_too_large" });
    expect(await rowsOf("imports", user.id)).toBe(0);
  });
});

describe("duplicates in a preview", () => {
  it("matches the oldest of two tasks alike", async () => {
    const user = await createUser();
    const oldest = await createTask(user, { title: "Buy milk" });
    await createTask(user, { title: "Buy milk" });
    const previewed = await preview(user, "csv", "Title\nbuy milk\n", { title: "Title" });
    expect(previewed.preview.duplicates.map((d) => d.matches_task_id)).toEqual([oldest.task_id]);
  });

  it(`lists the first ${MAX_LISTED} and counts them all, at the card they come from`, async () => {
    const user = await createUser();
    const cards = Array.from({ length: MAX_LISTED + 3 }, (_, i) => ({
      id: `card-${i}`,
      name: `Card ${i}`,
      idList: "todo",
      pos: i,
    }));
    const board = JSON.stringify({ lists: [{ id: "todo", name: "To Do", pos: 1 }], cards });
    const done = await importFile(user, "trello", board);
    expect(done.status).toBe("completed");
    const again = await preview(user, "trello", board);
    expect(again.preview.counts.duplicates).toBe(MAX_LISTED + 3);
    expect(again.preview.duplicates).toHaveLength(MAX_LISTED);
    expect(again.preview.duplicates[5]).toEqual({
      field: "cards[5]",
      key: "trello:card-5",
      title: "Card 5",
      matches_task_id: expect.any(String),
    });
  });
});

describe("restoring a file altered by hand", () => {
  let user: TestUser;
  let file: string;

  beforeAll(async () => {
    const owner = await createUser();
    await createTask(owner, { title: "Exported task" });
    const done = await exportAccount(owner, "json");
    file = await (await download(done.download_url ?? "")).text();
    user = await createUser();
  }, 60_000);

  /** Refused with 422 naming the problem, and nothing kept. */
  async function refused(body: string, detail: string | RegExp) {
    const res = await uploadRestore(user, body);
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toMatch(detail);
    expect(await rowsOf("imports", user.id)).toBe(0);
  }

  /** The file with its summary changed after the counts were made to match. */
  const withSummary = (change: (summary: ExportDocument["summary"]) => void) => {
    const doc = JSON.parse(craftExport(file, () => undefined)) as ExportDocument;
    change(doc.summary);
    return JSON.stringify(doc);
  };

  it("refuses a table it does not know, or one that comes twice", async () => {
    await refused(
      craftExport(file, (doc) => {
        doc.tables.not_a_table = [];
      }),
      'Unknown table "not_a_table".',
    );
    const twice = craftExport(file, () => undefined).replace('"tables":{', '"tables":{"tasks":[],');
    await refused(twice, 'Table "tasks" appears twice.');
  });

  it("refuses a row not of its table's shape, naming the column when there is one", async () => {
    await refused(
      craftExport(file, (doc) => {
        firstRow(doc, "tasks").title = 5;
      }),
      /^The export file is not valid: Row 1 of table "tasks" is not valid \(title\): /,
    );
    await refused(
      craftExport(file, (doc) => {
        tableOf(doc, "tasks").push(7 as unknown as Record<string, unknown>);
      }),
      /Row 2 of table "tasks" is not valid: [^(]/,
    );
  });

  it("refuses a live state that is not one, or none", async () => {
    await refused(
      craftExport(file, (doc) => {
        doc.live = { focus: 1 };
      }),
      "The live state is not valid.",
    );
    await refused(
      craftExport(file, (doc) => {
        Reflect.deleteProperty(doc, "live");
      }),
      "The live state is missing.",
    );
  });

  it("refuses a summary that is not one, or whose counts are not the file's", async () => {
    await refused(
      withSummary((summary) => {
        Object.assign(summary, { tables: "all" });
      }),
      "The summary is not valid.",
    );
    await refused(
      withSummary((summary) => {
        summary.counts.ghost = 3;
      }),
      'Table "ghost" has 0 rows but the summary says 3: the file was altered or cut.',
    );
    await refused(
      withSummary((summary) => {
        delete summary.counts.tasks;
      }),
      `Table "tasks" is not in the summary's counts.`,
    );
  });

  it("refuses a download_url that is not a string, an expired link, a link to no file, and a CSV export's", async () => {
    await refused(JSON.stringify({ download_url: 5 }), "download_url must be a string.");
    const link = async (exportId: string, expires: number) => {
      const signature = await signDownload(env.JWT_SECRET, exportId, expires);
      return JSON.stringify({
        download_url: `${BASE}/api/v1/export/${exportId}/download?expires=${expires}&signature=${signature}`,
      });
    };
    const inAnHour = Math.floor(Date.now() / 1000) + 3600;
    await refused(
      await link("any-export", Math.floor(Date.now() / 1000) - 60),
      "The download link has expired",
    );
    await refused(
      await link("no-such-export", inAnHour),
      "The export of this link has expired and its file was deleted.",
    );
    const other = await createUser();
    const csv = await exportAccount(other, "csv");
    await refused(
      JSON.stringify({ download_url: csv.download_url }),
      "This link is a CSV export; only a JSON export can be restored.",
    );
  });

  it("refuses a restore without a body as an empty file", async () => {
    const restoreUrl = `${BASE}/api/v1/import?source=export`;
    const res = await exports.default.fetch(restoreUrl, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/octet-stream" },
    });
    await checkContract("POST", restoreUrl, res);
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({ code: "empty_file" });
    expect(await rowsOf("imports", user.id)).toBe(0);
  });
});
