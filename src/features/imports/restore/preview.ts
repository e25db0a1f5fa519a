/**
 * The preview of a restore: what the export holds, table by table, its first tasks as they would be
 * restored, and (merge) the tasks the account has already. A file up to VALIDATE_INLINE_BYTES is read
 * whole and checked here, so a corrupted one is refused (422) before anything is stored for good; a
 * bigger one is read only at its head (header, first tasks) and its tail (the summary's counts), and
 * the job's first phase checks it whole before writing anything.
 */
import { sql } from "drizzle-orm";
import type { Database } from "../../../db";
import { type ExportSummary, ExportSummarySchema } from "../../export/format";
import { ExportFormatError } from "../../export/reader";
import { FIRST_ITEMS, MAX_LISTED } from "../limits";
import { fitPreview } from "../preview";
import type { ImportDuplicateDto, ImportItemDto, ImportPreviewDto, ImportProblemDto } from "../schemas";
import { type IdMapper, idMapper } from "./ids";
import { ledgerRefusal } from "./ledger";
import { checkExport, freshCheck } from "./validate";

/** Files up to this size are checked whole in the upload's request; bigger ones by the job. */
export const VALIDATE_INLINE_BYTES = 16 * 1024 * 1024;
/** Tasks whose ids are looked up for duplicates (the count covers those). */
export const DUPLICATE_LOOKUP_TASKS = 20_000;
/** The tail read for a big file's summary. */
const TAIL_BYTES = 64 * 1024;

export interface RestoreScan {
  accountId: string;
  preview: ImportPreviewDto;
  rows: number;
  validated: boolean;
}

const ITEM_STATUSES = new Set(["completed", "cancelled"]);

function tagsOf(value: unknown): string[] {
  if (typeof value !== "string") return [];
  try {
    const parsed = JSON.parse(value) as unknown;
    return Array.isArray(parsed) ? parsed.filter((t): t is string => typeof t === "string") : [];
  } catch {
    return [];
  }
}

/** An exported task as the preview shows it. */
export function itemOf(row: Record<string, unknown>, n: number): ImportItemDto {
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  const status = String(row.status ?? "pending");
  return {
    key: String(row.id),
    external_id: String(row.id),
    field: `tables.tasks[${n - 1}]`,
    title: String(row.title ?? ""),
    description: str(row.description),
    status: ITEM_STATUSES.has(status) ? (status as "completed" | "cancelled") : "pending",
    priority: (str(row.priority) ?? "medium") as ImportItemDto["priority"],
    due_at: str(row.due_at),
    tags: tagsOf(row.tags),
    estimated_minutes: typeof row.estimated_minutes === "number" ? row.estimated_minutes : null,
    parent_key: str(row.parent_task_id),
    depends_on: [],
    steps: [],
    created_at: str(row.created_at),
    completed_at: str(row.completed_at),
  };
}

export class RestoreRefusal extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

const refusal = (error: ExportFormatError) =>
  new RestoreRefusal(`The export file is not valid: ${error.message}`, error.field ?? "file");

interface Collected {
  accountId: string;
  first: ImportItemDto[];
  tasks: { id: string; title: string; n: number }[];
  completed: number;
  tags: Set<string>;
  summary: ExportSummary | null;
  /** Rows that will not be restored (XP no rule pays: ledger.ts), the first MAX_LISTED of them. */
  problems: ImportProblemDto[];
  problemCount: number;
}

async function collect(stream: ReadableStream<Uint8Array>, whole: boolean): Promise<Collected> {
  const out: Collected = {
    accountId: "",
    first: [],
    tasks: [],
    completed: 0,
    tags: new Set(),
    summary: null,
    problems: [],
    problemCount: 0,
  };
  let ledgerRows = 0;
  let n = 0;
  const items = checkExport(stream, freshCheck());
  try {
    for await (const item of items) {
      if (item.kind === "header") out.accountId = String(item.account.id ?? "");
      if (item.kind === "summary") out.summary = item.summary;
      if (item.kind !== "row") continue;
      if (item.table === "xp_ledger") {
        const reason = ledgerRefusal(item.row);
        if (reason !== null) {
          out.problemCount += 1;
          if (out.problems.length < MAX_LISTED)
            out.problems.push({ field: `tables.xp_ledger[${ledgerRows}]`, message: reason, skipped: true });
        }
        ledgerRows += 1;
      }
      if (item.table !== "tasks") {
        if (!whole) break;
        continue;
      }
      n += 1;
      if (out.first.length < FIRST_ITEMS) out.first.push(itemOf(item.row, n));
      if (out.tasks.length < DUPLICATE_LOOKUP_TASKS)
        out.tasks.push({ id: String(item.row.id), title: String(item.row.title), n });
      if (item.row.status === "completed") out.completed += 1;
      for (const tag of tagsOf(item.row.tags)) out.tags.add(tag);
      if (!whole && n >= FIRST_ITEMS) break;
    }
  } catch (error) {
    if (error instanceof ExportFormatError) throw refusal(error);
    throw error;
  } finally {
    await items.return(undefined);
  }
  return out;
}

