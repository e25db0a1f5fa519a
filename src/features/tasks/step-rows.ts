import type { Database } from "../../db";
import { microSteps } from "../../db/schema";
import { chunkRows } from "../../lib/chunk";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { DEFAULT_STEP_MINUTES, type StepInput } from "./schemas";

type StepRow = typeof microSteps.$inferSelect;

/** Columns of a micro_steps row: a bulk insert fits 100 / 13 = 7 rows per statement. */
const STEP_COLUMNS = 13;

export function stepRows(
  userId: string,
  taskId: string,
  steps: StepInput[],
  firstPosition: number,
  now: number,
): StepRow[] {
  return steps.map((step, i) => ({
    id: newId(now),
    taskId,
    userId,
    position: firstPosition + i,
    description: step.description,
    shortLabel: step.short_label ?? null,
    icon: step.icon ?? null,
    estimatedMinutes: step.estimated_minutes ?? DEFAULT_STEP_MINUTES,
    leafType: step.leaf_type ?? "HUMAN",
    status: "pending",
    completedAt: null,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  }));
}

export function insertStepStatements(db: Database, rows: StepRow[]) {
  return chunkRows(rows, STEP_COLUMNS).map((chunk) => db.insert(microSteps).values(chunk));
}
