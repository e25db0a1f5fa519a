/**
 * The CSV export's text (RFC 4180): UTF-8 with a byte order mark, because Excel reads a CSV without
 * one in the machine's legacy code page and garbles every accent and emoji, while Google Sheets,
 * Numbers and LibreOffice all take the BOM in stride; CRLF line ends; a field quoted when it holds a
 * comma, a quote or a line break. Text that a spreadsheet would run as a formula (starting with =, +,
 * -, @, tab or carriage return: titles may come from agents, imports and calendars) starts with an
 * apostrophe, the usual guard (OWASP, "CSV injection").
 *
 * The guard cannot be undone: a title that really began with an apostrophe ('=x) and a guarded one
 * (=x) read the same. So the CSV is for spreadsheets and people, never for a restore: the JSON
 * document is the restore format (it holds every value as stored).
 */
import { CSV_COLUMNS, type CsvColumn } from "./format";

export const CSV_BOM = "\uFEFF";
const LINE_END = "\r\n";

/** Columns of free text, where a formula could hide. */
const TEXT_COLUMNS = new Set<CsvColumn>(["title", "description", "tags", "short_label", "assigned_to"]);
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

export function csvField(value: unknown, column: CsvColumn): string {
  if (value === null || value === undefined) return "";
  let text = typeof value === "string" ? value : String(value);
  if (TEXT_COLUMNS.has(column) && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export type CsvRecord = Partial<Record<CsvColumn, unknown>>;

export function csvLine(record: CsvRecord): string {
  return CSV_COLUMNS.map((column) => csvField(record[column], column)).join(",") + LINE_END;
}

export const csvHeader = () => CSV_BOM + CSV_COLUMNS.join(",") + LINE_END;

/** A task's tags as stored (a JSON array) for a cell: "home, health". */
export function tagsCell(stored: unknown): string {
  if (typeof stored !== "string") return "";
  try {
    const tags: unknown = JSON.parse(stored);
    return Array.isArray(tags) ? tags.map(String).join(", ") : "";
  } catch {
    return "";
  }
}

/** A stored task row (DB column names) as the CSV's task line. */
export function taskRecord(task: Record<string, unknown>, dependsOn: readonly string[]): CsvRecord {
  return {
    type: "task",
    task_id: task.id,
    title: task.title,
    description: task.description,
    status: task.status,
    priority: task.priority,
    category: task.category,
    tags: tagsCell(task.tags),
    estimated_minutes: task.estimated_minutes,
    actual_minutes: task.actual_minutes,
    due_at: task.due_at,
    completed_at: task.completed_at,
    created_at: task.created_at,
    updated_at: task.updated_at,
    parent_task_id: task.parent_task_id,
    depends_on: dependsOn.join(" "),
    delegation_mode: task.delegation_mode,
    assigned_to: task.assigned_to,
  };
}

/** A stored step row as the CSV's step line, under its task. */
export function stepRecord(step: Record<string, unknown>): CsvRecord {
  return {
    type: "step",
    task_id: step.task_id,
    step_id: step.id,
    step_number: step.position,
    title: step.description,
    status: step.status,
    estimated_minutes: step.estimated_minutes,
    completed_at: step.completed_at,
    created_at: step.created_at,
    updated_at: step.updated_at,
    leaf_type: step.leaf_type,
    short_label: step.short_label,
  };
}
