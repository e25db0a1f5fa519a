import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text } from "drizzle-orm/sqlite-core";

/** The apps a file can come from; "export" is a restore of this platform's own export (imports/restore). */
export const IMPORT_SOURCES = ["todoist", "ticktick", "trello", "csv", "export"] as const;
export const IMPORT_STATUSES = ["previewed", "queued", "running", "completed", "failed"] as const;
/**
 * A row's statuses: the ones a person sees, and two never shown: `uploading`, the row an upload writes
 * before it stores anything in R2 (housekeeping deletes it and its files when the upload died half-way),
 * and `discarding`, a restore discarded whose staging was too large to erase in the request: the imports
 * queue erases the rest in bounded deliveries, then deletes the row (restore/discarding.ts).
 */
export const IMPORT_ROW_STATUSES = ["uploading", ...IMPORT_STATUSES, "discarding"] as const;
export const IMPORT_MODES = ["merge", "replace"] as const;
/** What became of one item of a file: a new task, or an existing one it matched (merge). */
export const IMPORT_OUTCOMES = ["created", "duplicate"] as const;

export type ImportSourceName = (typeof IMPORT_SOURCES)[number];
export type ImportStatus = (typeof IMPORT_STATUSES)[number];
export type ImportRowStatus = (typeof IMPORT_ROW_STATUSES)[number];
export type ImportMode = (typeof IMPORT_MODES)[number];
export type ImportOutcome = (typeof IMPORT_OUTCOMES)[number];

/**
 * One uploaded file and the job that brings it in (features/imports). The file itself lives in R2 at
 * `file_key` (under `imports/<user_id>/<id>/`) until the import is done or discarded. `items_done` is
 * the commit's cursor: how many of the file's items are written, advanced in the same D1 batch as the
 * rows of each chunk, so a retried chunk resumes exactly there.
 */
export const imports = sqliteTable(
  "imports",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    source: text("source", { enum: IMPORT_SOURCES }).notNull(),
    status: text("status", { enum: IMPORT_ROW_STATUSES }).notNull().default("previewed"),
    mode: text("mode", { enum: IMPORT_MODES }),
    /** The R2 object of the upload; null once it is deleted. */
    fileKey: text("file_key"),
    /**
     * Items per part of the normalised items the preview wrote to R2 (`imports/<user_id>/<id>/items/`,
     * NDJSON): the commit reads part ⌊cursor / part_items⌋ directly instead of the whole file again.
     * Null when no parts were written (a source whose commit reads the upload itself).
     */
    partItems: integer("part_items"),
    /**
     * The ordinal of each part's first item: parts are cut by size as well as by `part_items` items, so
     * a part of long items stays small in memory. Null for parts of exactly `part_items` items each.
     */
    partStarts: text("part_starts", { mode: "json" }).$type<number[]>(),
    /**
     * Times housekeeping re-sent the queue message of a job that stopped moving (reset by each chunk
     * written); past a few, the job is failed and what it staged erased.
     */
    resends: integer("resends").notNull().default(0),
    fileBytes: integer("file_bytes").notNull(),
    /** The generic CSV source's column mapping, as sent. */
    mapping: text("mapping", { mode: "json" }).$type<Record<string, string>>(),
    /** The zone dates without one are read in: the user's when the file was previewed. */
    timezone: text("timezone").notNull(),
    /** The preview answered at upload (counts, first items, problems, duplicates). */
    preview: text("preview", { mode: "json" }).notNull(),
    itemsTotal: integer("items_total").notNull(),
    itemsDone: integer("items_done").notNull().default(0),
    result: text("result", { mode: "json" }),
    error: text("error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    committedAt: text("committed_at"),
    completedAt: text("completed_at"),
    /**
     * When housekeeping discards it: a preview or a failed job (with its file and the rows it staged)
     * 24 hours after it was last touched; a completed job only loses its file.
     */
    expiresAt: text("expires_at"),
  },
  (t) => [
    index("imports_user").on(t.userId, t.id),
    index("imports_expiry").on(t.expiresAt).where(sql`${t.expiresAt} IS NOT NULL`),
    // The stale-job sweep: queued or running jobs by when they last moved.
    index("imports_active").on(t.updatedAt).where(sql`${t.status} IN ('queued', 'running')`),
    check(
      "imports_status_check",
      sql`${t.status} IN ('uploading','previewed','queued','running','completed','failed','discarding')`,
    ),
    check("imports_items_check", sql`${t.itemsDone} BETWEEN 0 AND ${t.itemsTotal}`),
  ],
);

/**
 * Every item a commit wrote, by import and `ref` (the id its task gets when it is created; sub-tasks
 * and dependencies name their parent by it, so a reference to an item of a later chunk resolves in the
 * final pass). `task_id` is the task the item is: `ref` itself, or the existing task a merge matched.
 * `external_id` is the app's own id for it, so importing the same export again skips what came in.
 */
export const importItems = sqliteTable(
  "import_items",
  {
    importId: text("import_id").notNull(),
    ref: text("ref").notNull(),
    userId: text("user_id").notNull(),
    source: text("source", { enum: IMPORT_SOURCES }).notNull(),
    externalId: text("external_id"),
    taskId: text("task_id").notNull(),
    outcome: text("outcome", { enum: IMPORT_OUTCOMES }).notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.importId, t.ref] }),
    // Serves both the duplicate check (user, source, external id) and erasing an account (user).
    index("import_items_user").on(t.userId, t.source, t.externalId),
    check("import_items_outcome_check", sql`${t.outcome} IN ('created','duplicate')`),
  ],
);
