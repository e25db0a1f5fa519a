/**
 * The commit of a restore (source=export), run by the imports queue like any import but with its own
 * writer: every exported table, in EXPORTED_TABLES order (parents first), rows mapped to the account
 * (rows.ts) and written in chunks, each chunk in ONE batch with the advance of the import's cursor
 * (`items_done`: rows of the file written; `offset`: the byte after the last), so a crash or a retry
 * resumes exactly there.
 *
 * Phases: (1) the rows, written under the import's staging owner (meta.ts): invisible to everyone. A
 * file not checked whole at the preview (one too big to check in the upload's request) is checked as
 * it is written, each row before its chunk's batch (validate.ts), the check's state saved with the
 * cursor; a bad row erases what was staged and fails the job. (2) At the document's end, the commit
 * point: one small batch settles what reads the staging and the account together and marks the job
 * moving; from there on it only goes forward (never failed, abandoned or discarded). (3) The paged move
 * (move.ts): bounded pages, spread over deliveries, the restored tasks hidden while they move; then the
 * own pages (own.ts): the account's own tasks the file holds (your backup by its link) take the file's
 * version a bounded page of tasks at a time, each with its steps and dependencies. (4) The
 * last batch (reveal.ts): in replace mode the account's earlier tasks deleted, the restored tasks shown,
 * the XP totals from the ledger, the share cards. (5) The pet and focus timer restored in their Durable
 * Objects, each once, then the job completed (after the last retry, completed without an object that
 * kept failing, with a note). Until (4) none of the restored tasks shows; before (2) a discard deletes
 * the staging (reveal.ts eraseRestoreStatements).
 */
import { and, eq, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../../db";
import { imports } from "../../../db/schema";
import type { Env } from "../../../env";
import { abortIf, D1Batch, isGuardAbort, rawStatement } from "../../../lib/batch";
import { loggableError } from "../../../lib/db-errors";
import { randomToken } from "../../../lib/ids";
import { nowIso } from "../../../lib/time";
import type { LiveSection } from "../../export/format";
import { ExportFormatError } from "../../export/reader";
import { pushScores } from "../../gamification/leaderboard";
import type { ImportMessage } from "../messages";
import { ImportFailure, type RunOptions, type RunOutcome } from "../pipeline";
import type { ImportRow } from "../queries";
import { forgetFailedStaging } from "./discarding";
import { idMapper } from "./ids";
import { claimFinishing } from "./lease";
import { type LiveParts, restoreLive } from "./live";
import { isMoving, restoreMetaOf, stagingUserOf } from "./meta";
import { MOVE_PAGE, movePageStatements, tablesToMove } from "./move";
import { isShadow, nextOwnPage, OWN_PAGE, ownPageStatements } from "./own";
import { commitStatements, type RevealInput, revealStatements } from "./reveal";
import { restoredRow } from "./rows";
import { type RestoreItem, restoreItems, YIELD_EVERY_ROWS } from "./stream";
import { type CheckState, checkExport, freshCheck } from "./validate";
import { insertRows, type WriteContext } from "./write";

/** Rows written per batch (each with the cursor's advance)... */
export const RESTORE_CHUNK_ROWS = 2_000;
/**
 * ...or fewer, when their bytes in the file reach this (a file of large rows: memory stays bounded).
 * A chunk holds its rows parsed, each row's JSON and the groups joined from them at once, so with rows
 * near the 1.9 MB limit it holds several times this (review2 M6: 2 MiB, measured in bench/README.md).
 */
export const RESTORE_CHUNK_BYTES = 2 * 1024 * 1024;
/**
 * D1 statements a delivery sends before it hands over to the next message (D1 allows 1,000 per
 * invocation): one more chunk (tens of statements), the commit point and the last batch (about 60
 * each) still fit under it; the paged move stops before it would pass it (moveThenReveal).
 */
export const RESTORE_STATEMENTS_PER_DELIVERY = 600;
/** What a delivery never passes, its erasure of a bad file's staging included (house bar: 1,000). */
export const RESTORE_STATEMENTS_PER_INVOCATION = 900;
/** Wall time a delivery goes on for before it hands over to the next message. */
export const RESTORE_BUDGET_MS = 20_000;

interface FileRow {
  table: string;
  row: Record<string, unknown>;
  /** The byte just after the row in the file: where the next delivery resumes. */
  end: number;
}

const gone = (): ImportFailure =>
  new ImportFailure("The export file is no longer stored (it expired or was deleted); export again.");

const hiddenAtOf = (row: ImportRow) => row.createdAt;

async function writeChunk(
  db: Database,
  row: ImportRow,
  chunk: readonly FileRow[],
  from: number,
  mapper: ReturnType<typeof idMapper>,
  timing: Timing,
  check: CheckState | null,
): Promise<number | false> {
  const mapStarted = Date.now();
  const write: WriteContext = {
    userId: row.userId,
    staging: stagingUserOf(row.userId, row.id),
    hiddenAt: hiddenAtOf(row),
    mode: row.mode ?? "merge",
    importId: row.id,
  };
  const context = {
    owner: write.staging,
    mapper,
    hiddenAt: write.hiddenAt,
    newCode: () => randomToken(9),
  };
  const batch = new D1Batch();
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running' AND items_done = ${from})`,
    ),
  );
  let run: Record<string, unknown>[] = [];
  let table = "";
  for (const item of chunk) {
    if (item.table !== table) {
      batch.addAll(insertRows(db, table, run, write));
      run = [];
      table = item.table;
    }
    const restored = await restoredRow(item.table, item.row, context);
    if (restored) run.push(restored);
  }
  batch.addAll(insertRows(db, table, run, write));
  const last = chunk.at(-1);
  batch.add(
    db
      .update(imports)
      .set({
        itemsDone: from + chunk.length,
        mapping: sql`json_set(${imports.mapping}, '$.offset', ${String(last?.end ?? 0)}, '$.table', ${last?.table ?? ""}, '$.check', ${check ? JSON.stringify(check) : ""})`,
        updatedAt: nowIso(),
      })
      .where(and(eq(imports.id, row.id), eq(imports.itemsDone, from))),
  );
  const d1Started = Date.now();
  timing.map += d1Started - mapStarted;
  try {
    await batch.run(db);
    return batch.size;
  } catch (error) {
    if (isGuardAbort(error)) return false;
    throw error;
  } finally {
    timing.d1 += Date.now() - d1Started;
    timing.batches += 1;
  }
}

