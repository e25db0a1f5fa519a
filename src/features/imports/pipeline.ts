/**
 * The commit of an import, run by the imports queue: the file's items, as the preview stored them in
 * R2 (files.ts), are read from the part the cursor falls in and written in chunks. Each chunk's tasks, steps, dependencies and items go in ONE D1 batch
 * with the advance of the import's cursor, so a crash or a retry resumes exactly where it stopped, and
 * ids derived from the item (ids.ts) make a chunk written twice insert nothing twice.
 *
 * Nothing shows until the end: tasks are written hidden (`deleted_at` = the import's creation time).
 * The final pass resolves references to items of later chunks (parents, dependencies), cuts loops,
 * and then, in one batch, deletes the old tasks (replace, with what hangs off them: replace.ts) and
 * reveals the new ones, marks the import completed and records `import.completed`. A job that fails
 * before that leaves the account as it was.
 */
import { and, eq, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { imports } from "../../db/schema";
import { abortIf, D1Batch, isGuardAbort, rawStatement } from "../../lib/batch";
import type { Envelope } from "../../lib/events/catalog";
import { recordedEvents, sqlData, sqlEvent, writeEvent } from "../../lib/events/outbox";
import { nowIso } from "../../lib/time";
import {
  type BulkTask,
  bulkInsertTasks,
  cutLinks,
  jsonGroups,
  linksAmong,
  resolveReferences,
  revealTasks,
} from "../tasks/bulk-statements";
import { dependencyEdgesToCut, parentLinksToCut } from "./cycles";
import { createdBy } from "./discard";
import { findMatches } from "./duplicates";
import { type NumberedItem, PartMissing, partStartsOf, storedItemsFrom } from "./files";
import { REF_VERSION, refOf, stepIdOf, taskIdOf, VERSION_POSITION } from "./ids";
import { CHUNK_ITEMS, IMPORT_TTL_MS, MAX_CHUNKS_PER_RUN, RUN_BUDGET_MS } from "./limits";
import type { ImportMessage } from "./messages";
import type { ImportRow } from "./queries";
import { replacedIdsSql, replacedTruncatedSql, replaceStatements } from "./replace";

/** A failure no retry can mend (the file is gone): the job fails at once. */
export class ImportFailure extends Error {}

/** Sizes tests make small, and the seam a test breaks a chunk at. */
export interface RunOptions {
  chunkItems?: number;
  /** Rows per statement when a restore's staging is erased (restore/erase.ts; tests lower it). */
  erasePage?: number;
  maxChunks?: number;
  budgetMs?: number;
  /** Runs before each chunk's batch; what it throws fails the chunk as a D1 failure would. */
  beforeChunk?: (chunk: { importId: string; from: number; size: number }) => void | Promise<void>;
  /** A restore's rows per statement of its paged move (restore/move.ts MOVE_PAGE); tests lower it. */
  movePage?: number;
  /** A restore's recorded tasks per page of its own copies (restore/own.ts OWN_PAGE); tests lower it. */
  ownPage?: number;
  /** A restore's move pages per delivery at most (tests: a move spread over deliveries). */
  maxMovePages?: number;
  /** Runs before each page of a restore's move; what it throws fails the page as a D1 failure would. */
  beforeMove?: (page: { importId: string; table: string }) => void | Promise<void>;
}

/** done: completed; more: the next message continues; gone: nothing to do (done already, discarded, raced). */
export type RunOutcome = { kind: "done"; events: Envelope[] } | { kind: "more" } | { kind: "gone" };

type Numbered = NumberedItem;

const filesGone = () => new ImportFailure("The uploaded file is no longer stored; upload it again.");

const isRef = (ref: unknown) => sql`substr(${ref}, ${VERSION_POSITION}, 1) = ${REF_VERSION}`;

function bulkTaskOf(importId: string, { item, ordinal }: Numbered, now: string): BulkTask {
  return {
    id: taskIdOf(importId, ordinal, item.key),
    title: item.title,
    description: item.description,
    status: item.status,
    priority: item.priority,
    estimatedMinutes: item.estimatedMinutes,
    dueAt: item.dueAt,
    tags: item.tags,
    taskSource: "import",
    parentTaskId: item.parentKey === null ? null : refOf(importId, item.parentKey),
    dependsOn: item.dependsOn.map((key) => refOf(importId, key)),
    steps: item.steps.map((s, i) => ({ id: stepIdOf(importId, item.key, i), ...s })),
    createdAt: item.createdAt ?? now,
    completedAt: item.completedAt,
  };
}

/** Writes one chunk and advances the cursor past it, in one batch; false when another run got there first. */
async function writeChunk(db: Database, row: ImportRow, chunk: Numbered[], from: number, now: number) {
  const at = nowIso(now);
  const matches =
    row.mode === "merge"
      ? await findMatches(
          db,
          row.userId,
          row.source,
          row.id,
          chunk.map((c) => c.item),
        )
      : chunk.map(() => null);
  const created: BulkTask[] = [];
  const items = chunk.map((numbered, i) => {
    const match = matches[i] ?? null;
    const task = bulkTaskOf(row.id, numbered, at);
    if (match === null) created.push(task);
    return {
      ref: refOf(row.id, numbered.item.key),
      external_id: numbered.item.externalId,
      task_id: match ?? task.id,
      outcome: match === null ? "created" : "duplicate",
    };
  });
  const batch = new D1Batch();
  // The cursor is where this run read it: if another delivery moved it, this one stops writing.
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running' AND items_done = ${from})`,
    ),
  );
  batch.addAll(bulkInsertTasks(db, row.userId, created, at, row.createdAt));
  for (const group of jsonGroups(items)) {
    batch.add(
      rawStatement(
        db,
        sql`INSERT INTO import_items (import_id, ref, user_id, source, external_id, task_id, outcome, created_at)
          SELECT ${row.id}, json_extract(j.value, '$.ref'), ${row.userId}, ${row.source},
            json_extract(j.value, '$.external_id'), json_extract(j.value, '$.task_id'),
            json_extract(j.value, '$.outcome'), ${at}
          FROM json_each(${JSON.stringify(group)}) j WHERE 1
          ON CONFLICT DO NOTHING`,
      ),
    );
  }
  batch.add(
    db
      .update(imports)
      // A job that moves is not stuck: the stale-job sweep starts counting again.
      .set({ itemsDone: from + chunk.length, updatedAt: at, resends: 0 })
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

/** The last pass: references resolved, loops cut, then everything shown at once. */
async function finish(db: Database, row: ImportRow, now: number): Promise<RunOutcome> {
  const at = nowIso(now);
  const ids = createdBy(row.id);
  const resolve = (ref: unknown) =>
    sql`(SELECT m.task_id FROM import_items m WHERE m.import_id = ${row.id} AND m.ref = ${ref})`;
  await db.batch(resolveReferences(db, row.userId, ids, isRef, resolve));

  const links = linksAmong(db, row.userId, ids);
  const [parents, dependencies] = await Promise.all([links.parents, links.dependencies]);
  const cutParents = parentLinksToCut(new Map(parents.map((p) => [p.id, p.parent])));
  const cutDependencies = dependencyEdgesToCut(dependencies);

  const batch = new D1Batch();
  batch.add(abortIf(db, sql`NOT EXISTS (SELECT 1 FROM imports WHERE id = ${row.id} AND status = 'running')`));
  batch.addAll(cutLinks(db, row.userId, cutParents, cutDependencies));
  // The counts are taken in the batch that shows the tasks: exact, whatever happened before it.
  const result = sql`json_object(
    'created', (SELECT count(*) FROM import_items WHERE import_id = ${row.id} AND outcome = 'created'),
    'skipped_duplicates', (SELECT count(*) FROM import_items WHERE import_id = ${row.id} AND outcome = 'duplicate'),
    'replaced', ${row.mode === "replace" ? sql`(SELECT count(*) FROM tasks WHERE user_id = ${row.userId} AND deleted_at IS NULL)` : 0},
    'steps', (SELECT count(*) FROM micro_steps WHERE user_id = ${row.userId} AND task_id IN ${ids}))`;
  batch.add(
    db
      .update(imports)
      .set({
        status: "completed",
        itemsDone: row.itemsTotal,
        result: sql`${result}`,
        completedAt: at,
        updatedAt: at,
        // The file goes now (and housekeeping retries if that fails).
        expiresAt: at,
      })
      .where(and(eq(imports.id, row.id), eq(imports.status, "running"))),
  );
  const field = (name: string) => sql`json_extract(i.result, ${`$.${name}`})`;
  const written = batch.add(
    writeEvent(
      db,
      sqlEvent(
        "import.completed",
        row.userId,
        sqlData(
          "import.completed",
          {
            import_id: sql`i.id`,
            source: sql`i.source`,
            mode: sql`i.mode`,
            created: field("created"),
            skipped_duplicates: field("skipped_duplicates"),
            replaced: field("replaced"),
            replaced_task_ids: row.mode === "replace" ? replacedIdsSql(row.userId) : sql`json('[]')`,
            replaced_task_ids_truncated: replacedTruncatedSql(field("replaced")),
            steps: field("steps"),
          },
          sql`FROM imports i WHERE i.id = ${row.id}`,
        ),
        now,
      ),
    ),
  );
  // Old tasks go and new ones appear in the same transaction: never an empty or half-replaced account.
  if (row.mode === "replace") batch.addAll(replaceStatements(db, row.userId, now));
  batch.add(revealTasks(db, row.userId, ids, row.createdAt, at));
  try {
    const results = await batch.run(db);
    return { kind: "done", events: recordedEvents(written(results)) };
  } catch (error) {
    if (isGuardAbort(error)) return { kind: "gone" };
    throw error;
  }
}

/**
 * Goes on with an import from its cursor: chunks until the file ends (then the final pass), or until
 * this delivery has done its share (`more`: the caller sends the next message).
 */
export async function runImport(
  db: Database,
  files: R2Bucket,
  message: ImportMessage,
  options: RunOptions = {},
): Promise<RunOutcome> {
  const started = Date.now();
  const row = await db
    .select()
    .from(imports)
    .where(and(eq(imports.id, message.import_id), eq(imports.userId, message.user_id)))
    .get();
  if (!row || (row.status !== "queued" && row.status !== "running")) return { kind: "gone" };
  if (row.status === "queued") {
    await db
      .update(imports)
      .set({ status: "running", updatedAt: nowIso() })
      .where(and(eq(imports.id, row.id), eq(imports.status, "queued")));
    row.status = "running";
  }
  if (row.partItems === null) throw filesGone();

  const size = options.chunkItems ?? CHUNK_ITEMS;
  const maxChunks = options.maxChunks ?? MAX_CHUNKS_PER_RUN;
  const budget = options.budgetMs ?? RUN_BUDGET_MS;
  const items = storedItemsFrom(
    files,
    {
      userId: row.userId,
      importId: row.id,
      starts: partStartsOf(row.partItems, row.partStarts, row.itemsTotal),
      total: row.itemsTotal,
    },
    row.itemsDone,
  );
  let from = row.itemsDone;
  try {
    for (let chunks = 0; ; chunks++) {
      // At least one chunk a delivery, however slow the start: every message moves the cursor.
      if (chunks > 0 && (chunks >= maxChunks || Date.now() - started > budget)) return { kind: "more" };
      const chunk: Numbered[] = [];
      while (chunk.length < size) {
        const next = await items.next().catch((error) => {
          throw error instanceof PartMissing ? filesGone() : error;
        });
        if (next.done) break;
        chunk.push(next.value);
      }
      if (chunk.length === 0) return await finish(db, row, Date.now());
      await options.beforeChunk?.({ importId: row.id, from, size: chunk.length });
      if (!(await writeChunk(db, row, chunk, from, Date.now()))) return { kind: "gone" };
      from += chunk.length;
      if (chunk.length < size) return await finish(db, row, Date.now());
    }
  } finally {
    // Stops reading the file where this run stopped.
    await items.return(undefined);
  }
}

/**
 * Marks the job failed (it keeps what it staged, hidden, so a new commit resumes at its cursor). Its
 * count of resends starts over: a job committed again is not stuck for stalls it had before.
 */
export async function failImport(db: Database, importId: string, reason: string, now = Date.now()) {
  await db
    .update(imports)
    .set({
      status: "failed",
      error: reason,
      resends: 0,
      updatedAt: nowIso(now),
      expiresAt: nowIso(now + IMPORT_TTL_MS),
    })
    .where(
      and(
        eq(imports.id, importId),
        sql`${imports.status} IN ('queued', 'running')`,
        // A restore finishing (its rows are the account's, its objects being restored) is never failed:
        // it is retried, and re-sent by the stale sweep, until it completes (restore/job.ts).
        sql`json_extract(coalesce(${imports.mapping}, '{}'), '$.finishing') IS NULL`,
      ),
    );
}
