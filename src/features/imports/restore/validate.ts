/**
 * The whole-file check of a restore, resumable: the same checks as the export's reader (readExport:
 * format, version, header before tables, known tables once each, every row of its table's shape, the
 * live state, the summary's counts) plus the restore's preflight (checks.ts), over a stream that may
 * start at a row boundary with the state an earlier delivery saved. A big file is thus checked over
 * several deliveries, each with a bounded amount of bytes (review item 3), and nothing is written
 * before the last of them has read the summary.
 */
import {
  type ExportSummary,
  ExportSummarySchema,
  exportedTable,
  type LiveSection,
  LiveSectionSchema,
  rowSchema,
} from "../../export/format";
import {
  checkedHeader,
  ExportFormatError,
  ExportScanner,
  endsHeader,
  scanExport,
  takeHeaderField,
} from "../../export/reader";
import { hasRowShape, keysOf, MAX_ROW_BYTES, rowBytes, rowProblem } from "./checks";

const sortedKeys = (keys: string) => keys.split(",").sort().join(",");

/** What a check keeps between deliveries (JSON in the import row). */
export interface CheckState {
  /** Byte just after the last row checked (0: from the start); `table` its table. */
  offset: number;
  table: string;
  counts: Record<string, number>;
  keys: Record<string, string>;
  header: boolean;
}

export const freshCheck = (): CheckState => ({ offset: 0, table: "", counts: {}, keys: {}, header: false });

export type CheckedItem =
  | { kind: "header"; account: Record<string, unknown> }
  | { kind: "row"; table: string; row: Record<string, unknown>; end: number }
  | { kind: "live"; live: LiveSection }
  | { kind: "summary"; summary: ExportSummary };

/** The scanner a check resumes with. */
export const scannerFor = (state: CheckState) =>
  state.table !== "" ? ExportScanner.resumingInTable(state.table, state.offset) : new ExportScanner();

/**
 * Checks the items of `stream` (which starts where `state` says), updating `state` after each row.
 * Throws ExportFormatError at the first problem.
 */
export async function* checkExport(
  stream: ReadableStream<Uint8Array>,
  state: CheckState,
): AsyncGenerator<CheckedItem> {
  const header: Record<string, unknown> = {};
  let live = false;
  for await (const item of scanExport(stream, scannerFor(state))) {
    if (takeHeaderField(item, header, state.header)) continue;
    if (!state.header && endsHeader(item)) {
      const { account } = checkedHeader(header);
      state.header = true;
      yield { kind: "header", account };
    }
    if (item.kind === "table") {
      if (!exportedTable(item.name)) throw new ExportFormatError(`Unknown table "${item.name}".`, item.name);
      if (state.counts[item.name] !== undefined)
        throw new ExportFormatError(`Table "${item.name}" appears twice.`, item.name);
      state.counts[item.name] = 0;
      continue;
    }
    if (item.kind === "row") {
      const n = (state.counts[item.table] ?? 0) + 1;
      state.counts[item.table] = n;
      const where = `${item.table}.${n}`;
      if (!hasRowShape(item.table, item.value)) {
        // The fast check said no: the table's zod schema says why.
        const parsed = rowSchema(item.table)?.safeParse(item.value);
        const issue = parsed?.success ? undefined : parsed?.error.issues[0];
        const at = issue?.path.length ? ` (${issue.path.join(".")})` : "";
        throw new ExportFormatError(
          `Row ${n} of table "${item.table}" is not valid${at}: ${issue?.message ?? "not an object of its columns"}.`,
          where,
        );
      }
      const row = item.value;
      const keys = Object.keys(row).join(",");
      const first = state.keys[item.table];
      if (first === undefined) state.keys[item.table] = keys;
      else if (first !== keys && sortedKeys(first) !== keysOf(row))
        throw new ExportFormatError(
          `Row ${n} of table "${item.table}" has other columns than its first row (every row of a table must have the same).`,
          where,
        );
      const end = item.end ?? state.offset;
      // Its bytes in the file (from the end of the row before): at least what D1 would store.
      if (end - state.offset > MAX_ROW_BYTES && rowBytes(row) > MAX_ROW_BYTES)
        throw new ExportFormatError(
          `Row ${n} of table "${item.table}" is larger than the ${MAX_ROW_BYTES.toLocaleString("en")} bytes a row may hold.`,
          where,
        );
      // After the size: a row too big for D1 is said as such, whatever else is wrong with it.
      const problem = rowProblem(item.table, row);
      if (problem)
        throw new ExportFormatError(`Row ${n} of table "${item.table}" is not valid: ${problem}.`, where);
      state.offset = end;
      state.table = item.table;
      yield { kind: "row", table: item.table, row, end };
      continue;
    }
    if (item.name === "live") {
      const parsed = LiveSectionSchema.safeParse(item.value);
      if (!parsed.success) throw new ExportFormatError("The live state is not valid.", "live");
      live = true;
      yield { kind: "live", live: parsed.data };
    } else if (item.name === "summary") {
      const parsed = ExportSummarySchema.safeParse(item.value);
      if (!parsed.success) throw new ExportFormatError("The summary is not valid.", "summary");
      for (const [table, n] of Object.entries(parsed.data.counts)) {
        if ((state.counts[table] ?? 0) !== n)
          throw new ExportFormatError(
            `Table "${table}" has ${state.counts[table] ?? 0} rows but the summary says ${n}: the file was altered or cut.`,
            table,
          );
      }
      for (const [table, n] of Object.entries(state.counts)) {
        if (parsed.data.counts[table] !== n)
          throw new ExportFormatError(`Table "${table}" is not in the summary's counts.`, table);
      }
      if (!live) throw new ExportFormatError("The live state is missing.", "live");
      yield { kind: "summary", summary: parsed.data };
      return;
    }
  }
  throw new ExportFormatError("The summary is missing: the file was cut short.", "summary");
}
