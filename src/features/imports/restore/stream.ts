/**
 * The restore's reader of an export: the rows of every table, the live state, then the end — from the
 * start of the file, or from a row boundary (an R2 range read from the byte offset just after a row,
 * the scanner restarted "inside tables.<name>, after a row"), so a delivery never reads again what an
 * earlier one wrote. Rows are checked against their table's shape as they are read; the header and the
 * summary's counts were checked whole before (the preview, or the job's first phase).
 */
import { type LiveSection, LiveSectionSchema, rowSchema } from "../../export/format";
import { ExportFormatError, ExportScanner, scanExport } from "../../export/reader";

export type RestoreItem =
  | { kind: "row"; table: string; row: Record<string, unknown>; end: number }
  | { kind: "live"; live: LiveSection }
  | { kind: "end" };

/** Where a delivery resumes: the table and the byte just after the last row written. */
export interface ResumePoint {
  table: string;
  offset: number;
}

/** Rows read between two turns given back to the event loop (other requests share the isolate). */
export const YIELD_EVERY_ROWS = 1_000;

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * `checked`: the file was read whole and checked already (the preview, or the job's first phase),
 * so rows are not checked again — an export file in R2 never changes.
 */
export async function* restoreItems(
  files: R2Bucket,
  key: string,
  from: ResumePoint | null,
  checked = false,
): AsyncGenerator<RestoreItem> {
  const object = from ? await files.get(key, { range: { offset: from.offset } }) : await files.get(key);
  if (!object) return;
  const scanner = from ? ExportScanner.resumingInTable(from.table, from.offset) : new ExportScanner();
  const counts = new Map<string, number>();
  let read = 0;
  for await (const item of scanExport(object.body, scanner)) {
    if (item.kind === "row") {
      read += 1;
      if (read % YIELD_EVERY_ROWS === 0) await yieldToEventLoop();
      const n = (counts.get(item.table) ?? 0) + 1;
      counts.set(item.table, n);
      if (checked) {
        yield {
          kind: "row",
          table: item.table,
          row: item.value as Record<string, unknown>,
          end: item.end ?? 0,
        };
        continue;
      }
      const parsed = rowSchema(item.table)?.safeParse(item.value);
      if (!parsed?.success)
        throw new ExportFormatError(`A row of table "${item.table}" is not valid.`, `${item.table}.${n}`);
      yield { kind: "row", table: item.table, row: parsed.data, end: item.end ?? 0 };
    } else if (item.kind === "field" && item.name === "live") {
      const parsed = LiveSectionSchema.safeParse(item.value);
      if (!parsed.success) throw new ExportFormatError("The live state is not valid.", "live");
      yield { kind: "live", live: parsed.data };
    } else if (item.kind === "field" && item.name === "summary") {
      yield { kind: "end" };
      return;
    }
  }
}
