/**
 * The two serialisers: they walk the user's data in key order and write the file's text through a
 * PartWriter, updating the cursor before each piece of text, so that whenever a part is stored the
 * cursor says exactly what the stored bytes (and the carry after them) hold. They stop when the slice
 * asks (only ever right after a part was stored and the cursor saved).
 */
import type { ExportCursor } from "../../db/schema";
import { csvHeader, csvLine, stepRecord, taskRecord } from "./csv";
import { EXPORTED_TABLES, type LiveSection } from "./format";
import {
  CLOSE_TABLE_TEXT,
  headerText,
  openTableText,
  rowSerializer,
  rowText,
  trailerText,
} from "./json-document";
import { CSV_PAGE_TASKS, type KeyValue, keyPositions, pageRowsOf, readPage, readTaskPage } from "./pages";
import type { PartWriter } from "./part-writer";

export interface SerialContext {
  d1: D1Database;
  userId: string;
  cursor: ExportCursor;
  out: PartWriter;
  /** True once a part was stored and the slice is over its budget: stop here. */
  shouldStop: () => boolean;
  /** Counts D1 statements against the slice's budget. */
  statements: (n: number) => void;
}

export type SerialOutcome = "paused" | "done";

/**
 * Lets other work of the isolate in between pages: serialising a page is a few milliseconds of CPU with
 * no I/O, and locally (one workerd thread for the Worker, D1 and R2) a job would otherwise hold up every
 * request until its slice ends.
 */
const yieldToOthers = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

export const initialCursor = (): ExportCursor => ({
  phase: "body",
  section: 0,
  opened: false,
  after: null,
  sectionRows: 0,
  counts: {},
  rows: 0,
  bytes: 0,
  parts: [],
  carry: "",
});

export interface JsonStart {
  exportId: string;
  exportedAt: string;
  /** The users row without its credential; read only when the job starts (`fresh`). */
  account: () => Promise<Record<string, unknown>>;
  live: LiveSection;
  fresh: boolean;
}

export async function writeJson(ctx: SerialContext, start: JsonStart): Promise<SerialOutcome> {
  const c = ctx.cursor;
  const { out } = ctx;
  if (start.fresh) {
    await out.write(headerText(start.exportId, start.exportedAt, await start.account()));
    if (ctx.shouldStop()) return "paused";
  }
  while (c.phase === "body" && c.section < EXPORTED_TABLES.length) {
    const spec = EXPORTED_TABLES[c.section];
    if (!spec) break;
    if (!c.opened) {
      c.opened = true;
      c.after = null;
      c.sectionRows = 0;
      c.counts[spec.name] ??= 0;
      await out.write(openTableText(spec.name, c.section === 0));
      if (ctx.shouldStop()) return "paused";
    }
    const page = await readPage(ctx.d1, spec, ctx.userId, c.after);
    ctx.statements(1);
    await yieldToOthers();
    const serialize = rowSerializer(page.columns, spec.omit);
    const keyAt = keyPositions(page.columns, spec.key);
    for (const row of page.rows) {
      c.after = keyAt.map((i) => row[i] as KeyValue);
      c.sectionRows += 1;
      c.counts[spec.name] = (c.counts[spec.name] ?? 0) + 1;
      c.rows += 1;
      // Most rows store no part: no promise to wait for.
      const stored = out.write(rowText(serialize(row), c.sectionRows === 1));
      if (stored) await stored;
      if (ctx.shouldStop()) return "paused";
    }
    if (page.rows.length < pageRowsOf(spec)) {
      c.section += 1;
      c.opened = false;
      c.after = null;
      c.sectionRows = 0;
      await out.write(CLOSE_TABLE_TEXT);
      if (ctx.shouldStop()) return "paused";
    }
  }
  if (c.phase === "body") {
    c.phase = "end";
    await out.write(
      trailerText(
        start.live,
        c.counts,
        EXPORTED_TABLES.map((t) => t.name),
      ),
    );
  }
  return "done";
}

export async function writeCsv(ctx: SerialContext, fresh: boolean): Promise<SerialOutcome> {
  const c = ctx.cursor;
  const { out } = ctx;
  if (fresh) {
    await out.write(csvHeader());
    if (ctx.shouldStop()) return "paused";
  }
  while (c.phase === "body") {
    const page = await readTaskPage(ctx.d1, ctx.userId, String(c.after?.[0] ?? ""));
    ctx.statements(3);
    await yieldToOthers();
    for (const task of page.tasks) {
      const id = String(task.id);
      const steps = page.steps.get(id) ?? [];
      let text = csvLine(taskRecord(task, page.dependsOn.get(id) ?? []));
      for (const step of steps) text += csvLine(stepRecord(step));
      c.after = [id];
      c.sectionRows += 1;
      c.counts.tasks = (c.counts.tasks ?? 0) + 1;
      c.counts.steps = (c.counts.steps ?? 0) + steps.length;
      c.rows += 1 + steps.length;
      const stored = out.write(text);
      if (stored) await stored;
      if (ctx.shouldStop()) return "paused";
    }
    if (page.tasks.length < CSV_PAGE_TASKS) c.phase = "end";
  }
  return "done";
}