/** A big file's summary, from its tail: the counts the preview shows before the job checks them. */
async function tailSummary(files: R2Bucket, key: string, size: number): Promise<ExportSummary> {
  const object = await files.get(key, { range: { offset: Math.max(0, size - TAIL_BYTES) } });
  const text = object ? await object.text() : "";
  const at = text.lastIndexOf('"summary"');
  const cut = new RestoreRefusal(
    "The export file is not valid: its summary is missing (the file was cut short).",
    "summary",
  );
  if (at < 0) throw cut;
  const value = text
    .slice(text.indexOf(":", at) + 1)
    .trim()
    .replace(/}\s*$/, "");
  try {
    const parsed = ExportSummarySchema.safeParse(JSON.parse(value));
    if (parsed.success) return parsed.data;
  } catch {
    // Falls through to the refusal.
  }
  throw cut;
}

/** Tasks of the file the account has already (merge skips them): by their restored ids. */
async function duplicatesOf(
  db: Database,
  userId: string,
  mapper: IdMapper,
  tasks: Collected["tasks"],
): Promise<{ count: number; listed: ImportDuplicateDto[] }> {
  const mapped = await Promise.all(tasks.map(async (t) => ({ ...t, restored: await mapper.map(t.id) })));
  // Deleted ones too (review3 H1): the restore brings those back, and its result counts them here.
  const existing = new Map<string, boolean>();
  for (let i = 0; i < mapped.length; i += 5_000) {
    const ids = JSON.stringify(mapped.slice(i, i + 5_000).map((t) => t.restored));
    const rows = await db.all<{ id: string; deleted: number }>(
      sql`SELECT id, deleted_at IS NOT NULL AS deleted FROM tasks WHERE user_id = ${userId} AND id IN (SELECT value FROM json_each(${ids}))`,
    );
    for (const row of rows) existing.set(row.id, row.deleted === 1);
  }
  const found = mapped.filter((t) => existing.has(t.restored));
  return {
    count: found.length,
    listed: found.slice(0, MAX_LISTED).map((t) => ({
      field: `tables.tasks[${t.n - 1}]`,
      key: t.id,
      title: t.title,
      matches_task_id: t.restored,
      deleted_since: existing.get(t.restored) === true,
    })),
  };
}

/** Said in the preview of an uploaded file of the caller's own account (review3 L2). */
export const OWN_EXPORT_NOTE =
  "This is your own export: restoring it by its download link keeps its ids and copies nothing; uploaded, every task is copied under new ids.";

/**
 * An uploaded file whose account is the caller's: a merge copies every row (and its XP) under new ids,
 * while the same export by its link would keep them. The file's word is enough to warn, never to keep ids.
 */
const ownExportNote = (accountId: string, userId: string, identity: boolean): ImportProblemDto[] =>
  accountId === userId && !identity
    ? [{ field: "account.id", message: OWN_EXPORT_NOTE, skipped: false }]
    : [];

/** Reads the stored file for the preview. */
export async function scanRestore(
  db: Database,
  files: R2Bucket,
  userId: string,
  key: string,
  size: number,
  identity: boolean,
): Promise<RestoreScan> {
  const object = await files.get(key);
  if (!object) throw new RestoreRefusal("The export file is not stored.", "file");
  const whole = size <= VALIDATE_INLINE_BYTES;
  const found = await collect(object.body, whole);
  const summary = found.summary ?? (await tailSummary(files, key, size));
  const counts = summary.counts;
  const duplicates = await duplicatesOf(db, userId, idMapper(userId, identity), found.tasks);
  const notes = ownExportNote(found.accountId, userId, identity);
  return {
    accountId: found.accountId,
    rows: summary.rows,
    validated: whole,
    // Within what D1 stores (review3 M4): a big file's first tasks are not checked yet, and may carry
    // descriptions of megabytes; `truncated` says the lists were shortened.
    preview: fitPreview({
      counts: {
        tasks: counts.tasks ?? 0,
        steps: counts.micro_steps ?? 0,
        tags: found.tags.size,
        completed: found.completed,
        skipped: 0,
        duplicates: duplicates.count,
        problems: found.problemCount + notes.length,
        tables: counts,
      },
      first_items: found.first,
      problems: [...notes, ...found.problems].slice(0, MAX_LISTED),
      duplicates: duplicates.listed,
      truncated: false,
    }),
  };
}
