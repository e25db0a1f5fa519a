/**
 * One training run: take the run (queued → running, once), read the owner's history (one round trip),
 * train every kind (pure, timed), store the new versions, promotions and the run's record (one batch).
 */
import { inArray, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { learningModels, learningRuns, type ModelKind, POPULATION } from "../../db/schema";
import { abortIfAccountGone } from "../../lib/auth/account";
import { D1Batch, isGuardAbort } from "../../lib/batch";
import { nowIso } from "../../lib/time";
import {
  checkinsQuery,
  energyLookup,
  finishedTasksQuery,
  focusStartsQuery,
  historySample,
  type Scope,
  toEnergySamples,
} from "./history";
import { latestVersionsQuery, type ModelRow, promotedQuery, storeOutcomes } from "./model-store";
import { heldRun, pruneRuns, startRun } from "./runs";
import { trainAll } from "./train";

export interface TrainingSummary {
  owner: string;
  status: "done" | "skipped";
  trainingMs: number;
  tasks: number;
  checkins: number;
  kinds: Record<string, { status: string; reason: string; version: number | null; promoted: boolean }>;
}

/**
 * Takes and trains `owner`'s run of `night` (what a train message does). Null when the run was not
 * there to take (held by another delivery of the message, or finished): nothing trained.
 */
export async function trainOwner(
  db: Database,
  owner: string,
  night: string,
  now = Date.now(),
): Promise<TrainingSummary | null> {
  const take = await startRun(db, owner, night, now);
  return take.taken ? trainTaken(db, owner, night, take.token, now) : null;
}

/**
 * Trains `owner` (a user id, or POPULATION) for its learning_runs row of `night`, which this delivery
 * took with `token` (startRun); the run's record is written only while it still holds it. Null when
 * the account was deleted meanwhile: nothing is stored.
 */
export async function trainTaken(
  db: Database,
  owner: string,
  night: string,
  token: string,
  now = Date.now(),
): Promise<TrainingSummary | null> {
  const population = owner === POPULATION;
  const scope: Scope = population ? { population: true } : { userId: owner };
  const read = new D1Batch();
  const taskRows = read.add(finishedTasksQuery(db, scope, now));
  const checkinRows = read.add(checkinsQuery(db, scope, now));
  const starts = read.add(focusStartsQuery(db, scope, now));
  // A user's own promoted versions, and the population's: what answers them until theirs wins.
  const promoted = read.add(promotedQuery(db, population ? [owner] : [owner, POPULATION]));
  const versions = read.add(latestVersionsQuery(db, owner));
  const results = await read.run(db);

  const checkins = checkinRows(results);
  const lookup = energyLookup(checkins);
  const own: Partial<Record<ModelKind, ModelRow>> = {};
  const everyone: Partial<Record<ModelKind, ModelRow>> = {};
  for (const row of promoted(results)) (row.userId === owner ? own : everyone)[row.kind] = row;
  const latest: Partial<Record<ModelKind, number>> = {};
  for (const row of versions(results)) latest[row.kind] = row.version ?? 0;
  const focusStarts = new Map<string, number>();
  for (const row of starts(results))
    if (row.startedAt) focusStarts.set(row.taskId, Date.parse(row.startedAt));
  const current: Partial<Record<ModelKind, unknown>> = {};
  const currentScope: Partial<Record<ModelKind, "personal" | "population">> = {};
  for (const kind of Object.keys({ ...everyone, ...own }) as ModelKind[]) {
    const row = own[kind] ?? everyone[kind];
    current[kind] = row?.params;
    currentScope[kind] = own[kind] ? "personal" : "population";
  }
  const rows = taskRows(results);

  // Wall time of the pure work only: no I/O happens inside, so it is close to the CPU time spent.
  const started = performance.now();
  const samples = rows.map((row) => historySample(row, { focusStarts, energy: lookup }));
  const outcomes = trainAll({
    tasks: samples,
    checkins: toEnergySamples(checkins),
    current,
    currentScope,
    population,
  });
  const trainingMs = Math.round((performance.now() - started) * 10) / 10;

  const { statements, stored } = storeOutcomes(db, owner, outcomes, own, latest, now);
  const status = outcomes.some((o) => o.status === "trained") ? "done" : "skipped";
  const kinds: TrainingSummary["kinds"] = {};
  for (const outcome of outcomes) {
    const version = stored.find((s) => s.kind === outcome.kind);
    kinds[outcome.kind] = {
      status: outcome.status,
      reason: outcome.reason,
      version: version?.version ?? null,
      promoted: false,
    };
  }
  const detail = { tasks: samples.length, checkins: checkins.length, kinds };
  // What the run records as promoted is read back from the rows the batch left, not assumed: a guarded
  // flip that lost a race changed nothing.
  const promotedPaths = stored.map(
    (s) =>
      sql`, ${`$.kinds.${s.kind}.promoted`}, json(CASE WHEN (SELECT m.promoted FROM learning_models m WHERE m.id = ${s.id}) = 1 THEN 'true' ELSE 'false' END)`,
  );
  const write = new D1Batch();
  // The account may have been deleted while its history was read or its models trained.
  if (!population) write.addAll(abortIfAccountGone(db, [owner]));
  write.addAll(statements);
  write.add(pruneRuns(db, owner, now));
  write.add(
    db
      .update(learningRuns)
      .set({
        status,
        trainingMs,
        detail: sql`json_set(${JSON.stringify(detail)}${sql.join(promotedPaths, sql``)})`,
        finishedAt: nowIso(now),
      })
      .where(heldRun(owner, night, token)),
  );
  const after = write.add(
    db
      .select({ id: learningModels.id, promoted: learningModels.promoted })
      .from(learningModels)
      .where(inArray(learningModels.id, stored.length > 0 ? stored.map((s) => s.id) : [""])),
  );
  let results2: readonly unknown[];
  try {
    results2 = await write.run(db);
  } catch (error) {
    if (isGuardAbort(error)) return null;
    throw error;
  }
  const flags = new Map(after(results2).map((r) => [r.id, r.promoted]));
  for (const s of stored) {
    const kind = kinds[s.kind];
    if (kind) kind.promoted = flags.get(s.id) === true;
  }
  return { owner, status, trainingMs, tasks: samples.length, checkins: checkins.length, kinds };
}
