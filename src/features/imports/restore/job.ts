/**
 * The commit of a restore (source=export), run by the imports queue like any import but with its own
 * writer: every exported table, in EXPORTED_TABLES order (parents first), rows mapped to the account
 * (rows.ts) and written in chunks, each chunk in ONE batch with the advance of the import's cursor
 * (`items_done`: rows of the file written), so a crash or a retry resumes exactly there.
 *
 * Phases: (1) a file not yet checked whole (one too big to check in the upload's request) is read to
 * its end and checked first — a corrupted file fails the job before anything is written; (2) the
 * rows; (3) at the document's end: the pet and focus timer restored in their Durable Objects, then one
 * batch that (replace) deletes the account's live tasks, shows the restored ones (written hidden),
 * sets the XP totals from the ledger and marks the job completed; then the leaderboards get the user's
 * new standing. Until that batch no restored task shows; other tables' rows appear as they are written
 * and are idempotent by their deterministic ids (ids.ts), so a stopped job resumed writes nothing twice.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { imports } from "../../../db/schema";
import type { Env } from "../../../env";
import { abortIf, D1Batch, isGuardAbort, rawStatement } from "../../../lib/batch";
import { randomToken } from "../../../lib/ids";
import { nowIso } from "../../../lib/time";
import type { LiveSection } from "../../export/format";
import { ExportFormatError, readExport } from "../../export/reader";
import { pushScores } from "../../gamification/leaderboard";
import { deleteLiveTasks } from "../../tasks/bulk-statements";
import type { ImportMessage } from "../messages";
import { ImportFailure, type RunOptions, type RunOutcome } from "../pipeline";
import type { ImportRow } from "../queries";
import { idMapper } from "./ids";
import { restoreLive } from "./live";
import { restoreMetaOf } from "./meta";
import { ledgerTotals, progressFromLedger } from "./progress";
import { restoredRow } from "./rows";
import { restoreItems, YIELD_EVERY_ROWS } from "./stream";
import { insertRows } from "./write";

/** Rows written per batch (each with the cursor's advance). */
export const RESTORE_CHUNK_ROWS = 2_000;

interface FileRow {
  table: string;
  row: Record<string, unknown>;
  /** The byte just after the row in the file: where the next delivery resumes. */
  end: number;
}

const gone = (): ImportFailure =>
  new ImportFailure("The export file is no longer stored (it expired or was deleted); export again.");

/** The stored file, as one stream from its start. */
async function fileOf(files: R2Bucket, key: string): Promise<ReadableStream<Uint8Array>> {
  const object = await files.get(key);
  if (!object) throw gone();
  return object.body;
}

/** Reads the whole file through the checks (nothing written): a corrupted file fails the job here. */
async function validate(db: Database, files: R2Bucket, row: ImportRow, key: string): Promise<void> {
  try {
    let read = 0;
    for await (const _ of readExport(await fileOf(files, key))) {
      // Every item is checked as it is read; the summary (last) checks the counts. Other requests
      // share the isolate: a buffered stream resolves without giving the event loop a turn.
      read += 1;
      if (read % YIELD_EVERY_ROWS === 0) await new Promise((resolve) => setTimeout(resolve, 0));
    }
  } catch (error) {
    if (error instanceof ExportFormatError)
      throw new ImportFailure(`The export file is not valid: ${error.message}`);
    throw error;
  }
  await db
    .update(imports)
    .set({ mapping: { ...(row.mapping ?? {}), validated: "1" }, updatedAt: nowIso() })
    .where(eq(imports.id, row.id));
}

const hiddenAtOf = (row: ImportRow) => row.createdAt;

