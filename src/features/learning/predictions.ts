/** The prediction reads: one round trip to read, one to log (and read back) the prediction. */
import { and, eq, isNull } from "drizzle-orm";
import type { Database } from "../../db";
import { type ModelKind, POPULATION, tasks, users } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { notFound } from "../../lib/errors";
import { localParts } from "../../lib/time";
import { type Answerer, answererOf, noteFor, PRIOR_MODEL_ID } from "./answering";
import { BestTimeParamsSchema, bestBlocks } from "./best-time";
import { DifficultyParamsSchema, PRIOR_DIFFICULTY, predictDifficulty } from "./difficulty";
import { DurationParamsSchema, type DurationPrediction, predictDuration, priorDuration } from "./duration";
import { bestHours, EnergyParamsSchema, energyAt, priorEnergy } from "./energy";
import { historyCountQuery, openSample, type TaskFeatureRow, taskEnergy, taskFeatureQuery } from "./history";
import { promotedQuery } from "./model-store";
import { energyNowQuery, loggedQuery, logPrediction, logPredictions } from "./prediction-log";
import { MIN_HISTORY } from "./train";

const OPEN = new Set(["pending", "in_progress", "blocked"]);

/**
 * Reads a task of the user's with its features, the models that may answer, their energy now and how
 * much history of `kind` they have (for the note).
 */
async function readForTask(db: Database, userId: string, taskId: string, kind: ModelKind, now: number) {
  const batch = new D1Batch();
  const task = batch.add(
    taskFeatureQuery(db, and(eq(tasks.userId, userId), eq(tasks.id, taskId), isNull(tasks.deletedAt))).limit(
      1,
    ),
  );
  const models = batch.add(promotedQuery(db, [userId, POPULATION], [kind]));
  const energy = batch.add(energyNowQuery(db, userId, now));
  const count = batch.add(historyCountQuery(db, userId, kind, now));
  const results = await batch.run(db);
  const row = task(results)[0];
  if (!row) throw notFound("Task");
  return {
    row,
    models: models(results),
    energyNow: energy(results)[0]?.level ?? null,
    // An aggregate without GROUP BY: always one row.
    history: count(results)[0]!.n,
  };
}

/**
 * Logs the prediction of an open task (a closed one's truth is already in) and answers its log row:
 * the first value logged for this task and model, which the answer repeats while the model is the same.
 */
async function logged(
  db: Database,
  userId: string,
  kind: ModelKind,
  row: TaskFeatureRow,
  answerer: Answerer,
  predicted: number,
  now: number,
) {
  if (!OPEN.has(row.status)) return null;
  const modelId = answerer.row?.id ?? PRIOR_MODEL_ID;
  const batch = new D1Batch();
  batch.add(logPrediction(db, userId, kind, { subject: row.id, modelId, predicted }, now));
  const read = batch.add(loggedQuery(db, userId, kind, row.id, modelId));
  const found = read(await batch.run(db))[0];
  return found ? { prediction_id: found.id, predicted: found.predicted, logged_at: found.createdAt } : null;
}

/** A prediction moved to the logged value, its range moved by the same factor. */
function asLogged(prediction: DurationPrediction, value: number | undefined): DurationPrediction {
  if (value === undefined || value === prediction.minutes || prediction.minutes <= 0) return prediction;
  const factor = value / prediction.minutes;
  return {
    minutes: Math.round(value),
    low: Math.min(Math.round(value), Math.round(prediction.low * factor)),
    high: Math.max(Math.round(value), Math.round(prediction.high * factor)),
  };
}

export async function predictTaskDuration(db: Database, userId: string, taskId: string, now = Date.now()) {
  const { row, models, energyNow, history } = await readForTask(db, userId, taskId, "duration", now);
  const sample = openSample(row, now, taskEnergy(row, undefined, energyNow));
  const answerer = answererOf(models, userId, "duration", "prior-estimate-or-25-minutes");
  const params = DurationParamsSchema.safeParse(answerer.row?.params);
  const fresh: DurationPrediction = params.success
    ? predictDuration(params.data, sample)
    : priorDuration(sample);
  const log = await logged(db, userId, "duration", row, answerer, fresh.minutes, now);
  const prediction = asLogged(fresh, log?.predicted);
  return {
    task_id: row.id,
    predicted_minutes: prediction.minutes,
    range: { low: prediction.low, high: prediction.high },
    estimated_minutes: row.estimate,
    model: answerer.info,
    note: noteFor("duration", answerer.info.scope, { have: history, needed: MIN_HISTORY }),
    timed_tasks: history,
    timed_tasks_needed: MIN_HISTORY,
    prediction_id: log?.prediction_id ?? null,
  };
}