/** Where a delivery's time went (logged with it): reading and parsing, mapping rows, D1 batches. */
interface Timing {
  map: number;
  d1: number;
  batches: number;
}

/**
 * What the end of a restore still has to do after its commit point: the objects to restore, from the
 * file's live state (kept in the import row, so the file may go), and the pet id the commit point gave
 * the pet's interactions.
 */
interface Finishing {
  live: LiveSection;
  parts: LiveParts;
  petId: string | null;
}

const finishingOf = (row: ImportRow): Finishing | null => {
  const text = (row.mapping as { finishing?: string } | null)?.finishing;
  return text ? (JSON.parse(text) as Finishing) : null;
};

/**
 * Which objects to restore, decided at the commit point: merge keeps the account's own pet and focus
 * settings (review2 M1); and the id the pet's object will keep (the account's pet's, else the file's
 * mapped), which the pet's interactions take at the commit point.
 */
async function plannedLive(
  db: Database,
  row: ImportRow,
  live: LiveSection,
  mapper: ReturnType<typeof idMapper>,
): Promise<{ finishing: Finishing; notes: string[] }> {
  const own = await db.get<{ pet: string | null; focus: number }>(
    sql`SELECT (SELECT id FROM user_pets WHERE user_id = ${row.userId} LIMIT 1) AS pet,
      (SELECT count(*) FROM focus_settings WHERE user_id = ${row.userId}) AS focus`,
  );
  const merge = (row.mode ?? "merge") === "merge";
  const notes: string[] = [];
  const filePet = live.pet.pet?.pet_id;
  const keepPet = merge && Boolean(own?.pet) && filePet !== undefined;
  const keepFocus = merge && (own?.focus ?? 0) > 0;
  if (keepPet) notes.push("The pet was not restored: this account has its own, which a merge keeps.");
  if (keepFocus)
    notes.push("The focus settings were not restored: this account has its own, which a merge keeps.");
  const pet = filePet !== undefined && !keepPet;
  const petId = pet && filePet !== undefined ? (own?.pet ?? (await mapper.map(filePet))) : null;
  return { finishing: { live, parts: { pet, focus: !keepFocus }, petId }, notes };
}