async function writeChunk(
  db: Database,
  row: ImportRow,
  chunk: readonly FileRow[],
  from: number,
  mapper: ReturnType<typeof idMapper>,
): Promise<boolean> {
  const context = {
    userId: row.userId,
    mapper,
    hiddenAt: hiddenAtOf(row),
    newCode: () => randomToken(9),
  };
  const batch = new D1Batch();
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running' AND items_done = ${from})`,
    ),
  );
  const mode = row.mode ?? "merge";
  let run: Record<string, unknown>[] = [];
  let table = "";
  for (const item of chunk) {
    if (item.table !== table) {
      batch.addAll(insertRows(db, table, run, mode));
      run = [];
      table = item.table;
    }
    const restored = await restoredRow(item.table, item.row, context);
    if (restored) run.push(restored);
  }
  batch.addAll(insertRows(db, table, run, mode));
  const last = chunk.at(-1);
  batch.add(
    db
      .update(imports)
      .set({
        itemsDone: from + chunk.length,
        mapping: sql`json_set(${imports.mapping}, '$.offset', ${String(last?.end ?? 0)}, '$.table', ${last?.table ?? ""})`,
        updatedAt: nowIso(),
      })
      .where(and(eq(imports.id, row.id), eq(imports.itemsDone, from))),
  );
  try {
    await batch.run(db);
    return true;
  } catch (error) {
    if (isGuardAbort(error)) return false;
    throw error;
  }
}

async function finish(
  env: Env,
  db: Database,
  row: ImportRow,
  live: LiveSection,
  mapper: ReturnType<typeof idMapper>,
  tasksInFile: number,
): Promise<RunOutcome> {
  const notes = await restoreLive(env, row.userId, live, mapper);
  const now = Date.now();
  const at = nowIso(now);
  const hiddenAt = hiddenAtOf(row);
  const totals = await ledgerTotals(db, row.userId, now);
  const staged = sql`(SELECT id FROM tasks WHERE user_id = ${row.userId} AND deleted_at = ${hiddenAt})`;
  const profile = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM social_profiles WHERE user_id = ${row.userId}`,
  );
  if (!profile?.n && row.preview && JSON.stringify(row.preview).includes('"social_profiles":1')) {
    notes.push(
      "The public profile was not restored: its handle belongs to someone else now. Choose a new one.",
    );
  }
  const result = sql`json_object(
    'created', (SELECT count(*) FROM tasks WHERE user_id = ${row.userId} AND deleted_at = ${hiddenAt}),
    'skipped_duplicates', max(0, ${tasksInFile} - (SELECT count(*) FROM tasks WHERE user_id = ${row.userId} AND deleted_at = ${hiddenAt})),
    'replaced', ${row.mode === "replace" ? sql`(SELECT count(*) FROM tasks WHERE user_id = ${row.userId} AND deleted_at IS NULL)` : 0},
    'steps', (SELECT count(*) FROM micro_steps WHERE user_id = ${row.userId} AND task_id IN ${staged}),
    'notes', json(${JSON.stringify(notes)}))`;
  const batch = new D1Batch();
  batch.add(abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running')`));
  batch.add(
    db
      .update(imports)
      .set({
        status: "completed",
        itemsDone: row.itemsTotal,
        result: sql`${result}`,
        completedAt: at,
        updatedAt: at,
        expiresAt: at,
      })
      .where(and(eq(imports.id, row.id), eq(imports.status, "running"))),
  );
  if (row.mode === "replace") batch.add(deleteLiveTasks(db, row.userId, at));
  batch.add(
    rawStatement(
      db,
      sql`UPDATE tasks SET deleted_at = NULL, updated_at = ${at} WHERE user_id = ${row.userId} AND deleted_at = ${hiddenAt}`,
    ),
  );
  batch.add(progressFromLedger(db, row.userId, totals, now));
  try {
    await batch.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return { kind: "gone" };
    throw error;
  }
  // The boards take the new standing (opted-in users only); a board missed here is mended by the next change.
  await pushScores(env, db, [row.userId]).catch((error) =>
    console.error(
      JSON.stringify({ level: "error", message: "restore: leaderboards not updated", error: String(error) }),
    ),
  );
  return { kind: "done", events: [] };
}

