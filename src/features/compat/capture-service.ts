import type { Database } from "../../db";
import { validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import type { IdempotencyContext, WriteOutcome } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { parseCapture } from "../capture/parse";
import { TITLE_MAX } from "../capture/service";
import { PRIOR_DIFFICULTY } from "../learning/difficulty";
import { splitLocally } from "../splitting/local-splitter";
import { MAX_STEPS_PER_TASK } from "../tasks/schemas";
import { createTask } from "../tasks/service";
import type {
  LegacyCapture,
  LegacyClarify,
  LegacySaveBody,
  LegacySaved,
  LegacyStepInput,
} from "./capture-schemas";
import { normalisedSteps, previewSteps, stepsToSave } from "./capture-steps";
import { difficultyFromProfile, energyFromProfile } from "./onboarding-defaults";
import { onboardingForSplitQuery } from "./onboarding-service";

const DEFAULT_MODE = "auto";

/**
 * The original's capture: one line read by our parser and split by the local splitter, shown for the
 * person to check. Nothing is written (they may still cancel); POST /capture/save stores it.
 */
export async function previewCapture(
  db: Database,
  userId: string,
  body: { query: string; timezone?: string | undefined; mode?: string | undefined },
): Promise<LegacyCapture> {
  // The user's zone and onboarding answers in one read: they size the steps as a split would. A batch
  // of its own, so the route's account check rides in it (first in the batch, on the primary).
  const [[row]] = await db.batch([onboardingForSplitQuery(db, userId)]);
  const timeZone = body.timezone ?? row?.time_zone ?? "UTC";
  const profile = row
    ? { adhd_support_level: row.adhd_support_level, daily_schedule: row.daily_schedule }
    : undefined;
  const now = Date.now();
  const parsed = parseCapture(body.query, { timeZone, now: new Date(now) });
  const title = parsed.title.slice(0, TITLE_MAX);
  // The deterministic local splitter: a preview costs no AI call and answers the same for the same line.
  const plan = splitLocally({
    title,
    estimatedMinutes: parsed.estimated_minutes,
    energy: energyFromProfile(profile, timeZone, now) ?? "medium",
    difficulty: difficultyFromProfile(profile) ?? PRIOR_DIFFICULTY,
  });
  return {
    task: {
      task_id: newId(),
      title,
      description: parsed.title.length > TITLE_MAX ? parsed.title : "",
      estimated_minutes: parsed.estimated_minutes ?? plan.task_minutes,
      priority: parsed.priority ?? "medium",
      tags: parsed.tags,
      due_at: parsed.due_at,
    },
    micro_steps: previewSteps(plan.suggested_steps, () => newId()),
    clarifications: [],
    ready_to_save: true,
    mode: body.mode ?? DEFAULT_MODE,
  };
}

/** The clarify screen's steps, put in order; we ask no questions, so it is always ready to save. */
export function clarifyCapture(steps: LegacyStepInput[]): LegacyClarify {
  return {
    task: {},
    micro_steps: normalisedSteps(steps, () => newId()),
    clarifications: [],
    ready_to_save: true,
    mode: "clarify",
  };
}

/**
 * Saves a previewed capture as a task with its steps (through the tasks service: events as for any
 * task). A `project_id` that is not one of the caller's tasks is ignored: the app sends a placeholder.
 */
export async function saveCapture(
  db: Database,
  userId: string,
  body: LegacySaveBody,
  idempotency: IdempotencyContext | undefined,
): Promise<WriteOutcome<LegacySaved, Envelope>> {
  const steps = stepsToSave(body.micro_steps ?? []);
  if (steps.length > MAX_STEPS_PER_TASK) {
    throw validationFailed(
      [{ field: "micro_steps", message: `At most ${MAX_STEPS_PER_TASK} steps of up to 10 minutes` }],
      `These steps make ${steps.length} micro-steps of up to 10 minutes; a task holds at most ${MAX_STEPS_PER_TASK}.`,
    );
  }
  const { task } = body;
  const long = task.title.length > TITLE_MAX;
  const result = await createTask(
    db,
    userId,
    {
      title: task.title.slice(0, TITLE_MAX).trim(),
      description: task.description || (long ? task.title : null),
      priority: task.priority,
      tags: task.tags,
      estimated_minutes: task.estimated_minutes,
      due_at: task.due_at,
      micro_steps: steps,
      ...(body.project_id ? { project_id: body.project_id } : {}),
    },
    idempotency,
    { unknownProject: "ignore" },
  );
  const saved = result.body;
  const ids = (saved.micro_steps ?? []).map((s) => s.step_id);
  return {
    ...result,
    body: {
      success: true,
      task_id: saved.task_id,
      micro_step_ids: ids,
      total_steps: ids.length,
      message: `Capture saved: ${ids.length} micro-step${ids.length === 1 ? "" : "s"} created.`,
      task: saved,
    },
  };
}
