import type { CsvRecord } from "./csv";
import type { SourceProblem } from "./types";

/** A CSV file's header: cells read by column name. */
export class Columns {
  private readonly byName = new Map<string, number>();
  private readonly caseInsensitive: boolean;
  readonly names: string[];

  constructor(header: string[], caseInsensitive = false) {
    this.names = header.map((h) => h.trim());
    this.caseInsensitive = caseInsensitive;
    this.names.forEach((name, i) => {
      const key = this.keyOf(name);
      if (!this.byName.has(key)) this.byName.set(key, i);
    });
  }

  private keyOf(name: string) {
    return this.caseInsensitive ? name.trim().toLowerCase() : name.trim();
  }

  has(name: string): boolean {
    return this.byName.has(this.keyOf(name));
  }

  /** The cell of `name` in `record` ("" when the column or the cell is missing). */
  get(record: CsvRecord, name: string): string {
    const i = this.byName.get(this.keyOf(name));
    return i === undefined ? "" : (record.fields[i] ?? "");
  }
}

/**
 * Whether a record lines up with the header: a record with more filled cells than the header has
 * columns is a broken row (an unquoted comma shifted its cells: skipped). Missing trailing cells are
 * empty cells, in the last row too: spreadsheets leave them out when the file has no final line break
 * (`title,notes\nA,x\nB`). A file cut off mid-way shows as a quoted field that never closes (csv.ts);
 * one cut between unquoted cells cannot be told from a row with empty cells.
 */
export function misshapen(record: CsvRecord, columns: number): SourceProblem | null {
  const extra = record.fields.slice(columns).some((f) => f.trim() !== "");
  if (!extra) return null;
  return {
    row: record.row,
    line: record.line,
    message: `Row ${record.row} has ${record.fields.length} cells but the header has ${columns} (an unquoted comma?): skipped.`,
    skipped: true,
  };
}

/**
 * A last row with fewer cells than the header and no line break after it: read (its missing cells
 * empty, as spreadsheets write it), but said, since a file cut off between cells looks just like it.
 */
export function cutShort(record: CsvRecord, columns: number): SourceProblem | null {
  if (record.terminated || record.fields.length >= columns) return null;
  return {
    row: record.row,
    line: record.line,
    message: `The last row has ${record.fields.length} of the header's ${columns} cells and no line break after it: the rest are read as empty. If the file was cut off, export it again.`,
    skipped: false,
  };
}