function log(importId: string, phase: "checked" | "rows", rows: number, started: number) {
  console.log(
    JSON.stringify({
      level: "info",
      message: "restore delivery",
      import_id: importId,
      phase,
      rows,
      ms: Date.now() - started,
    }),
  );
}

/** Where a restore reads its file: the upload, or the export a signed link named. */
export const restoreFileKey = (row: ImportRow) =>
  row.fileKey ?? (row.mapping as { file?: string } | null)?.file;

/**
 * Goes on with a restore from its cursor; null when the import is not a restore (the pipeline's).
 */
export async function runRestore(
  env: Env,
  db: Database,
  message: ImportMessage,
  options: RunOptions = {},
): Promise<RunOutcome | null> {
  const started = Date.now();
  const row = await db
    .select()
    .from(imports)
    .where(and(eq(imports.id, message.import_id), eq(imports.userId, message.user_id)))
    .get();
  if (row?.source !== "export") return null;
  if (row.status !== "queued" && row.status !== "running") return { kind: "gone" };
  if (row.status === "queued") {
    await db
      .update(imports)
      .set({ status: "running", updatedAt: nowIso() })
      .where(and(eq(imports.id, row.id), eq(imports.status, "queued")));
    row.status = "running";
  }
  const key = restoreFileKey(row);
  if (!key) throw gone();
  const meta = restoreMetaOf(row);
  if (meta.validated !== "1") {
    await validate(db, env.FILES, row, key);
    log(row.id, "checked", 0, started);
    return { kind: "more" };
  }
  const mapper = idMapper(row.userId, meta.account_id);
  const size = options.chunkItems ?? RESTORE_CHUNK_ROWS;
  const maxChunks = options.maxChunks ?? Number.POSITIVE_INFINITY;
  const budget = options.budgetMs ?? 30_000;
  let from = row.itemsDone;
  const saved = row.mapping as { offset?: string; table?: string } | null;
  const resume =
    from > 0 && saved?.offset && saved.table ? { table: saved.table, offset: Number(saved.offset) } : null;
  // A cursor without an offset (none yet) is resumed by counting rows from the start.
  let ordinal = resume ? from : 0;
  const preview = row.preview as { counts?: { tasks?: number; tables?: Record<string, number> } } | null;
  const tasksInFile = preview?.counts?.tables?.tasks ?? preview?.counts?.tasks ?? 0;
  let chunks = 0;
  let live: LiveSection | null = null;
  let chunk: FileRow[] = [];
  const flush = async () => {
    if (chunk.length === 0) return true;
    await options.beforeChunk?.({ importId: row.id, from, size: chunk.length });
    if (!(await writeChunk(db, row, chunk, from, mapper))) return false;
    from += chunk.length;
    chunk = [];
    chunks += 1;
    return true;
  };
  try {
    for await (const item of restoreItems(env.FILES, key, resume, meta.validated === "1")) {
      if (item.kind === "live") live = item.live;
      if (item.kind === "end") {
        if (!(await flush())) return { kind: "gone" };
        if (!live) throw new ImportFailure("The export file has no live state.");
        log(row.id, "rows", from - row.itemsDone, started);
        return await finish(env, db, row, live, mapper, tasksInFile);
      }
      if (item.kind !== "row") continue;
      ordinal += 1;
      if (ordinal <= from) continue;
      chunk.push({ table: item.table, row: item.row, end: item.end });
      if (chunk.length < size) continue;
      if (!(await flush())) return { kind: "gone" };
      if (chunks >= maxChunks || Date.now() - started > budget) {
        log(row.id, "rows", from - row.itemsDone, started);
        return { kind: "more" };
      }
    }
  } catch (error) {
    if (error instanceof ExportFormatError)
      throw new ImportFailure(`The export file is not valid: ${error.message}`);
    throw error;
  }
  if (!(await env.FILES.head(key))) throw gone();
  throw new ImportFailure("The export file ended before its summary.");
}