/** The import row's `mapping` keys of the end of a restore. */
interface EndMarks {
  finishing?: string;
  /** "1" from the commit point until the last batch of the paged move. */
  moving?: string;
  /** The last recorded task (import_items `ref`) the own pages took (own.ts). */
  own?: string;
  /** "1" once that object's restore is settled (done, or refused with a note): never asked again. */
  pet_done?: string;
  focus_done?: string;
}

const marksOf = (row: Pick<ImportRow, "mapping">) => (row.mapping ?? {}) as EndMarks;

/** Options of the end of a restore, and what the delivery spent already (review2 M5's budget). */
interface Spent {
  started: number;
  statements: number;
}

/**
 * The commit point (review3 H2): one small batch runs what reads the staging and the account together
 * (reveal.ts commitStatements), counts the result, and marks the job `$.finishing` and `$.moving`. From
 * it on the job only goes forward: it is never failed, abandoned or discarded (failImport, the stale
 * sweep and the discard skip a finishing job); the rows then move a page at a time (moveThenReveal).
 */
async function commitPoint(
  env: Env,
  db: Database,
  row: ImportRow,
  live: LiveSection,
  mapper: ReturnType<typeof idMapper>,
  tasksInFile: number,
  options: RunOptions,
  spent: Spent,
): Promise<RunOutcome> {
  const staging = stagingUserOf(row.userId, row.id);
  const { finishing, notes } = await plannedLive(db, row, live, mapper);
  const now = Date.now();
  const at = nowIso(now);
  const hiddenAt = hiddenAtOf(row);
  // The file's copies of the account's own tasks (write.ts shadowPrefix) are not new tasks (review3 L3):
  // the own pages count them (own.ts: `restored`, and the steps they take).
  const staged = sql`(SELECT id FROM tasks WHERE user_id = ${staging} AND deleted_at = ${hiddenAt} AND NOT (${isShadow(row.id, "id")}))`;
  const profiles = await db.get<{ n: number }>(
    sql`SELECT count(*) AS n FROM social_profiles WHERE user_id IN (${staging}, ${row.userId})`,
  );
  const preview = row.preview as { counts?: { tables?: Record<string, number> } } | null;
  if (!profiles?.n && (preview?.counts?.tables?.social_profiles ?? 0) > 0) {
    notes.push(
      "The public profile was not restored: its handle belongs to someone else now. Choose a new one.",
    );
  }
  const created = sql`(SELECT count(*) FROM ${staged})`;
  // The counts so far: the own pages add what they restore, the last batch what a replace deletes
  // (review4 L1, L2); `GET` shows the result only once the job completed (review4 L6).
  const result = sql`json_object(
    'created', ${created},
    'skipped_duplicates', max(0, ${tasksInFile} - ${created}),
    'replaced', 0,
    'steps', (SELECT count(*) FROM micro_steps WHERE user_id = ${staging} AND task_id IN ${staged}),
    'restored', 0,
    'notes', json(${JSON.stringify(notes)}))`;
  const batch = new D1Batch();
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running'
        AND json_extract(coalesce(mapping, '{}'), '$.finishing') IS NULL)`,
    ),
  );
  // The result is counted from the staging before anything moves.
  batch.add(
    db
      .update(imports)
      .set({
        itemsDone: row.itemsTotal,
        result: sql`${result}`,
        mapping: sql`json_set(${imports.mapping}, '$.finishing', ${JSON.stringify(finishing)}, '$.moving', '1')`,
        updatedAt: at,
      })
      .where(and(eq(imports.id, row.id), eq(imports.status, "running"))),
  );
  batch.addAll(commitStatements(db, revealInput(row, finishing, now)));
  try {
    await batch.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return { kind: "gone" };
    throw error;
  }
  spent.statements += batch.size;
  row.mapping = { ...marksOf(row), finishing: JSON.stringify(finishing), moving: "1" };
  return moveThenReveal(env, db, row, finishing, mapper, options, spent);
}

const revealInput = (row: ImportRow, finishing: Finishing, now: number): RevealInput => ({
  userId: row.userId,
  importId: row.id,
  hiddenAt: hiddenAtOf(row),
  mode: row.mode ?? "merge",
  petId: finishing.petId,
  now,
});

/**
 * The paged move (move.ts), page batches until nothing is staged but the share cards and the shadow
 * copies, then the own pages (own.ts, after the cursor `$.own`), within the delivery's budget
 * (statements and time; each delivery moves at least one page, so it always goes forward), then the last batch (reveal.ts revealStatements: the restored tasks shown at once, the
 * totals, the share cards) and the objects (finishLive).
 */
async function moveThenReveal(
  env: Env,
  db: Database,
  row: ImportRow,
  finishing: Finishing,
  mapper: ReturnType<typeof idMapper>,
  options: RunOptions,
  spent: Spent,
): Promise<RunOutcome> {
  const page = options.movePage ?? MOVE_PAGE;
  const budget = options.budgetMs ?? RESTORE_BUDGET_MS;
  const last = (now: number) => {
    const batch = new D1Batch();
    batch.add(
      abortIf(
        db,
        sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running'
          AND json_extract(mapping, '$.moving') = '1')`,
      ),
    );
    batch.addAll(revealStatements(db, revealInput(row, finishing, now)));
    batch.add(
      db
        .update(imports)
        .set({ mapping: sql`json_remove(${imports.mapping}, '$.moving', '$.own')`, updatedAt: nowIso(now) })
        .where(eq(imports.id, row.id)),
    );
    return batch;
  };
  const reserve = last(Date.now()).size;
  const tables = await tablesToMove(db, row.userId, row.id);
  spent.statements += 1;
  let pages = 0;
  // A delivery stops before a page would pass its statements (keeping the last batch's), its time, or
  // the test's page count; it always moves at least one page.
  const overBudget = (next: number) =>
    spent.statements + next + reserve > RESTORE_STATEMENTS_PER_DELIVERY ||
    (pages > 0 && Date.now() - spent.started > budget) ||
    pages >= (options.maxMovePages ?? Number.POSITIVE_INFINITY);
  for (const table of tables) {
    for (;;) {
      const statements = movePageStatements(db, {
        userId: row.userId,
        importId: row.id,
        mode: row.mode ?? "merge",
        table,
        page,
      });
      if (overBudget(statements.length)) {
        log(row.id, "moved", pages, spent.started);
        return { kind: "more" };
      }
      await options.beforeMove?.({ importId: row.id, table });
      let results: unknown[];
      try {
        results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
      } catch (error) {
        if (isGuardAbort(error)) return { kind: "gone" };
        throw error;
      }
      spent.statements += statements.length;
      pages += 1;
      const selected = (results[1] as D1Result | undefined)?.meta?.changes ?? 0;
      if (selected < page) break;
    }
  }
  // Then the account's own tasks the file holds (your backup by its link), a page of them at a time.
  const ownPage = options.ownPage ?? OWN_PAGE;
  for (;;) {
    const after = marksOf(row).own ?? "";
    if (spent.statements + 1 + reserve > RESTORE_STATEMENTS_PER_DELIVERY) {
      log(row.id, "moved", pages, spent.started);
      return { kind: "more" };
    }
    const to = await nextOwnPage(db, row.id, after, ownPage);
    spent.statements += 1;
    if (to === null) break;
    const statements = ownPageStatements(db, {
      userId: row.userId,
      importId: row.id,
      mode: row.mode ?? "merge",
      hiddenAt: hiddenAtOf(row),
      after,
      to,
      now: Date.now(),
    });
    if (overBudget(statements.length)) {
      log(row.id, "moved", pages, spent.started);
      return { kind: "more" };
    }
    await options.beforeMove?.({ importId: row.id, table: "own" });
    try {
      await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    } catch (error) {
      if (isGuardAbort(error)) return { kind: "gone" };
      throw error;
    }
    spent.statements += statements.length;
    pages += 1;
    row.mapping = { ...marksOf(row), own: to };
  }
  log(row.id, "moved", pages, spent.started);
  const batch = last(Date.now());
  try {
    await batch.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return { kind: "gone" };
    throw error;
  }
  const { moving: _moved, own: _owned, ...marks } = marksOf(row);
  row.mapping = marks;
  return finishLive(env, db, row, finishing, mapper);
}

