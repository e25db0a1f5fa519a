/**
 * The pieces of the JSON document (format.ts), as text: the job writes them one after another, one row
 * per line, and never holds more than a row of the document at a time.
 */
import {
  EXCLUDED_TABLES,
  EXPORT_FORMAT,
  EXPORT_VERSION,
  type ExportSummary,
  type LiveSection,
} from "./format";

/** A row as D1 hands it over raw: values in the order of the statement's columns. */
export type RawRow = readonly unknown[];

/**
 * Turns raw rows of one statement into JSON objects keyed by column name, leaving out `omit`
 * (credential columns): the keys' text is built once per page, not once per row.
 */
export function rowSerializer(columns: readonly string[], omit: readonly string[] = []) {
  const kept = columns
    .map((name, index) => ({ index, prefix: `${JSON.stringify(name)}:` }))
    .filter((_, i) => !omit.includes(columns[i] ?? ""));
  return (row: RawRow): string => {
    let out = "{";
    for (let i = 0; i < kept.length; i++) {
      const column = kept[i] as (typeof kept)[number];
      if (i > 0) out += ",";
      out += column.prefix + JSON.stringify(row[column.index] ?? null);
    }
    return `${out}}`;
  };
}

/** The document up to the opening of "tables". */
export function headerText(exportId: string, exportedAt: string, account: Record<string, unknown>): string {
  const head = {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    export_id: exportId,
    exported_at: exportedAt,
  };
  return `${JSON.stringify(head).slice(0, -1)},\n"account":${JSON.stringify(account)},\n"tables":{`;
}

/** Opens a table's array (a comma before it unless it is the first). */
export const openTableText = (name: string, first: boolean) =>
  `${first ? "" : ","}\n${JSON.stringify(name)}:[`;

/** One row of a table's array (a comma before it unless it is the table's first). */
export const rowText = (json: string, first: boolean) => `${first ? "" : ","}\n${json}`;

export const CLOSE_TABLE_TEXT = "\n]";

/** Closes "tables" and writes the live state and the summary. */
export function trailerText(live: LiveSection, counts: Record<string, number>, tables: string[]): string {
  const rows = Object.values(counts).reduce((sum, n) => sum + n, 0);
  const summary: ExportSummary = { rows, counts, tables, excluded: { ...EXCLUDED_TABLES } };
  return `\n},\n"live":${JSON.stringify(live)},\n"summary":${JSON.stringify(summary)}}\n`;
}
