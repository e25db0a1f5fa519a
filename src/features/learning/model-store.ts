/** learning_models: the promoted versions, the latest version numbers, and the writes of a training. */
import { and, eq, inArray, lte, max, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { learningModels, type ModelKind } from "../../db/schema";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { KindOutcome } from "./train";

export type ModelRow = typeof learningModels.$inferSelect;

/** Versions kept per owner and kind besides the promoted one: older unpromoted ones are deleted. */
export const KEPT_VERSIONS = 10;

/** The promoted version of each kind, of these owners (a user and "*", the population). */
export function promotedQuery(db: Database, owners: readonly string[], kinds?: readonly ModelKind[]) {
  return db
    .select()
    .from(learningModels)
    .where(
      and(
        inArray(learningModels.userId, [...owners]),
        eq(learningModels.promoted, true),
        kinds ? inArray(learningModels.kind, [...kinds]) : undefined,
      ),
    );
}

/** The latest version number of each kind an owner has. */
export function latestVersionsQuery(db: Database, owner: string) {
  return db
    .select({ kind: learningModels.kind, version: max(learningModels.version) })
    .from(learningModels)
    .where(eq(learningModels.userId, owner))
    .groupBy(learningModels.kind);
}

/**
 * The statements that store one training's new versions, promote those the rule allows and forget
 * versions past KEPT_VERSIONS. The flip
 * is one guarded UPDATE: it runs only while the version it was compared with is still the promoted one
 * (or none is), and sets exactly one row promoted, so two trainings racing cannot leave two.
 */
export function storeOutcomes(
  db: Database,
  owner: string,
  outcomes: readonly KindOutcome[],
  current: Partial<Record<ModelKind, ModelRow>>,
  versions: Partial<Record<ModelKind, number>>,
  now: number,
) {
  const statements = [];
  const stored: { kind: ModelKind; id: string; version: number; promoted: boolean }[] = [];
  for (const outcome of outcomes) {
    if (outcome.status !== "trained") continue;
    const id = newId(now);
    const version = (versions[outcome.kind] ?? 0) + 1;
    statements.push(
      db.insert(learningModels).values({
        id,
        userId: owner,
        kind: outcome.kind,
        version,
        algorithm: outcome.algorithm,
        params: outcome.params,
        metrics: { ...outcome.metrics, decision: outcome.reason },
        promoted: false,
        trainSamples: outcome.trainSamples,
        testSamples: outcome.testSamples,
        trainedAt: nowIso(now),
      }),
    );
    if (outcome.promote) {
      const was = current[outcome.kind]?.id ?? null;
      statements.push(
        db
          .update(learningModels)
          .set({ promoted: sql`CASE WHEN ${learningModels.id} = ${id} THEN 1 ELSE 0 END` })
          .where(
            and(
              eq(learningModels.userId, owner),
              eq(learningModels.kind, outcome.kind),
              sql`(${learningModels.id} = ${id} OR ${learningModels.promoted} = 1)`,
              sql`(SELECT m.id FROM learning_models m WHERE m.user_id = ${owner} AND m.kind = ${outcome.kind} AND m.promoted = 1) IS ${was}`,
            ),
          ),
      );
    }
    // Retention: the promoted version and the last KEPT_VERSIONS, by the (user, kind, version) index.
    statements.push(
      db
        .delete(learningModels)
        .where(
          and(
            eq(learningModels.userId, owner),
            eq(learningModels.kind, outcome.kind),
            lte(learningModels.version, version - KEPT_VERSIONS),
            eq(learningModels.promoted, false),
          ),
        ),
    );
    stored.push({ kind: outcome.kind, id, version, promoted: outcome.promote });
  }
  return { statements, stored };
}