export async function predictTaskDifficulty(db: Database, userId: string, taskId: string, now = Date.now()) {
  const { row, models, energyNow, history } = await readForTask(db, userId, taskId, "difficulty", now);
  const sample = openSample(row, now, taskEnergy(row, undefined, energyNow));
  const answerer = answererOf(models, userId, "difficulty", "prior-middle-of-the-scale");
  const params = DifficultyParamsSchema.safeParse(answerer.row?.params);
  const fresh = params.success ? predictDifficulty(params.data, sample) : PRIOR_DIFFICULTY;
  const log = await logged(db, userId, "difficulty", row, answerer, fresh, now);
  return {
    task_id: row.id,
    difficulty: log?.predicted ?? fresh,
    model: answerer.info,
    note: noteFor("difficulty", answerer.info.scope, { have: history, needed: MIN_HISTORY }),
    prediction_id: log?.prediction_id ?? null,
  };
}

/** The subject of an energy prediction: the local date and hour it is about ("2030-01-31T09"). */
export const energySubject = (date: string, hour: number) => `${date}T${String(hour).padStart(2, "0")}`;

const round3 = (v: number) => Math.round(v * 1000) / 1000;

export async function predictEnergy(db: Database, userId: string, now = Date.now()) {
  const batch = new D1Batch();
  const user = batch.add(db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)));
  const models = batch.add(promotedQuery(db, [userId, POPULATION], ["energy", "best_time"]));
  const count = batch.add(historyCountQuery(db, userId, "energy", now));
  const bestCount = batch.add(historyCountQuery(db, userId, "best_time", now));
  const results = await batch.run(db);
  const zone = user(results)[0]?.timezone ?? "UTC";
  const answerer = answererOf(models(results), userId, "energy", "prior-mostly-medium");
  const parsed = EnergyParamsSchema.safeParse(answerer.row?.params);
  const params = parsed.success ? parsed.data : priorEnergy();
  const local = localParts(zone, now);
  const hours = Array.from({ length: 24 }, (_, h) => energyAt(params, h));
  const modelId = answerer.row?.id ?? PRIOR_MODEL_ID;
  // The hours still ahead today are logged; each is scored by the first check-in in that local hour.
  await logPredictions(
    db,
    userId,
    "energy",
    hours
      .filter((h) => h.hour >= local.hour)
      .map((h) => ({ subject: energySubject(local.date, h.hour), modelId, predicted: h.expected })),
    now,
  );
  const personal = answerer.info.scope === "personal";
  const best = answererOf(models(results), userId, "best_time", "none");
  const bestParams = BestTimeParamsSchema.safeParse(best.row?.params);
  return {
    timezone: zone,
    date: local.date,
    current_hour: local.hour,
    hours: hours.map((h) => ({
      hour: h.hour,
      level: h.level,
      probability: round3(h.probability),
      expected_level: round3(h.expected),
      // Counts of the user's own check-ins only: a population model's would be other people's.
      samples: personal ? h.samples : 0,
    })),
    best_hours: bestHours(params),
    model: answerer.info,
    // Counts are aggregates without GROUP BY: always one row.
    note: noteFor("energy", answerer.info.scope, { have: count(results)[0]!.n, needed: MIN_HISTORY }),
    best_times: {
      blocks: bestParams.success
        ? bestBlocks(bestParams.data).map((b) => ({
            category: b.category,
            start_hour: b.start_hour,
            end_hour: b.end_hour,
            on_time_rate: round3(b.on_time_rate),
            median_ratio: round3(b.median_ratio),
            samples: best.info.scope === "personal" ? b.samples : 0,
          }))
        : [],
      model: best.info,
      note:
        best.info.scope === "prior"
          ? null
          : noteFor("best_time", best.info.scope, {
              have: bestCount(results)[0]!.n,
              needed: MIN_HISTORY,
            }),
    },
  };
}
