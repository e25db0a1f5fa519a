/**
 * Any CSV with a header row, read through a column mapping (our field → the file's column name,
 * matched ignoring case and surrounding spaces): `title` is required; `notes`, `due`, `priority`,
 * `done`, `tags`, `parent`, `id`, `estimate`, `steps` and `depends_on` are optional. Comma, semicolon
 * or tab delimited (guessed from the header), quoted fields with commas and line breaks, a BOM.
 * - due: ISO dates (a date alone is due at 23:59) or English words ("Mar 14 5pm"), in the user's zone.
 * - priority: low / medium / normal / high / urgent / critical / none, p1–p4 (p1 highest) or !, !!, !!!.
 * - done: yes / no, true / false, 1 / 0, x, done, completed …
 * - tags: separated by commas or semicolons. estimate: minutes ("45", "1h30m").
 * - steps: one a line; "[x] " marks a done one.
 * - parent and depends_on name other rows: by their `id` when an id column is mapped (any row of the
 *   file), else by title (a row above). depends_on may name several, separated by commas or semicolons.
 * - id names a row within this file only: it is not remembered as an app's id (`external_id` stays
 *   null), since two unrelated spreadsheets both number their rows 1, 2, 3… Importing the same file
 *   again is caught by the title, due date and state rule (duplicates.ts) instead.
 */
import type { CsvRecord } from "./csv";
import { isBlank, readCsv } from "./csv";
import { dueParser, unreadDate } from "./dates";
import {
  blankItem,
  doneOfCell,
  eventsOfDraft,
  minutesOfCell,
  priorityOfWord,
  problem,
  quote,
  tagsOfCell,
} from "./fields";
import { Columns, cutShort, misshapen } from "./table";
import { type ImportSource, type Place, type SourceEvent, SourceRefusal } from "./types";

export const MAPPABLE_FIELDS = [
  "title",
  "notes",
  "due",
  "priority",
  "done",
  "tags",
  "parent",
  "id",
  "estimate",
  "steps",
  "depends_on",
] as const;
export type MappableField = (typeof MAPPABLE_FIELDS)[number];
export type CsvMapping = Partial<Record<MappableField, string>> & { title: string };

const STEP_DONE = /^\s*(?:[-*•]\s*)?(?:\[[xX✓]\]|✓|✔)\s*/u;
const STEP_OPEN = /^\s*(?:[-*•]\s*)?(?:\[\s?\]\s*)?/u;

/** Places of one missing id remembered (and listed); further references to it are only counted. */
export const MAX_PLACES_PER_ID = 10;

const titleKey = (title: string) => title.replace(/\s+/g, " ").trim().toLowerCase();

/** The columns the mapping names that the header lacks. */
function missingColumns(columns: Columns, mapping: CsvMapping): string[] {
  return Object.entries(mapping)
    .filter(([, column]) => column !== undefined && !columns.has(column))
    .map(([field, column]) => `${quote(column)} (${field})`);
}

/** The columns a refusal lists: the first few, each quoted (a header may be anything). */
const MAX_LISTED_COLUMNS = 30;
function columnList(columns: Columns): string {
  const listed = columns.names.slice(0, MAX_LISTED_COLUMNS).map(quote).join(", ");
  const more = columns.names.length - MAX_LISTED_COLUMNS;
  return more > 0 ? `${listed} and ${more} more` : listed;
}

