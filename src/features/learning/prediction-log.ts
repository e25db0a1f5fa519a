/**
 * prediction_log: one row per user, kind, subject and model — asking again finds the row already
 * there (INSERT … ON CONFLICT DO NOTHING) — scored when the truth arrives.
 */
import { and, desc, eq, gte, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { energyCheckins, type ModelKind, predictionLog } from "../../db/schema";
import { rawStatement } from "../../lib/batch";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";

export interface LoggedPrediction {
  subject: string;
  modelId: string;
  predicted: number;
}

/** Logs one prediction (nothing when it is already logged). */
export function logPrediction(
  db: Database,
  userId: string,
  kind: ModelKind,
  p: LoggedPrediction,
  now: number,
) {
  return db
    .insert(predictionLog)
    .values({
      id: newId(now),
      userId,
      kind,
      subject: p.subject,
      modelId: p.modelId,
      predicted: p.predicted,
      createdAt: nowIso(now),
    })
    .onConflictDoNothing();
}

/** The logged row of a prediction (after logPrediction in the same batch: the first one asked). */
export function loggedQuery(db: Database, userId: string, kind: ModelKind, subject: string, modelId: string) {
  return db
    .select({ id: predictionLog.id, predicted: predictionLog.predicted, createdAt: predictionLog.createdAt })
    .from(predictionLog)
    .where(
      and(
        eq(predictionLog.userId, userId),
        eq(predictionLog.kind, kind),
        eq(predictionLog.subject, subject),
        eq(predictionLog.modelId, modelId),
      ),
    );
}

/** Logs many predictions of one kind in one statement (the rows travel as one JSON parameter). */
export function logPredictions(
  db: Database,
  userId: string,
  kind: ModelKind,
  rows: readonly LoggedPrediction[],
  now: number,
) {
  const json = JSON.stringify(
    rows.map((r) => ({ id: newId(now), s: r.subject, m: r.modelId, p: r.predicted })),
  );
  return rawStatement(
    db,
    sql`INSERT INTO prediction_log (id, user_id, kind, subject, model_id, predicted, created_at)
      SELECT json_extract(value, '$.id'), ${userId}, ${kind}, json_extract(value, '$.s'), json_extract(value, '$.m'),
        json_extract(value, '$.p'), ${nowIso(now)}
      FROM json_each(${json}) WHERE true
      ON CONFLICT DO NOTHING`,
  );
}

/** Scores a user's open predictions of a subject against the truth. */
export function scorePredictions(
  db: Database,
  userId: string,
  kind: ModelKind,
  subject: string,
  actual: number,
) {
  return db
    .update(predictionLog)
    .set({ actual, absError: sql`abs(${predictionLog.predicted} - ${actual})`, scoredAt: nowIso() })
    .where(
      and(
        eq(predictionLog.userId, userId),
        eq(predictionLog.kind, kind),
        eq(predictionLog.subject, subject),
        sql`${predictionLog.actual} IS NULL`,
      ),
    );
}

/** The user's latest check-in within the last few hours: their energy now, if they said. */
export function energyNowQuery(db: Database, userId: string, now: number) {
  return db
    .select({ level: energyCheckins.level })
    .from(energyCheckins)
    .where(and(eq(energyCheckins.userId, userId), gte(energyCheckins.at, nowIso(now - 3 * 3_600_000))))
    .orderBy(desc(energyCheckins.at))
    .limit(1);
}