const STILL_FINISHING = sql`status = 'running' AND json_extract(coalesce(mapping, '{}'), '$.finishing') IS NOT NULL
  AND json_extract(mapping, '$.moving') IS NULL`;

/** The import row's result with `notes` added to its notes. */
const withNotes = (notes: readonly string[]) =>
  sql`json_set(${imports.result}, '$.notes', json((SELECT json_group_array(value) FROM (
    SELECT value FROM json_each(json_extract(${imports.result}, '$.notes'))
    UNION ALL SELECT value FROM json_each(${JSON.stringify(notes)})))))`;

/** Interactions moved for a pet its object never created (it refused, or kept failing): dropped (M2). */
const orphanInteractions = (db: Database, userId: string, petId: string | null) =>
  petId === null
    ? []
    : [
        rawStatement(
          db,
          sql`DELETE FROM pet_interactions WHERE user_id = ${userId} AND pet_id = ${petId}
            AND NOT EXISTS (SELECT 1 FROM user_pets WHERE id = ${petId})`,
        ),
      ];

/** The completion of a finishing job, with its last notes (the job is ended either way). */
const completion = (db: Database, importId: string, notes: readonly string[]) => {
  const at = nowIso();
  return db
    .update(imports)
    .set({
      status: "completed",
      result: withNotes(notes),
      mapping: sql`json_remove(${imports.mapping}, '$.finishing', '$.pet_done', '$.focus_done')`,
      completedAt: at,
      updatedAt: at,
      expiresAt: at,
    })
    .where(and(eq(imports.id, importId), sql`${STILL_FINISHING}`));
};

