/**
 * TickTick's backup CSV (Settings → Account → Generate backup): a few lines about the file ("Date: …",
 * "Version: …", "Status: 0 Normal 1 Completed 2 Archived"), then the header "Folder Name","List Name",
 * "Title","Kind","Tags","Content","Is Check list","Start Date","Due Date","Reminder","Repeat","Priority",
 * "Status","Created Time","Completed Time","Order","Timezone","Is All Day","Is Floating","Column Name",
 * "Column Order","View Mode","taskId","parentId" and a row per task. What becomes of it:
 * - Priority 0 (none) and 3 → medium, 1 → low, 5 → high. Status 1 and 2 → completed (at Completed
 *   Time), -1 (won't do) → cancelled.
 * - A checklist's Content holds its items, one a line, "▪" done and "▫" open: they become micro-steps;
 *   other lines stay the description. Tags (comma-separated) and the list (but not the Inbox) become tags.
 * - Due Date is an instant; an all-day one is due at 23:59 on its date in the task's Timezone.
 * - taskId is kept (importing the same backup again skips what came in); parentId makes a sub-task.
 * - Notes (Kind NOTE) are not tasks: skipped.
 */

import type { TaskPriority } from "../../../db/schema/tasks";
import { isValidTimeZone } from "../../../lib/time";
import { isBlank, readCsv } from "./csv";
import { endOfLocalDayDue, parseInstant } from "./dates";
import { blankItem, eventsOfDraft, problem, quote, short, tagOf, tagsOfCell } from "./fields";
import { Columns, cutShort, misshapen } from "./table";
import { type ImportSource, type SourceEvent, SourceRefusal } from "./types";

const PRIORITIES: Record<string, TaskPriority> = { "0": "medium", "1": "low", "3": "medium", "5": "high" };
/** How far into the file the header may come (after the lines about the file). */
const MAX_PREAMBLE_RECORDS = 20;
const DONE_ITEM = /^\s*[▪■☑✔✓]\s*/u;
const OPEN_ITEM = /^\s*[▫□☐]\s*/u;

const isHeader = (fields: string[]) => {
  const names = new Set(fields.map((f) => f.trim()));
  return names.has("Title") && names.has("List Name");
};

export const ticktickSource: ImportSource = {
  async *read(text, context): AsyncGenerator<SourceEvent> {
    let columns: Columns | null = null;
    const seen = new Set<string>();
    for await (const record of readCsv(text, { delimiter: "," })) {
      if (!columns) {
        if (isHeader(record.fields)) columns = new Columns(record.fields);
        else if (record.row >= MAX_PREAMBLE_RECORDS) {
          throw new SourceRefusal(
            'This is not a TickTick backup: no header row naming "Title" and "List Name" in its first lines.',
            { row: record.row, line: record.line },
          );
        }
        continue;
      }
      if (isBlank(record)) continue;
      const place = { row: record.row, line: record.line };
      const broken = misshapen(record, columns.names.length);
      if (broken) {
        yield { kind: "problem", problem: broken };
        continue;
      }
      const cut = cutShort(record, columns.names.length);
      if (cut) yield { kind: "problem", problem: cut };
      const cell = (name: string) => (columns as Columns).get(record, name).trim();
      if (cell("Kind").toUpperCase() === "NOTE") {
        yield problem(place, "A note, not a task: skipped.", true);
        continue;
      }
      const taskId = cell("taskId");
      if (taskId && seen.has(taskId)) {
        yield problem(
          { ...place, field: "taskId" },
          `taskId ${short(taskId)} appears twice: this row is skipped.`,
          true,
        );
        continue;
      }
      if (taskId) seen.add(taskId);
      const item = blankItem(taskId ? `ticktick:${taskId}` : `row:${record.row}`, place);
      item.externalId = taskId || null;
      item.parentKey = cell("parentId") ? `ticktick:${cell("parentId")}` : null;
      item.title = cell("Title");

      const list = cell("List Name");
      const listTag = list && list.toLowerCase() !== "inbox" ? tagOf(list) : null;
      item.tags = [...(listTag ? [listTag] : []), ...tagsOfCell(cell("Tags"))];

      const content = (columns as Columns).get(record, "Content");
      const checklist =
        cell("Is Check list").toUpperCase() === "Y" || cell("Kind").toUpperCase() === "CHECKLIST";
      if (checklist) {
        const notes: string[] = [];
        for (const line of content.split("\n")) {
          if (DONE_ITEM.test(line)) item.steps.push({ description: line.replace(DONE_ITEM, ""), done: true });
          else if (OPEN_ITEM.test(line))
            item.steps.push({ description: line.replace(OPEN_ITEM, ""), done: false });
          else if (line.trim()) notes.push(line);
        }
        item.description = notes.join("\n") || null;
      } else item.description = content.trim() || null;

      const priority = cell("Priority");
      if (priority) {
        const mapped = PRIORITIES[priority];
        if (mapped) item.priority = mapped;
        else
          yield problem(
            { ...place, field: "Priority" },
            `Priority ${quote(priority)} is not 0, 1, 3 or 5: medium is used.`,
          );
      }

      const status = cell("Status");
      if (status === "1" || status === "2") item.status = "completed";
      else if (status === "-1") item.status = "cancelled";
      else if (status !== "" && status !== "0")
        yield problem(
          { ...place, field: "Status" },
          `Status ${quote(status)} is not 0, 1 or 2: the task is open.`,
        );

      const zoneCell = cell("Timezone");
      const zone = zoneCell && isValidTimeZone(zoneCell) ? zoneCell : context.zone;
      const due = cell("Due Date");
      if (due) {
        const instant = parseInstant(due, zone);
        const allDay = cell("Is All Day").toLowerCase() === "true";
        item.dueAt = instant && allDay ? endOfLocalDayDue(instant, zone, context.zone) : instant;
        if (item.dueAt === null)
          yield problem(
            { ...place, field: "Due Date" },
            `The due date ${quote(due)} could not be read: imported without one.`,
          );
      }
      if (cell("Repeat"))
        yield problem({ ...place, field: "Repeat" }, "The task repeats: only this occurrence is imported.");
      item.createdAt = cell("Created Time") ? parseInstant(cell("Created Time"), zone) : null;
      item.completedAt = cell("Completed Time") ? parseInstant(cell("Completed Time"), zone) : null;
      yield* eventsOfDraft(item);
    }
    if (!columns) {
      throw new SourceRefusal('This is not a TickTick backup: no header row naming "Title" and "List Name".');
    }
  },
};
