/**
 * One slice of an export job, as a queue message runs it. A slice takes the job's lease, resumes from
 * the cursor its row holds (the parts R2 already has, the carry after them), writes on until its budget
 * (time, D1 statements) is spent — stopping only right after a part is stored and the cursor saved —
 * and hands over to the next slice. A slice that dies loses nothing (the next resumes from the last
 * saved cursor, re-reading the rows after it) and duplicates nothing (bytes past the cursor were never
 * kept). Memory stays flat: one part (5 MiB) and one page of rows at a time, whatever the account.
 */
import { and, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { createDatabase, type Database } from "../../db";
import { accountExports, type ExportCursor } from "../../db/schema";
import type { Env } from "../../env";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { ACCOUNT_OMIT, EXPORTED_TABLES, type LiveSection } from "./format";
import { takeLiveSnapshot } from "./live";
import { countRows, readAccount } from "./pages";
import { decodeCarry, encodeCarry, PART_BYTES, PartWriter } from "./part-writer";
import { initialCursor, type SerialContext, writeCsv, writeJson } from "./writers";

/** How long a slice holds the job without saving (renewed at every part): a dead slice's job is free after it. */
export const LEASE_MS = 5 * 60_000;
/**
 * A slice uploads a part only while its lease has at least this long to run: a slice stalled past its
 * lease (another delivery may own the job by then) stops instead of writing a part the other one writes.
 */
export const LEASE_SAFETY_MS = 60_000;
/** A slice stops at its first part stored after this long (Workers' CPU limit is 30 s by default). */
export const SLICE_BUDGET_MS = 20_000;
/**
 * A slice stops at its first part stored after this many D1 statements: a part needs at most ~80 more
 * (5 MiB of the smallest rows at 1,000 a page), well inside D1's 1,000 queries per invocation.
 */
export const SLICE_STATEMENTS = 500;
/** Downloads live this long after the file is complete; the cron deletes the file then. */
export const EXPORT_TTL_MS = 7 * 24 * 3_600_000;

/** Sizes and clocks tests change (a part is never smaller than R2's 5 MiB in production). */
export interface SliceOptions {
  partBytes?: number;
  budgetMs?: number;
  maxStatements?: number;
}

export type SliceOutcome =
  | { kind: "gone" }
  | { kind: "stale" }
  | { kind: "early" }
  | { kind: "busy"; retryAfterSeconds: number }
  | { kind: "paused"; nextSlice: number }
  | { kind: "completed"; rows: number; bytes: number }
  | { kind: "failed"; reason: string };

type ExportRow = typeof accountExports.$inferSelect;

export const contentTypeOf = (format: ExportRow["format"]) =>
  format === "json" ? "application/json" : "text/csv; charset=utf-8";

/** The R2 key of an export: under `exports/<user_id>/`, where deleting an account finds every file. */
export const exportKey = (userId: string, exportId: string, format: ExportRow["format"]) =>
  `exports/${userId}/${exportId}.${format}`;

/** A failure the job cannot get past by trying again. */
class JobFailure extends Error {}

/** Lost the lease mid-slice (it ran past LEASE_MS): another delivery owns the job now. */
class LeaseLost extends Error {}

async function claim(db: Database, exportId: string, slice: number, leaseId: string, now: number) {
  const [row] = await db
    .update(accountExports)
    .set({
      leaseId,
      leaseUntil: now + LEASE_MS,
      status: "running",
      startedAt: sql`coalesce(${accountExports.startedAt}, ${nowIso(now)})`,
      updatedAt: nowIso(now),
    })
    .where(
      and(
        eq(accountExports.id, exportId),
        eq(accountExports.slice, slice),
        inArray(accountExports.status, ["queued", "running"]),
        or(isNull(accountExports.leaseUntil), lt(accountExports.leaseUntil, now)),
      ),
    )
    .returning();
  return row;
}

/** Why a slice could not take the job. */
async function refusal(db: Database, exportId: string, slice: number, now: number): Promise<SliceOutcome> {
  const row = await db
    .select({
      status: accountExports.status,
      slice: accountExports.slice,
      leaseUntil: accountExports.leaseUntil,
    })
    .from(accountExports)
    .where(eq(accountExports.id, exportId))
    .get();
  if (!row || (row.status !== "queued" && row.status !== "running")) return { kind: "gone" };
  if (row.slice > slice) return { kind: "stale" };
  if (row.slice < slice) return { kind: "early" };
  return { kind: "busy", retryAfterSeconds: Math.max(1, Math.ceil(((row.leaseUntil ?? now) - now) / 1000)) };
}

/** Everything one slice works with. */
class Slice {
  readonly d1: D1Database;
  readonly db: Database;
  private readonly started = Date.now();
  private used = 0;
  private stop = false;
  private upload: R2MultipartUpload | null = null;
  /** Until when this slice's lease runs (renewed by every save). */
  private leaseUntil: number;
  readonly cursor: ExportCursor;
  readonly writer: PartWriter;

  constructor(
    readonly env: Env,
    readonly row: ExportRow,
    readonly leaseId: string,
    readonly options: Required<SliceOptions>,
  ) {
    this.d1 = env.DB;
    this.db = createDatabase(env.DB);
    this.leaseUntil = row.leaseUntil ?? Date.now() + LEASE_MS;
    this.cursor = row.cursor ? structuredClone(row.cursor) : initialCursor();
    this.writer = new PartWriter(options.partBytes, this.onPart, this.cursor.bytes);
  }

  statements(n: number): void {
    this.used += n;
  }

  shouldStop = (): boolean => this.stop;

  private overBudget(): boolean {
    return Date.now() - this.started >= this.options.budgetMs || this.used >= this.options.maxStatements;
  }

  /** The upload this slice knows of (its own, or the one the row names): what a clean-up aborts. */
  uploadId(): string | null {
    return this.upload?.uploadId ?? this.row.uploadId;
  }

  /**
   * The job's multipart upload: the one the row names, or a new one — whose id is saved on the row at
   * once, before any part, so a job that fails from here on can always abort it.
   */
  private async multipart(): Promise<R2MultipartUpload> {
    if (this.upload) return this.upload;
    const { FILES } = this.env;
    if (this.row.uploadId) {
      this.upload = FILES.resumeMultipartUpload(this.row.r2Key, this.row.uploadId);
      return this.upload;
    }
    const upload = await FILES.createMultipartUpload(this.row.r2Key, {
      httpMetadata: { contentType: contentTypeOf(this.row.format) },
    });
    this.upload = upload;
    const now = Date.now();
    const saved = await this.db
      .update(accountExports)
      .set({ uploadId: upload.uploadId, leaseUntil: now + LEASE_MS, updatedAt: nowIso(now) })
      .where(and(eq(accountExports.id, this.row.id), eq(accountExports.leaseId, this.leaseId)))
      .returning({ id: accountExports.id });
    this.statements(1);
    if (saved.length === 0) throw new LeaseLost("the export's lease was taken over");
    this.leaseUntil = now + LEASE_MS;
    return upload;
  }

  /** Refuses to write past the lease: a delivery that took the job over may be writing this part too. */
  private checkLease(): void {
    if (Date.now() > this.leaseUntil - LEASE_SAFETY_MS) throw new LeaseLost("the slice outran its lease");
  }

  /** Stores a full part, then saves the cursor that now holds it (the lease renewed). */
  onPart = async (part: Uint8Array, carry: Uint8Array): Promise<void> => {
    const upload = await this.multipart();
    this.checkLease();
    const uploaded = await upload.uploadPart(this.cursor.parts.length + 1, part);
    this.cursor.parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
    this.cursor.carry = encodeCarry(carry);
    this.cursor.bytes = this.writer.bytes;
    await this.save(upload.uploadId);
    if (this.overBudget()) this.stop = true;
  };

  private async save(uploadId: string): Promise<void> {
    const now = Date.now();
    const saved = await this.db
      .update(accountExports)
      .set({
        cursor: this.cursor,
        rowsWritten: this.cursor.rows,
        bytes: this.cursor.bytes,
        uploadId,
        leaseUntil: now + LEASE_MS,
        updatedAt: nowIso(now),
      })
      .where(and(eq(accountExports.id, this.row.id), eq(accountExports.leaseId, this.leaseId)))
      .returning({ id: accountExports.id });
    this.statements(1);
    if (saved.length === 0) throw new LeaseLost("the export's lease was taken over");
    this.leaseUntil = now + LEASE_MS;
  }

  /** Counts the rows and snapshots the live state, once per job (kept if this slice dies after). */
  async begin(): Promise<{ rowsTotal: number; live: LiveSection | null }> {
    if (this.row.rowsTotal !== null) {
      return { rowsTotal: this.row.rowsTotal, live: (this.row.live as LiveSection | null) ?? null };
    }
    const live = this.row.format === "json" ? await takeLiveSnapshot(this.env, this.row.userId) : null;
    const rowsTotal = await countRows(this.d1, this.row.userId, this.row.format);
    this.statements(this.row.format === "json" ? EXPORTED_TABLES.length : 2);
    const saved = await this.db
      .update(accountExports)
      .set({ rowsTotal, live, updatedAt: nowIso() })
      .where(and(eq(accountExports.id, this.row.id), eq(accountExports.leaseId, this.leaseId)))
      .returning({ id: accountExports.id });
    this.statements(1);
    if (saved.length === 0) throw new LeaseLost("the export's lease was taken over");
    return { rowsTotal, live };
  }

  async account(): Promise<Record<string, unknown>> {
    const row = await readAccount(this.d1, this.row.userId);
    this.statements(1);
    if (!row) throw new JobFailure("The account no longer exists.");
    for (const column of ACCOUNT_OMIT) delete row[column];
    return row;
  }

  async run(): Promise<SliceOutcome> {
    const { rowsTotal, live } = await this.begin();
    const fresh = this.row.cursor === null;
    if (!fresh) await this.writer.resume(decodeCarry(this.cursor.carry));
    if (fresh && this.row.format === "csv") this.cursor.counts = { tasks: 0, steps: 0 };
    const context: SerialContext = {
      d1: this.d1,
      userId: this.row.userId,
      cursor: this.cursor,
      out: this.writer,
      shouldStop: this.shouldStop,
      statements: (n) => this.statements(n),
    };
    const outcome =
      this.row.format === "json"
        ? await writeJson(context, {
            exportId: this.row.id,
            exportedAt: this.row.startedAt ?? this.row.createdAt,
            account: () => this.account(),
            live: live ?? (await takeLiveSnapshot(this.env, this.row.userId)),
            fresh,
          })
        : await writeCsv(context, fresh);
    if (outcome === "paused") return this.pause();
    return this.finish(rowsTotal);
  }

  /** Ends the slice at the cursor just saved and passes the job to the next slice. */
  private async pause(): Promise<SliceOutcome> {
    const next = this.row.slice + 1;
    const released = await this.db
      .update(accountExports)
      .set({ slice: next, leaseId: null, leaseUntil: null, updatedAt: nowIso() })
      .where(and(eq(accountExports.id, this.row.id), eq(accountExports.leaseId, this.leaseId)))
      .returning({ id: accountExports.id });
    if (released.length === 0) throw new LeaseLost("the export's lease was taken over");
    return { kind: "paused", nextSlice: next };
  }

  /**
   * Stores the last part (or the whole small file) and completes the upload, then marks the job done.
   * Before completing, the cursor is sealed (every part listed, nothing left to write): a retry after
   * a lost answer completes again, or finds the file already whole.
   */
  private async finish(rowsTotal: number): Promise<SliceOutcome> {
    const { FILES } = this.env;
    if (this.cursor.parts.length === 0) {
      this.checkLease();
      await FILES.put(this.row.r2Key, this.writer.pending(), {
        httpMetadata: { contentType: contentTypeOf(this.row.format) },
      });
      // An upload begun for this job (its first part never stored) is not needed: let it go.
      const begun = this.uploadId();
      if (begun) await abortUpload(this.env, this.row.r2Key, begun);
    } else {
      const upload = await this.multipart();
      if (this.cursor.phase !== "sealed") {
        const last = this.writer.pending();
        if (last.length > 0) {
          this.checkLease();
          const uploaded = await upload.uploadPart(this.cursor.parts.length + 1, last);
          this.cursor.parts.push({ partNumber: uploaded.partNumber, etag: uploaded.etag });
        }
        this.cursor.phase = "sealed";
        this.cursor.carry = "";
        this.cursor.bytes = this.writer.bytes;
        await this.save(upload.uploadId);
      }
      try {
        await upload.complete(this.cursor.parts);
      } catch (error) {
        // Completed by an earlier try whose answer was lost: the file is there, whole.
        if (!(await FILES.head(this.row.r2Key))) throw error;
      }
    }
    const now = Date.now();
    const rows = this.cursor.rows;
    const bytes = this.cursor.phase === "sealed" ? this.cursor.bytes : this.writer.bytes;
    const done = await this.db
      .update(accountExports)
      .set({
        status: "completed",
        rowsWritten: rows,
        rowsTotal: Math.max(rowsTotal, rows),
        bytes,
        cursor: null,
        live: null,
        uploadId: null,
        leaseId: null,
        leaseUntil: null,
        completedAt: nowIso(now),
        expiresAt: nowIso(now + EXPORT_TTL_MS),
        updatedAt: nowIso(now),
      })
      .where(and(eq(accountExports.id, this.row.id), eq(accountExports.leaseId, this.leaseId)))
      .returning({ id: accountExports.id });
    if (done.length === 0) throw new LeaseLost("the export's lease was taken over");
    return { kind: "completed", rows, bytes };
  }
}

async function abortUpload(env: Env, key: string, uploadId: string): Promise<void> {
  await env.FILES.resumeMultipartUpload(key, uploadId)
    .abort()
    .catch(() => undefined);
}

/**
 * Lets go of whatever a job wrote to R2: its unfinished multipart upload, and the file itself (put
 * whole, or completed before the job's end was recorded). R2 aborts an upload nobody named after 7
 * days (its default lifecycle rule), and the nightly orphan sweep finds a file whose row is gone.
 */
export async function discardExportFile(env: Env, key: string, uploadId: string | null): Promise<void> {
  if (uploadId) await abortUpload(env, key, uploadId);
  await env.FILES.delete(key);
}

/** Marks a job failed (with a reason people can read) and lets go of its upload and its file. */
export async function failExport(env: Env, exportId: string, reason: string): Promise<void> {
  const db = createDatabase(env.DB);
  const [row] = await db
    .update(accountExports)
    .set({
      status: "failed",
      error: reason,
      cursor: null,
      live: null,
      leaseId: null,
      leaseUntil: null,
      updatedAt: nowIso(),
    })
    .where(and(eq(accountExports.id, exportId), inArray(accountExports.status, ["queued", "running"])))
    .returning({ key: accountExports.r2Key, uploadId: accountExports.uploadId });
  if (row) await discardExportFile(env, row.key, row.uploadId);
}

/**
 * A slice that lost its job. If another delivery holds it now, that one carries on (stale). If the row
 * is gone (the account was deleted meanwhile) or the job failed, what this slice wrote is discarded —
 * a file written after the account's files were erased must not outlive it. Undefined when the job is
 * still this slice's (its own lease ran out before it wrote): the caller gives it back and retries.
 */
async function letGo(
  env: Env,
  row: ExportRow,
  leaseId: string,
  uploadId: string | null,
): Promise<SliceOutcome | undefined> {
  const now = await createDatabase(env.DB)
    .select({ status: accountExports.status, leaseId: accountExports.leaseId })
    .from(accountExports)
    .where(eq(accountExports.id, row.id))
    .get();
  if (now && now.status !== "failed" && now.status !== "expired") {
    return now.leaseId === leaseId ? undefined : { kind: "stale" };
  }
  await discardExportFile(env, row.r2Key, uploadId);
  return { kind: "gone" };
}

/**
 * Runs slice `slice` of export `exportId`. Answers what happened; throws on failures worth retrying
 * (D1, R2 or a Durable Object unavailable), after which the slice's next try resumes from the cursor.
 */
export async function runSlice(
  env: Env,
  exportId: string,
  slice: number,
  options: SliceOptions = {},
): Promise<SliceOutcome> {
  const db = createDatabase(env.DB);
  const leaseId = newId();
  const now = Date.now();
  const row = await claim(db, exportId, slice, leaseId, now);
  if (!row) return refusal(db, exportId, slice, now);
  const job = new Slice(env, row, leaseId, {
    partBytes: options.partBytes ?? PART_BYTES,
    budgetMs: options.budgetMs ?? SLICE_BUDGET_MS,
    maxStatements: options.maxStatements ?? SLICE_STATEMENTS,
  });
  try {
    return await job.run();
  } catch (error) {
    if (error instanceof LeaseLost) {
      const outcome = await letGo(env, row, leaseId, job.uploadId());
      if (outcome) return outcome;
    }
    if (error instanceof JobFailure) {
      await failExport(env, exportId, error.message);
      return { kind: "failed", reason: error.message };
    }
    // Give the job back at once, so the retry need not wait out the lease.
    await db
      .update(accountExports)
      .set({ leaseId: null, leaseUntil: null })
      .where(and(eq(accountExports.id, exportId), eq(accountExports.leaseId, leaseId)))
      .run()
      .catch(() => undefined);
    throw error;
  }
}