/**
 * The finishing step: the pet and the focus timer restored in their objects, each once (review3 M1:
 * `$.pet_done` / `$.focus_done` recorded as each one settles, with its note, so a retry asks only the
 * one that failed and never applies a snapshot again over settings changed since), then the job
 * completed with the notes. An object that fails (not a 409 or 422) makes the delivery retried; after the
 * last retry the job is completed without it (giveUpFinishing), so a finishing job always ends.
 */
async function finishLive(
  env: Env,
  db: Database,
  row: ImportRow,
  finishing: Finishing,
  mapper: ReturnType<typeof idMapper>,
): Promise<RunOutcome> {
  const marks = marksOf(row);
  const parts: LiveParts = {
    pet: finishing.parts.pet && marks.pet_done !== "1",
    focus: finishing.parts.focus && marks.focus_done !== "1",
  };
  if (!(await claimFinishing(db, row.id))) return { kind: "gone" };
  const outcome = await restoreLive(env, db, row.userId, finishing.live, mapper, parts);
  const batch = new D1Batch();
  batch.add(abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${STILL_FINISHING})`));
  const notes: string[] = [];
  const settled: string[] = [];
  const failures: string[] = [];
  for (const [key, part] of [
    ["pet_done", outcome.pet],
    ["focus_done", outcome.focus],
  ] as const) {
    if (part === null) continue;
    if (part.kind === "failed") failures.push(`${key === "pet_done" ? "pet" : "focus timer"}: ${part.error}`);
    else settled.push(key);
    if (part.kind === "noted") notes.push(part.note);
  }
  // The object kept another id than planned (its pet was not yet in D1): the interactions follow it.
  if (outcome.petId !== null && finishing.petId !== null && outcome.petId !== finishing.petId)
    batch.add(
      rawStatement(
        db,
        sql`UPDATE pet_interactions SET pet_id = ${outcome.petId} WHERE user_id = ${row.userId} AND pet_id = ${finishing.petId}`,
      ),
    );
  if (outcome.pet?.kind === "noted") batch.addAll(orphanInteractions(db, row.userId, finishing.petId));
  if (failures.length > 0) {
    // What settled is recorded, then the delivery is retried for the rest.
    if (settled.length > 0) {
      batch.add(
        db
          .update(imports)
          .set({
            result: withNotes(notes),
            mapping: sql`json_set(${imports.mapping}, ${sql.join(
              settled.map((key) => sql`${`$.${key}`}, '1'`),
              sql`, `,
            )})`,
            updatedAt: nowIso(),
          })
          .where(eq(imports.id, row.id)),
      );
      try {
        await batch.run(db);
      } catch (error) {
        if (isGuardAbort(error)) return { kind: "gone" };
        throw error;
      }
    }
    throw new Error(`restore finishing: ${failures.join("; ")}`);
  }
  batch.add(completion(db, row.id, notes));
  try {
    await batch.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return { kind: "gone" };
    throw error;
  }
  await scoresOf(env, db, row.userId);
  return { kind: "done", events: [] };
}

/** The boards take the user's standing (opted-in users only; restored XP does not score there). */
async function scoresOf(env: Env, db: Database, userId: string) {
  await pushScores(env, db, [userId]).catch((error) =>
    console.error(
      JSON.stringify({
        level: "error",
        message: "restore: leaderboards not updated",
        error: loggableError(error),
      }),
    ),
  );
}

export const GAVE_UP_PET =
  "The pet was not restored: the pet service kept failing, so the restore completed without it. The pet is as it was before the restore.";
export const GAVE_UP_FOCUS =
  "The focus timer was not restored: the focus service kept failing, so the restore completed without it. The timer and its settings are as they were before the restore.";

/**
 * The end of a finishing job whose objects kept failing (the consumer's last retry, or the stale sweep
 * past MAX_RESENDS): completed, with a note for each object not restored, and the pet's interactions
 * dropped if its pet never came (M2). Its rows are the account's already; a job still moving is left
 * to go on (answers false). `env` given: the boards take the standing, as on completion. `unchangedSince`
 * (the sweep's): only while the row's `updated_at` is still that, so a delivery that claimed the job
 * since (lease.ts) goes on instead (review4 L3).
 */
export async function giveUpFinishing(
  db: Database,
  importId: string,
  env?: Env,
  unchangedSince?: string,
): Promise<boolean> {
  const row = await db.select().from(imports).where(eq(imports.id, importId)).get();
  const finishing = row ? finishingOf(row) : null;
  if (!row || !finishing || row.status !== "running" || marksOf(row).moving === "1") return false;
  const marks = marksOf(row);
  const pet = finishing.parts.pet && marks.pet_done !== "1";
  const focus = finishing.parts.focus && marks.focus_done !== "1";
  const notes = [...(pet ? [GAVE_UP_PET] : []), ...(focus ? [GAVE_UP_FOCUS] : [])];
  const batch = new D1Batch();
  // The sweep's: only a row as it read it, not one a delivery claimed since (lease.ts).
  const unchanged = unchangedSince === undefined ? sql`1` : sql`updated_at = ${unchangedSince}`;
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND ${STILL_FINISHING} AND ${unchanged})`,
    ),
  );
  if (pet) batch.addAll(orphanInteractions(db, row.userId, finishing.petId));
  batch.add(completion(db, row.id, notes));
  try {
    await batch.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return false;
    throw error;
  }
  console.warn(
    JSON.stringify({
      level: "warn",
      message: "restore finished without its objects",
      import_id: row.id,
      notes,
    }),
  );
  if (env) await scoresOf(env, db, row.userId);
  return true;
}