export const genericCsvSource: ImportSource = {
  async *read(text, context): AsyncGenerator<SourceEvent> {
    const mapping = context.mapping as CsvMapping | null | undefined;
    if (!mapping?.title) throw new SourceRefusal("A CSV import needs a mapping that names the title column.");
    let columns: Columns | null = null;
    const byId = mapping.id !== undefined;
    // Without an id column, rows are named by title: the latest row above with that title.
    const keyOfTitle = new Map<string, string>();
    const ids = new Set<string>();
    // With an id column, references may point anywhere: those never defined are reported at the end,
    // each at its first MAX_PLACES_PER_ID places, then one problem counting the rest (a preview lists
    // 100 problems in all: one id must not fill the list, nor cost a problem per reference).
    const pendingRefs = new Map<string, { places: Place[]; more: number; moreFrom: Place | null }>();
    const dates = dueParser(context.now);

    /** The key of the row a (trimmed, non-empty) cell names, or null when no row above has that title. */
    const refer = (name: string, place: Place, field: string): string | null => {
      if (byId) {
        if (!ids.has(name)) {
          const pending = pendingRefs.get(name);
          if (!pending) pendingRefs.set(name, { places: [{ ...place, field }], more: 0, moreFrom: null });
          else if (pending.places.length < MAX_PLACES_PER_ID) pending.places.push({ ...place, field });
          else {
            pending.more += 1;
            pending.moreFrom ??= { ...place, field };
          }
        }
        return `id:${name}`;
      }
      const key = keyOfTitle.get(titleKey(name));
      if (!key) return null;
      return key;
    };

    for await (const record of readCsv(text, { delimiter: "auto" })) {
      if (isBlank(record)) continue;
      if (!columns) {
        columns = new Columns(record.fields, true);
        const missing = missingColumns(columns, mapping);
        if (missing.length > 0) {
          throw new SourceRefusal(
            `The file has no column ${missing.join(", ")}. Its columns are: ${columnList(columns)}.`,
            { row: record.row, line: record.line, field: "mapping" },
          );
        }
        continue;
      }
      yield* readRow(record, columns, mapping);
    }
    for (const [id, { places, more, moreFrom }] of pendingRefs) {
      if (ids.has(id)) continue;
      for (const place of places)
        yield problem(place, `No row has the id ${quote(id)}: the reference is left out.`);
      if (moreFrom)
        yield problem(
          moreFrom,
          `No row has the id ${quote(id)}: ${more} more references to it, from here on, are left out too.`,
        );
    }

    function* readRow(record: CsvRecord, columns: Columns, map: CsvMapping): Generator<SourceEvent> {
      const place = { row: record.row, line: record.line };
      const broken = misshapen(record, columns.names.length);
      if (broken) {
        yield { kind: "problem", problem: broken };
        return;
      }
      const cut = cutShort(record, columns.names.length);
      if (cut) yield { kind: "problem", problem: cut };
      const cell = (field: MappableField) => {
        const column = map[field];
        return column === undefined ? "" : columns.get(record, column);
      };
      const id = cell("id").trim();
      if (byId && id && ids.has(id)) {
        yield problem(
          { ...place, field: "id" },
          `The id ${quote(id)} appears twice: this row is skipped.`,
          true,
        );
        return;
      }
      const item = blankItem(byId && id ? `id:${id}` : `row:${record.row}`, place);
      item.title = cell("title");
      item.description = cell("notes").trim() || null;
      item.tags = tagsOfCell(cell("tags"));

      const due = cell("due").trim();
      if (due) {
        item.dueAt = dates.parse(due, context.zone);
        if (item.dueAt === null) yield problem({ ...place, field: "due" }, unreadDate(due, dates.skipped));
      }
      const priority = cell("priority").trim();
      if (priority) {
        const mapped = priorityOfWord(priority);
        if (mapped) item.priority = mapped;
        else
          yield problem(
            { ...place, field: "priority" },
            `The priority ${quote(priority)} is not one we know: medium is used.`,
          );
      }
      const done = cell("done");
      if (done.trim()) {
        const isDone = doneOfCell(done);
        if (isDone === null)
          yield problem(
            { ...place, field: "done" },
            `${quote(done)} says neither done nor not done: the task is open.`,
          );
        else if (isDone) item.status = "completed";
      }
      const estimate = cell("estimate").trim();
      if (estimate) {
        item.estimatedMinutes = minutesOfCell(estimate);
        if (item.estimatedMinutes === null)
          yield problem(
            { ...place, field: "estimate" },
            `${quote(estimate)} is not a number of minutes: no estimate.`,
          );
      }
      for (const line of cell("steps").split("\n")) {
        if (!line.trim()) continue;
        if (STEP_DONE.test(line)) item.steps.push({ description: line.replace(STEP_DONE, ""), done: true });
        else item.steps.push({ description: line.replace(STEP_OPEN, ""), done: false });
      }
      const parent = cell("parent").trim();
      if (parent) {
        item.parentKey = refer(parent, place, "parent");
        if (item.parentKey === null)
          yield problem(
            { ...place, field: "parent" },
            `No row above is titled ${quote(parent)}: imported without a parent.`,
          );
      }
      for (const cellName of cell("depends_on").split(/[,;]/)) {
        const name = cellName.trim();
        if (!name) continue;
        const key = refer(name, place, "depends_on");
        if (key === null)
          yield problem(
            { ...place, field: "depends_on" },
            `No row above is titled ${quote(name)}: that dependency is left out.`,
          );
        else if (key !== item.key) item.dependsOn.push(key);
      }
      item.dependsOn = [...new Set(item.dependsOn)];
      if (byId && id) ids.add(id);
      if (item.title.trim()) keyOfTitle.set(titleKey(item.title), item.key);
      yield* eventsOfDraft(item);
    }
  },
};
