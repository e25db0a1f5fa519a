import { sql } from "drizzle-orm";
import { check, index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const EXPORT_FORMATS = ["json", "csv"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EXPORT_STATUSES = ["queued", "running", "completed", "failed", "expired"] as const;
export type ExportStatus = (typeof EXPORT_STATUSES)[number];

/** One R2 part already uploaded: what completing the multipart upload needs. */
export interface UploadedPart {
  partNumber: number;
  etag: string;
}

/**
 * Where a running export stands, saved right after each uploaded part (and only then), so a retried
 * slice resumes from exactly the bytes R2 already holds: the serialiser's position (which section,
 * which table, the key of the last row written), the parts uploaded, and the bytes produced after
 * the last part (`carry`, base64: parts must all be the same size, so a part ends mid-row).
 */
export interface ExportCursor {
  /**
   * "body": the header and tables written so far; "end": everything written (the last bytes may still
   * be in `carry`); "sealed": every part stored and listed in `parts`, the upload only left to complete.
   */
  phase: "body" | "end" | "sealed";
  /** Index into the plan's sections (a table for JSON; the tasks for CSV). */
  section: number;
  /** Whether the section's opening (`"tasks":[`) has been written. */
  opened: boolean;
  /** The key of the last row written in the section (null before its first row). */
  after: (string | number)[] | null;
  /** Rows written in the section so far (the JSON separator depends on it). */
  sectionRows: number;
  /** Rows written per table (JSON) or per kind (CSV). */
  counts: Record<string, number>;
  rows: number;
  bytes: number;
  parts: UploadedPart[];
  carry: string;
}

/**
 * Account exports (BE-09): one row per export job. A Queue job writes the file in slices into R2
 * (`exports/<user_id>/<id>.json|.csv`); the row holds the cursor a slice resumes from, the lease that
 * keeps two deliveries of a slice apart, and the progress the status route shows.
 */
export const accountExports = sqliteTable(
  "exports",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    format: text("format", { enum: EXPORT_FORMATS }).notNull(),
    status: text("status", { enum: EXPORT_STATUSES }).notNull().default("queued"),
    r2Key: text("r2_key").notNull(),
    /** Counted when the job starts (null before); rows added while it runs may push `rows_written` past it. */
    rowsTotal: integer("rows_total"),
    rowsWritten: integer("rows_written").notNull().default(0),
    bytes: integer("bytes").notNull().default(0),
    cursor: text("cursor", { mode: "json" }).$type<ExportCursor>(),
    uploadId: text("upload_id"),
    /** The Durable Objects' live state, snapshotted when the job starts (JSON export only). */
    live: text("live", { mode: "json" }).$type<Record<string, unknown>>(),
    /** The slice the next queue message must carry: older messages are stale, and dropped. */
    slice: integer("slice").notNull().default(0),
    /** Which delivery holds the job, until when (ms since the epoch). */
    leaseId: text("lease_id"),
    leaseUntil: integer("lease_until"),
    error: text("error"),
    createdAt: text("created_at").notNull(),
    updatedAt: text("updated_at").notNull(),
    startedAt: text("started_at"),
    completedAt: text("completed_at"),
    expiresAt: text("expires_at"),
  },
  (t) => [
    index("exports_user").on(t.userId, t.id),
    // One export in progress per user: the database refuses a second, even from concurrent requests.
    uniqueIndex("exports_one_active").on(t.userId).where(sql`${t.status} IN ('queued', 'running')`),
    // The housekeeping cron's scans: completed files past their expiry, and jobs that stopped moving.
    index("exports_expiring").on(t.expiresAt, t.id).where(sql`${t.status} = 'completed'`),
    index("exports_stalled").on(t.updatedAt).where(sql`${t.status} IN ('queued', 'running')`),
    check("exports_format_check", sql`${t.format} IN ('json','csv')`),
    check("exports_status_check", sql`${t.status} IN ('queued','running','completed','failed','expired')`),
  ],
);