function log(
  importId: string,
  phase: "checked" | "rows" | "finished" | "moved",
  rows: number,
  started: number,
  timing?: Timing,
) {
  const ms = Date.now() - started;
  const split = timing
    ? { map_ms: timing.map, d1_ms: timing.d1, read_ms: ms - timing.map - timing.d1, batches: timing.batches }
    : {};
  console.log(
    JSON.stringify({
      level: "info",
      message: "restore delivery",
      import_id: importId,
      phase,
      rows,
      ms,
      ...split,
    }),
  );
}

/** The rows of a file being checked as it is written, from where its check stopped. */
async function* checkedItems(files: R2Bucket, key: string, state: CheckState): AsyncGenerator<RestoreItem> {
  const object =
    state.offset > 0 ? await files.get(key, { range: { offset: state.offset } }) : await files.get(key);
  if (!object) return;
  let read = 0;
  for await (const item of checkExport(object.body, state)) {
    if (item.kind === "row") {
      read += 1;
      // Other requests share the isolate: a buffered stream resolves without giving the event loop a turn.
      if (read % YIELD_EVERY_ROWS === 0) await new Promise((resolve) => setTimeout(resolve, 0));
      yield item;
    } else if (item.kind === "live") yield item;
    else if (item.kind === "summary") {
      yield { kind: "end" };
      return;
    }
  }
}

/**
 * A file found bad halfway: what it staged is erased with what is left of the delivery's statements
 * (discarding.ts; the queue erases the rest once the job is failed), then its cursor goes back to the
 * start, so the account is as it was and committing again checks the file from its start.
 */
