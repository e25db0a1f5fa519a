/**
 * One training run: read the owner's history (one round trip), train every kind (pure, timed), store
 * the new versions, promotions and the run's record (one batch).
 */
import { and, eq } from "drizzle-orm";
import type { Database } from "../../db";
import { learningRuns, type ModelKind, POPULATION } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { nowIso } from "../../lib/time";
import {
  checkinsQuery,
  energyLookup,
  finishedTasksQuery,
  type Scope,
  toEnergySamples,
  toTaskSample,
} from "./history";
import { latestVersionsQuery, type ModelRow, promotedQuery, storeOutcomes } from "./model-store";
import { trainAll } from "./train";

export interface TrainingSummary {
  owner: string;
  status: "done" | "skipped";
  trainingMs: number;
  tasks: number;
  checkins: number;
  kinds: Record<string, { status: string; reason: string; version: number | null; promoted: boolean }>;
}

/** Trains `owner` (a user id, or POPULATION) and records it in its learning_runs row of `night`. */
export async function trainOwner(
  db: Database,
  owner: string,
  night: string,
  now = Date.now(),
): Promise<TrainingSummary> {
  const scope: Scope = owner === POPULATION ? { population: true } : { userId: owner };
  const read = new D1Batch();
  const taskRows = read.add(finishedTasksQuery(db, scope, now));
  const checkinRows = read.add(checkinsQuery(db, scope, now));
  const promoted = read.add(promotedQuery(db, [owner]));
  const versions = read.add(latestVersionsQuery(db, owner));
  const results = await read.run(db);

  const checkins = checkinRows(results);
  const lookup = energyLookup(checkins);
  const current: Partial<Record<ModelKind, ModelRow>> = {};
  for (const row of promoted(results)) current[row.kind] = row;
  const latest: Partial<Record<ModelKind, number>> = {};
  for (const row of versions(results)) latest[row.kind] = row.version ?? 0;

  // Wall time of the pure work only: no I/O happens inside, so it is close to the CPU time spent.
  const started = performance.now();
  const samples = taskRows(results).map((row) => toTaskSample(row, { energy: lookup }));
  const outcomes = trainAll({
    tasks: samples,
    checkins: toEnergySamples(checkins),
    current: Object.fromEntries(Object.entries(current).map(([kind, row]) => [kind, row.params])),
  });
  const trainingMs = performance.now() - started;

  const { statements, stored } = storeOutcomes(db, owner, outcomes, current, latest, now);
  const kinds: TrainingSummary["kinds"] = {};
  for (const outcome of outcomes) {
    const version = stored.find((s) => s.kind === outcome.kind);
    kinds[outcome.kind] = {
      status: outcome.status,
      reason: outcome.reason,
      version: version?.version ?? null,
      promoted: version?.promoted ?? false,
    };
  }
  const status = outcomes.some((o) => o.status === "trained") ? "done" : "skipped";
  const summary: TrainingSummary = {
    owner,
    status,
    trainingMs: Math.round(trainingMs * 10) / 10,
    tasks: samples.length,
    checkins: checkins.length,
    kinds,
  };
  const write = new D1Batch();
  write.addAll(statements);
  write.add(
    db
      .update(learningRuns)
      .set({
        status,
        trainingMs: summary.trainingMs,
        detail: { tasks: summary.tasks, checkins: summary.checkins, kinds },
        finishedAt: nowIso(now),
      })
      .where(and(eq(learningRuns.userId, owner), eq(learningRuns.night, night))),
  );
  await write.run(db);
  return summary;
}
