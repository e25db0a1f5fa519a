/**
 * Todoist's CSV export ("Export as template → CSV"): a header row of TYPE, CONTENT, DESCRIPTION,
 * PRIORITY, INDENT, AUTHOR, RESPONSIBLE, DATE, DATE_LANG, TIMEZONE (newer exports add DURATION,
 * DURATION_UNIT, DEADLINE…), then rows of type `task`, `section` or `note` (a comment on the task above;
 * `meta` rows carry view settings). What becomes of it:
 * - PRIORITY: Todoist documents 1 as p1 (highest) and 4 as p4: 1 → critical, 2 → high, 3 → medium,
 *   4 → medium. p4 is Todoist's default, the priority of a task nobody prioritised, so it is our
 *   default (medium), not "low"; an empty cell means the same.
 * - INDENT 2, 3 … makes a sub-task of the task above it one level up (parent_task_id).
 * - `@label` words in CONTENT become tags (and leave the title); a section becomes a tag of its tasks.
 * - DATE is read in DATE_LANG (ISO dates, or words such as "tomorrow 5pm", "Mar 14") in TIMEZONE, or the
 *   user's zone; a date without a time is due at 23:59. Repeats ("every monday") keep only the next date.
 * - DURATION in minutes becomes the estimate. Notes are appended to the description.
 * Template exports hold no completed tasks, and no ids: items are keyed by row.
 */

import type { TaskPriority } from "../../../db/schema/tasks";
import { isValidTimeZone } from "../../../lib/time";
import { isBlank, readCsv } from "./csv";
import { dueParser, readsLanguage, unreadDate } from "./dates";
import { blankItem, type DraftItem, eventsOfDraft, problem, quote, short, tagOf } from "./fields";
import { Columns, misshapen } from "./table";
import type { ImportSource, SourceEvent } from "./types";
import { SourceRefusal } from "./types";

const PRIORITIES: Record<string, TaskPriority> = {
  "1": "critical",
  "2": "high",
  "3": "medium",
  "4": "medium",
};
const LABEL = /(^|\s)@([\p{L}\p{N}_-]+)/gu;
const REPEATING = /^\s*(every|ev|each)\b/i;
/** Todoist allows four levels of sub-tasks; deeper is clamped. */
const MAX_INDENT = 5;

export const todoistSource: ImportSource = {
  async *read(text, context): AsyncGenerator<SourceEvent> {
    let columns: Columns | null = null;
    // A task waits until the row after it: notes below it still belong to it.
    let pending: { item: DraftItem; said: SourceEvent[] } | null = null;
    // The key of the latest task at each indent (index 0: indent 1).
    const parents: string[] = [];
    let section: string | null = null;
    const dates = dueParser(context.now);

    for await (const record of readCsv(text, { delimiter: "," })) {
      if (isBlank(record)) continue;
      if (!columns) {
        columns = new Columns(record.fields);
        if (!columns.has("TYPE") || !columns.has("CONTENT")) {
          throw new SourceRefusal(
            "This is not a Todoist CSV export: its first row must name the columns TYPE and CONTENT.",
            { row: record.row, line: record.line },
          );
        }
        continue;
      }
      const place = { row: record.row, line: record.line };
      const broken = misshapen(record, columns.names.length);
      const cell = (name: string) => (columns as Columns).get(record, name);
      const type = broken ? "" : cell("TYPE").trim().toLowerCase();
      const content = cell("CONTENT").trim();

      if (type === "note") {
        if (pending) {
          const task = pending.item;
          task.description = task.description ? `${task.description}\n\n${content}` : content;
        } else yield problem(place, "A note with no task above it: skipped.", true);
        continue;
      }
      if (pending) {
        yield* pending.said;
        yield* eventsOfDraft(pending.item);
        pending = null;
      }
      if (broken) {
        yield { kind: "problem", problem: broken };
        continue;
      }
      if (type === "meta") continue;
      if (type === "section") {
        section = tagOf(content);
        parents.length = 0;
        continue;
      }
      if (type !== "task") {
        yield problem(place, `TYPE ${quote(cell("TYPE"))} is not task, section or note: skipped.`, true);
        continue;
      }

      const item = blankItem(`row:${record.row}`, place);
      // Said with the task, when it is complete: its problems and notes stay together in file order.
      const said: SourceEvent[] = [];
      const labels: string[] = [];
      item.title = content.replace(LABEL, (_all, before: string, label: string) => {
        const tag = tagOf(label);
        if (tag) labels.push(tag);
        return before;
      });
      item.tags = section ? [section, ...labels] : labels;
      item.description = cell("DESCRIPTION").trim() || null;

      const priority = cell("PRIORITY").trim();
      if (priority) {
        const mapped = PRIORITIES[priority];
        if (mapped) item.priority = mapped;
        else
          said.push(
            problem(
              { ...place, field: "PRIORITY" },
              `PRIORITY ${quote(priority)} is not 1–4: medium is used.`,
            ),
          );
      }

      const indentCell = cell("INDENT").trim();
      let indent = 1;
      if (indentCell) {
        const n = Number(indentCell);
        if (Number.isInteger(n) && n >= 1) indent = Math.min(n, MAX_INDENT, parents.length + 1);
        else
          said.push(
            problem({ ...place, field: "INDENT" }, `INDENT ${quote(indentCell)} is not a level: read as 1.`),
          );
      }
      item.parentKey = indent > 1 ? (parents[indent - 2] ?? null) : null;
      parents.length = indent - 1;
      parents.push(item.key);

      const date = cell("DATE").trim();
      if (date) {
        const zoneCell = cell("TIMEZONE").trim();
        const zone = zoneCell && isValidTimeZone(zoneCell) ? zoneCell : context.zone;
        const language = cell("DATE_LANG").trim() || "en";
        if (!readsLanguage(language)) {
          said.push(
            problem(
              { ...place, field: "DATE" },
              `Dates in language ${quote(language)} cannot be read: imported without a due date.`,
            ),
          );
        } else {
          item.dueAt = dates.parse(date, zone, language);
          if (item.dueAt === null)
            said.push(problem({ ...place, field: "DATE" }, unreadDate(date, dates.skipped)));
          else if (REPEATING.test(date))
            said.push(
              problem({ ...place, field: "DATE" }, `${quote(date)} repeats: only its next date is imported.`),
            );
        }
      }

      const duration = cell("DURATION").trim();
      if (duration) {
        const unit = cell("DURATION_UNIT").trim().toLowerCase() || "minute";
        const n = Number(duration);
        if (!Number.isFinite(n) || n < 0)
          said.push(
            problem(
              { ...place, field: "DURATION" },
              `DURATION ${quote(duration)} is not a number: no estimate.`,
            ),
          );
        else if (unit === "minute" || unit === "minutes") item.estimatedMinutes = n;
        else
          said.push(
            problem(
              { ...place, field: "DURATION_UNIT" },
              `A duration in ${short(unit)}s is a span of days, not an estimate: not kept.`,
            ),
          );
      }
      pending = { item, said };
    }
    if (pending) {
      yield* pending.said;
      yield* eventsOfDraft(pending.item);
    }
  },
};