async function forgetStaging(
  env: Env,
  db: Database,
  row: ImportRow,
  sent: number,
  options: RunOptions,
): Promise<void> {
  // The cursor's reset and the job's failure come after it.
  const budget = Math.max(0, RESTORE_STATEMENTS_PER_INVOCATION - sent - 2);
  await forgetFailedStaging(db, env.IMPORTS_QUEUE, row, sql`status = 'running'`, budget, {
    erasePage: options.erasePage,
    delaySeconds: 30,
  });
  await db
    .update(imports)
    .set({
      itemsDone: 0,
      mapping: sql`json_remove(${imports.mapping}, '$.offset', '$.table', '$.check')`,
      updatedAt: nowIso(),
    })
    .where(eq(imports.id, row.id));
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
  const meta = restoreMetaOf(row);
  const finishing = finishingOf(row);
  if (finishing) {
    const mapper = idMapper(row.userId, meta.identity === "1");
    if (isMoving(row))
      return moveThenReveal(env, db, row, finishing, mapper, options, { started, statements: 2 });
    return finishLive(env, db, row, finishing, mapper);
  }
  const key = restoreFileKey(row);
  if (!key) throw gone();
  const budget = options.budgetMs ?? RESTORE_BUDGET_MS;
  const mapper = idMapper(row.userId, meta.identity === "1");
  const size = options.chunkItems ?? RESTORE_CHUNK_ROWS;
  const maxChunks = options.maxChunks ?? Number.POSITIVE_INFINITY;
  let from = row.itemsDone;
  const saved = row.mapping as { offset?: string; table?: string; check?: string } | null;
  const resume =
    from > 0 && saved?.offset && saved.table ? { table: saved.table, offset: Number(saved.offset) } : null;
  // A file not checked whole at the preview is checked as it is written, row by row before each row's
  // chunk (validate.ts): its check's state goes with the cursor, and a bad row fails the job with
  // nothing of it shown (what was staged is erased at once).
  const check: CheckState | null =
    meta.validated === "1"
      ? null
      : from > 0 && saved?.check
        ? (JSON.parse(saved.check) as CheckState)
        : freshCheck();
  // A cursor without an offset (none yet) is resumed by counting rows from the start.
  let ordinal = resume ? from : 0;
  const preview = row.preview as { counts?: { tasks?: number; tables?: Record<string, number> } } | null;
  const tasksInFile = preview?.counts?.tables?.tasks ?? preview?.counts?.tasks ?? 0;
  let chunks = 0;
  // The statements this delivery sent so far (the reads before: the row, the status; review2 M5).
  let statements = 2;
  let live: LiveSection | null = null;
  let chunk: FileRow[] = [];
  let chunkStart = resume?.offset ?? 0;
  const timing: Timing = { map: 0, d1: 0, batches: 0 };
  const flush = async () => {
    if (chunk.length === 0) return true;
    chunkStart = chunk.at(-1)?.end ?? chunkStart;
    await options.beforeChunk?.({ importId: row.id, from, size: chunk.length });
    const sent = await writeChunk(db, row, chunk, from, mapper, timing, check);
    if (sent === false) return false;
    statements += sent;
    from += chunk.length;
    chunk = [];
    chunks += 1;
    return true;
  };
  try {
    const items = check ? checkedItems(env.FILES, key, check) : restoreItems(env.FILES, key, resume, true);
    for await (const item of items) {
      if (item.kind === "live") live = item.live;
      if (item.kind === "end") {
        if (!(await flush())) return { kind: "gone" };
        if (!live) throw new ImportFailure("The export file has no live state.");
        log(row.id, "rows", from - row.itemsDone, started, timing);
        const finishing = Date.now();
        const outcome = await commitPoint(env, db, row, live, mapper, tasksInFile, options, {
          started,
          statements,
        });
        log(row.id, "finished", 0, finishing);
        return outcome;
      }
      if (item.kind !== "row") continue;
      ordinal += 1;
      if (ordinal <= from) continue;
      chunk.push({ table: item.table, row: item.row, end: item.end });
      if (chunk.length < size && item.end - chunkStart < RESTORE_CHUNK_BYTES) continue;
      if (!(await flush())) return { kind: "gone" };
      if (
        chunks >= maxChunks ||
        Date.now() - started > budget ||
        statements >= RESTORE_STATEMENTS_PER_DELIVERY
      ) {
        log(row.id, "rows", from - row.itemsDone, started, timing);
        return { kind: "more" };
      }
    }
  } catch (error) {
    if (error instanceof ExportFormatError) {
      await forgetStaging(env, db, row, statements, options);
      throw new ImportFailure(`The export file is not valid: ${error.message}`);
    }
    throw error;
  }
  if (!(await env.FILES.head(key))) throw gone();
  throw new ImportFailure("The export file ended before its summary.");
}
