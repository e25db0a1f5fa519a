/** GET /models: the user's versions (newest first, paged), the population's promoted ones, live errors. */
import { and, desc, eq, lt, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { learningModels, type ModelKind, POPULATION, predictionLog } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { type Page, pageOf, rowsToFetch } from "../../lib/pagination";
import { modelInfo } from "./answering";
import type { ModelRow } from "./model-store";

function toDto(row: ModelRow, live: Map<string, { scored: number; mae: number | null }>) {
  const info = modelInfo(row, row.userId === POPULATION ? "population" : "personal");
  return {
    model_id: row.id,
    kind: row.kind,
    version: row.version,
    scope: info.scope,
    algorithm: row.algorithm,
    promoted: row.promoted,
    metrics: row.metrics,
    mae: info.mae,
    baseline_mae: info.baseline_mae,
    train_samples: row.trainSamples,
    test_samples: row.testSamples,
    trained_at: row.trainedAt,
    live: row.promoted ? (live.get(row.id) ?? { scored: 0, mae: null }) : null,
  };
}

export type ModelDto = ReturnType<typeof toDto>;

export async function listModels(
  db: Database,
  userId: string,
  query: { kind?: ModelKind; limit: number },
  afterId: string | null,
): Promise<Page<ModelDto>> {
  const batch = new D1Batch();
  const own = batch.add(
    db
      .select()
      .from(learningModels)
      .where(
        and(
          eq(learningModels.userId, userId),
          query.kind ? eq(learningModels.kind, query.kind) : undefined,
          afterId ? lt(learningModels.id, afterId) : undefined,
        ),
      )
      .orderBy(desc(learningModels.id))
      .limit(rowsToFetch(query.limit)),
  );
  // The population's promoted versions: what answers this user where they have none of their own.
  const population = batch.add(
    db
      .select()
      .from(learningModels)
      .where(
        and(
          eq(learningModels.userId, POPULATION),
          eq(learningModels.promoted, true),
          query.kind ? eq(learningModels.kind, query.kind) : undefined,
        ),
      ),
  );
  const live = batch.add(
    db
      .select({
        modelId: predictionLog.modelId,
        scored: sql<number>`count(*)`,
        mae: sql<number>`avg(${predictionLog.absError})`,
      })
      .from(predictionLog)
      .where(
        and(
          eq(predictionLog.userId, userId),
          sql`${predictionLog.absError} IS NOT NULL`,
          sql`${predictionLog.modelId} IN (SELECT m.id FROM learning_models m WHERE m.promoted = 1 AND m.user_id IN (${userId}, ${POPULATION}))`,
        ),
      )
      .groupBy(predictionLog.modelId),
  );
  const results = await batch.run(db);
  const errors = new Map(
    live(results).map((r) => [
      r.modelId,
      // Only scored predictions are counted (abs_error IS NOT NULL): their mean is a number.
      { scored: r.scored, mae: Math.round(r.mae * 1000) / 1000 },
    ]),
  );
  const page = pageOf(
    own(results),
    query.limit,
    (row) => toDto(row, errors),
    (row) => row.id,
  );
  if (afterId === null) page.items.push(...population(results).map((row) => toDto(row, errors)));
  return page;
}
