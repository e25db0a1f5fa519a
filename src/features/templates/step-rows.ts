import type { Database } from "../../db";
import { templateSteps } from "../../db/schema";
import { chunkRows } from "../../lib/chunk";
import { newId } from "../../lib/ids";
import { DEFAULT_STEP_MINUTES } from "../tasks/schemas";
import type { TemplateStepDto, TemplateStepInput } from "./schemas";

type TemplateStepRow = typeof templateSteps.$inferSelect;

/** Columns of a template_steps row: a bulk insert fits 100 / 8 = 12 rows per statement. */
const STEP_COLUMNS = 8;

/** The rows for a template's steps, numbered from 1 in the order given, defaults filled in. */
export function templateStepRows(
  templateId: string,
  steps: TemplateStepInput[],
  now: number,
): TemplateStepRow[] {
  return steps.map((step, i) => ({
    id: newId(now),
    templateId,
    position: i + 1,
    description: step.description,
    shortLabel: step.short_label ?? null,
    estimatedMinutes: step.estimated_minutes ?? DEFAULT_STEP_MINUTES,
    leafType: step.leaf_type ?? "HUMAN",
    icon: step.icon ?? null,
  }));
}

export function insertTemplateStepStatements(db: Database, rows: TemplateStepRow[]) {
  return chunkRows(rows, STEP_COLUMNS).map((chunk) => db.insert(templateSteps).values(chunk));
}

export function templateStepRowToDto(row: TemplateStepRow): TemplateStepDto {
  return {
    position: row.position,
    description: row.description,
    short_label: row.shortLabel,
    estimated_minutes: row.estimatedMinutes,
    leaf_type: row.leafType,
    icon: row.icon,
  };
}
