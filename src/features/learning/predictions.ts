/** The prediction reads: one round trip to read, one to log (and read back) the prediction. */
import { and, eq, isNotNull, isNull, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { type ModelKind, POPULATION, tasks, users } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { notFound } from "../../lib/errors";
import { localParts } from "../../lib/time";
import { type Answerer, answererOf, noteFor, PRIOR_MODEL_ID } from "./answering";
import { DifficultyParamsSchema, PRIOR_DIFFICULTY, predictDifficulty } from "./difficulty";
import { DurationParamsSchema, type DurationPrediction, predictDuration, priorDuration } from "./duration";
import { bestHours, EnergyParamsSchema, energyAt, priorEnergy } from "./energy";
import { type TaskFeatureRow, taskFeatureQuery, toTaskSample } from "./history";
import { promotedQuery } from "./model-store";
import { energyNowQuery, loggedQuery, logPrediction, logPredictions } from "./prediction-log";
import { MIN_HISTORY } from "./train";

const OPEN = new Set(["pending", "in_progress", "blocked"]);

/** Reads a task of the user's with its features, the models that may answer, and their energy now. */
async function readForTask(db: Database, userId: string, taskId: string, kind: ModelKind, now: number) {
  const batch = new D1Batch();
  const task = batch.add(
    taskFeatureQuery(db, and(eq(tasks.userId, userId), eq(tasks.id, taskId), isNull(tasks.deletedAt))).limit(
      1,
    ),
  );
  const models = batch.add(promotedQuery(db, [userId, POPULATION], [kind]));
  const energy = batch.add(energyNowQuery(db, userId, now));
  const timed = batch.add(
    db
      .select({ n: sql<number>`count(*)` })
      .from(tasks)
      .where(
        and(
          eq(tasks.userId, userId),
          eq(tasks.status, "completed"),
          isNotNull(tasks.actualMinutes),
          isNull(tasks.deletedAt),
        ),
      ),
  );
  const results = await batch.run(db);
  const row = task(results)[0];
  if (!row) throw notFound("Task");
  return {
    row,
    models: models(results),
    energyNow: energy(results)[0]?.level ?? null,
    timed: timed(results)[0]?.n ?? 0,
  };
}

/** Logs the prediction of an open task (a closed one's truth is already in) and answers its log row. */
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

export async function predictTaskDuration(db: Database, userId: string, taskId: string, now = Date.now()) {
  const { row, models, energyNow, timed } = await readForTask(db, userId, taskId, "duration", now);
  const sample = toTaskSample(row, { at: now, energy: () => energyNow });
  const answerer = answererOf(models, userId, "duration", "prior-estimate-or-25-minutes");
  const params = DurationParamsSchema.safeParse(answerer.row?.params);
  const prediction: DurationPrediction = params.success
    ? predictDuration(params.data, sample)
    : priorDuration(sample);
  const log = await logged(db, userId, "duration", row, answerer, prediction.minutes, now);
  return {
    task_id: row.id,
    predicted_minutes: prediction.minutes,
    range: { low: prediction.low, high: prediction.high },
    estimated_minutes: row.estimate,
    model: answerer.info,
    note: noteFor(answerer.info.scope),
    timed_tasks: timed,
    timed_tasks_needed: MIN_HISTORY,
    prediction_id: log?.prediction_id ?? null,
  };
}

export async function predictTaskDifficulty(db: Database, userId: string, taskId: string, now = Date.now()) {
  const { row, models, energyNow } = await readForTask(db, userId, taskId, "difficulty", now);
  const sample = toTaskSample(row, { at: now, energy: () => energyNow });
  const answerer = answererOf(models, userId, "difficulty", "prior-middle-of-the-scale");
  const params = DifficultyParamsSchema.safeParse(answerer.row?.params);
  const difficulty = params.success ? predictDifficulty(params.data, sample) : PRIOR_DIFFICULTY;
  const log = await logged(db, userId, "difficulty", row, answerer, difficulty, now);
  return {
    task_id: row.id,
    difficulty,
    model: answerer.info,
    note: noteFor(answerer.info.scope),
    prediction_id: log?.prediction_id ?? null,
  };
}

/** The subject of an energy prediction: the local date and hour it is about ("2030-01-31T09"). */
export const energySubject = (date: string, hour: number) => `${date}T${String(hour).padStart(2, "0")}`;

export async function predictEnergy(db: Database, userId: string, now = Date.now()) {
  const batch = new D1Batch();
  const user = batch.add(db.select({ timezone: users.timezone }).from(users).where(eq(users.id, userId)));
  const models = batch.add(promotedQuery(db, [userId, POPULATION], ["energy"]));
  const results = await batch.run(db);
  const zone = user(results)[0]?.timezone ?? "UTC";
  const answerer = answererOf(models(results), userId, "energy", "prior-mostly-medium");
  const parsed = EnergyParamsSchema.safeParse(answerer.row?.params);
  const params = parsed.success ? parsed.data : priorEnergy();
  const local = localParts(zone, now);
  const hours = Array.from({ length: 24 }, (_, h) => energyAt(params, h));
  const modelId = answerer.row?.id ?? PRIOR_MODEL_ID;
  // Today's 24 hours are logged; each is scored by the first check-in in that local hour.
  await logPredictions(
    db,
    userId,
    "energy",
    hours.map((h) => ({ subject: energySubject(local.date, h.hour), modelId, predicted: h.expected })),
    now,
  );
  return {
    timezone: zone,
    date: local.date,
    current_hour: local.hour,
    hours: hours.map((h) => ({
      hour: h.hour,
      level: h.level,
      probability: Math.round(h.probability * 1000) / 1000,
      expected_level: Math.round(h.expected * 1000) / 1000,
      samples: h.samples,
    })),
    best_hours: bestHours(params),
    model: answerer.info,
    note: noteFor(answerer.info.scope),
  };
}
