import { and, eq, exists, inArray, not, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskTemplates, templateSteps } from "../../db/schema";
import { abortIf, D1Batch, isGuardAbort, rawStatement } from "../../lib/batch";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import {
  type IdempotencyContext,
  type PreparedWrite,
  type WriteOutcome,
  writeOnce,
} from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { MAX_STEPS_PER_TASK, type TaskDto } from "../tasks/schemas";
import { getTask } from "../tasks/service";
import { newTaskWrite } from "../tasks/statements";
import {
  insertTemplateStepStatements,
  ownedBy,
  templateByIdQuery,
  templateStepRows,
  templateStepRowToDto,
  toTemplateDto,
} from "./queries";
import {
  type ApplyTemplateInput,
  type CreateTemplateInput,
  MAX_TEMPLATE_NAME,
  MAX_TEMPLATE_STEPS,
  type SaveAsTemplateInput,
  type TemplateDto,
  type TemplateStepInput,
  type UpdateTemplateInput,
} from "./schemas";
import { deleteSharesStatements } from "./share-queries";
import { microStepsOf } from "./steps";

type TemplateRow = typeof taskTemplates.$inferSelect;

export type CreatedTemplate = WriteOutcome<TemplateDto, never>;

/** 403 for a template the caller can see but does not own: a default, or someone else's public one. */
function notYours(template: TemplateRow): ApiError {
  return new ApiError(
    403,
    "not_template_owner",
    template.userId === null
      ? "This is one of the built-in templates, so it cannot be changed; create your own template instead."
      : "Only the person who made this template can change it; you can still apply it.",
  );
}

/** The batch writing a new template with its steps (after what `batch` holds), and the template it answers. */
export function templateWrite(
  db: Database,
  userId: string,
  input: CreateTemplateInput,
  batch = new D1Batch(),
): PreparedWrite<TemplateDto, never> {
  const now = Date.now();
  // The global id is always the server's; the one the client chose is theirs alone (client_id).
  const id = newId(now);
  const clientId = input.template_id ?? id;
  const template: TemplateRow = {
    id,
    userId,
    clientId,
    name: input.name,
    description: input.description ?? null,
    category: input.category,
    icon: input.icon ?? null,
    isPublic: input.is_public ?? false,
    timesApplied: 0,
    uses: 0,
    listedByCode: false,
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  };
  const steps = templateStepRows(id, input.steps, now);
  const body = toTemplateDto({ template, steps: steps.map(templateStepRowToDto) }, userId);

  batch.add(db.insert(taskTemplates).values(template));
  batch.addAll(insertTemplateStepStatements(db, steps));
  const failure = (error: unknown) =>
    input.template_id !== undefined && isUniqueViolation(error)
      ? new ApiError(
          409,
          "template_id_taken",
          `You already have a template with the id "${clientId}"; choose another one.`,
        )
      : error;
  return { status: 201, batch, body, failure };
}

/** The fields a step carries from a task to a template and back. */
export function stepInputOf(step: {
  description: string;
  short_label: string | null;
  icon: string | null;
  estimated_minutes: number;
  leaf_type: "DIGITAL" | "HUMAN";
}) {
  return {
    description: step.description,
    short_label: step.short_label,
    icon: step.icon,
    estimated_minutes: step.estimated_minutes,
    leaf_type: step.leaf_type,
  };
}

export async function createTemplate(
  db: Database,
  userId: string,
  input: CreateTemplateInput,
  idempotency?: IdempotencyContext,
): Promise<CreatedTemplate> {
  return writeOnce(db, userId, idempotency, () => templateWrite(db, userId, input));
}

export async function getTemplate(
  db: Database,
  viewer: string | null,
  templateId: string,
): Promise<TemplateDto> {
  const row = await templateByIdQuery(db, viewer, templateId).get();
  if (!row) throw notFound("Template");
  return toTemplateDto(row, viewer);
}

/**
 * Runs a change guarded by ownership in one batch with a read of the template; when the change
 * touched nothing, the read tells a template the caller may see (403) from one they may not (404).
 */
async function ownedChange(
  db: Database,
  userId: string,
  templateId: string,
  addChange: (batch: D1Batch) => (results: readonly unknown[]) => { id: string }[],
): Promise<TemplateDto | null> {
  const batch = new D1Batch();
  const changed = addChange(batch);
  const read = batch.add(templateByIdQuery(db, userId, templateId));
  const results = await batch.run(db);
  const row = read(results)[0];
  if (changed(results).length === 0) throw row ? notYours(row.template) : notFound("Template");
  return row ? toTemplateDto(row, userId) : null;
}

export async function updateTemplate(
  db: Database,
  userId: string,
  templateId: string,
  input: UpdateTemplateInput,
): Promise<TemplateDto> {
  const updated = await ownedChange(db, userId, templateId, (batch) =>
    batch.add(
      db
        .update(taskTemplates)
        // drizzle leaves out keys whose value is undefined: only the fields the client sent change.
        .set({
          name: input.name,
          description: input.description,
          category: input.category,
          icon: input.icon,
          isPublic: input.is_public,
          updatedAt: nowIso(),
        })
        .where(ownedBy(userId, templateId))
        .returning({ id: taskTemplates.id }),
    ),
  );
  if (!updated) throw notFound("Template");
  return updated;
}

export async function replaceTemplateSteps(
  db: Database,
  userId: string,
  templateId: string,
  steps: TemplateStepInput[],
): Promise<TemplateDto> {
  const now = Date.now();
  // Steps hang off the global id; the caller names the template by their own id.
  const target = await db
    .select({ id: taskTemplates.id })
    .from(taskTemplates)
    .where(ownedBy(userId, templateId))
    .get();
  const globalId = target?.id ?? "";
  const rows = templateStepRows(globalId, steps, now);
  const owned = () =>
    exists(
      db
        .select({ one: sql`1` })
        .from(taskTemplates)
        .where(and(eq(taskTemplates.id, globalId), eq(taskTemplates.userId, userId))),
    );
  const updated = await ownedChange(db, userId, templateId, (batch) => {
    const touched = batch.add(
      db
        .update(taskTemplates)
        .set({ updatedAt: nowIso(now) })
        .where(and(ownedBy(userId, templateId), eq(taskTemplates.id, globalId)))
        .returning({ id: taskTemplates.id }),
    );
    batch.add(db.delete(templateSteps).where(and(eq(templateSteps.templateId, globalId), owned())));
    if (target) batch.addAll(insertTemplateStepStatements(db, rows));
    // Plain inserts cannot be conditional: when the template is not the caller's (any more), the new
    // rows go again in the same transaction, so nobody else's template ever gains steps.
    batch.add(
      db.delete(templateSteps).where(
        and(
          inArray(
            templateSteps.id,
            rows.map((r) => r.id),
          ),
          not(owned()),
        ),
      ),
    );
    return touched;
  });
  if (!updated) throw notFound("Template");
  return updated;
}

export async function deleteTemplate(db: Database, userId: string, templateId: string): Promise<void> {
  const ownedIds = db.select({ id: taskTemplates.id }).from(taskTemplates).where(ownedBy(userId, templateId));
  await ownedChange(db, userId, templateId, (batch) => {
    batch.add(db.delete(templateSteps).where(inArray(templateSteps.templateId, ownedIds)));
    // Its code goes with it: a deleted template imports as an unknown code.
    batch.addAll(deleteSharesStatements(db, ownedIds));
    return batch.add(
      db.delete(taskTemplates).where(ownedBy(userId, templateId)).returning({ id: taskTemplates.id }),
    );
  });
}

/**
 * A new task shaped by the template: its steps in order and its category. `times_applied` counts up
 * after the task is written; the task's own batch belongs to the tasks feature, so the counter is a
 * second statement (a lost increment only makes a popularity figure one lower).
 */
export async function applyTemplate(
  db: Database,
  userId: string,
  templateId: string,
  input: ApplyTemplateInput,
  idempotency?: IdempotencyContext,
): Promise<WriteOutcome<TaskDto, Envelope>> {
  return writeOnce(
    db,
    userId,
    idempotency,
    (row) => {
      if (!row) throw notFound("Template");
      const template = toTemplateDto(row, userId);
      const microSteps = microStepsOf(template.steps);
      if (microSteps.length > MAX_STEPS_PER_TASK) {
        throw validationFailed(
          [{ field: "template_id", message: `Its steps make ${microSteps.length} micro-steps` }],
          `This template's steps make ${microSteps.length} micro-steps of at most 10 minutes; a task holds at most ${MAX_STEPS_PER_TASK}.`,
        );
      }
      const write = newTaskWrite(
        db,
        userId,
        {
          title: input.title ?? template.name,
          description: input.description ?? null,
          due_at: input.due_at ?? null,
          priority: input.priority,
          tags: input.tags,
          category: template.category,
          micro_steps: microSteps,
        },
        Date.now(),
      );
      // The task and the count in one batch: an apply is counted exactly when its task exists.
      const batch = new D1Batch();
      batch.addAll(write.statements);
      batch.add(
        db
          .update(taskTemplates)
          .set({ timesApplied: sql`${taskTemplates.timesApplied} + 1` })
          .where(eq(taskTemplates.id, row.template.id)),
      );
      return { status: 201, batch, body: write.body, events: [write.event] };
    },
    () => templateByIdQuery(db, userId, templateId).get(),
  );
}

/** What a template made from `task` holds; 422 when the task cannot make one (no steps, too many, no category). */
function templateInputFrom(task: TaskDto, input: SaveAsTemplateInput): CreateTemplateInput {
  const steps = [...(task.micro_steps ?? [])].sort((a, b) => a.position - b.position);
  if (steps.length === 0) {
    throw validationFailed(
      [{ field: "task_id", message: "The task has no steps" }],
      "This task has no steps to save; add at least one step to it first.",
    );
  }
  if (steps.length > MAX_TEMPLATE_STEPS) {
    throw validationFailed(
      [
        {
          field: "task_id",
          message: `The task has ${steps.length} steps; a template holds ${MAX_TEMPLATE_STEPS}`,
        },
      ],
      `A template holds at most ${MAX_TEMPLATE_STEPS} steps and this task has ${steps.length}; remove or merge some steps first.`,
    );
  }
  const category = input.category ?? task.category;
  if (!category) {
    throw validationFailed(
      [{ field: "category", message: "Required, because the task has no category" }],
      "Say which category the template belongs to: the task has none.",
    );
  }
  return {
    name: input.name ?? task.title.slice(0, MAX_TEMPLATE_NAME).trim(),
    description: input.description ?? null,
    category,
    icon: input.icon ?? null,
    is_public: input.is_public ?? false,
    steps: steps.map(stepInputOf),
  };
}

/**
 * Copies the task into a new template inside one batch (one round trip): a guard refuses a task that
 * cannot make one, the template and its steps are copied by INSERT … SELECT, and the template is read
 * back. Only when the guard refuses is the task read, to say why.
 */
async function copyTaskToTemplate(
  db: Database,
  userId: string,
  taskId: string,
  input: SaveAsTemplateInput,
): Promise<CreatedTemplate> {
  const now = Date.now();
  const id = newId(now);
  const stepIds = JSON.stringify(Array.from({ length: MAX_TEMPLATE_STEPS }, () => newId(now)));
  const category = input.category ?? null;
  const batch = new D1Batch();
  batch.add(
    abortIf(
      db,
      sql`NOT EXISTS (SELECT 1 FROM tasks t WHERE t.id = ${taskId} AND t.user_id = ${userId}
        AND t.deleted_at IS NULL AND coalesce(${category}, t.category) IS NOT NULL
        AND (SELECT count(*) FROM micro_steps s WHERE s.task_id = t.id) BETWEEN 1 AND ${MAX_TEMPLATE_STEPS})`,
    ),
  );
  batch.add(
    rawStatement(
      db,
      sql`INSERT INTO task_templates (id, client_id, user_id, name, description, category, icon, is_public,
          times_applied, created_at, updated_at)
        SELECT ${id}, ${id}, ${userId}, coalesce(${input.name ?? null}, trim(substr(t.title, 1, ${MAX_TEMPLATE_NAME}))),
          ${input.description ?? null}, coalesce(${category}, t.category), ${input.icon ?? null},
          ${(input.is_public ?? false) ? 1 : 0}, 0, ${nowIso(now)}, ${nowIso(now)}
        FROM tasks t WHERE t.id = ${taskId} AND t.user_id = ${userId}`,
    ),
  );
  batch.add(
    rawStatement(
      db,
      sql`INSERT INTO template_steps (id, template_id, position, description, short_label,
          estimated_minutes, leaf_type, icon)
        SELECT json_extract(${stepIds}, '$[' || (n - 1) || ']'), ${id}, n, description, short_label,
          estimated_minutes, leaf_type, icon
        FROM (SELECT s.*, row_number() OVER (ORDER BY s.position, s.id) AS n
          FROM micro_steps s WHERE s.task_id = ${taskId} AND s.user_id = ${userId})`,
    ),
  );
  const read = batch.add(templateByIdQuery(db, userId, id));
  let results: readonly unknown[];
  try {
    results = await batch.run(db);
  } catch (error) {
    if (!isGuardAbort(error)) throw error;
    templateInputFrom(await getTask(db, userId, taskId), input);
    // The task could make a template after all: it changed between the batch and this read.
    throw new ApiError(409, "task_changed", "The task changed while it was being saved; try again.");
  }
  const row = read(results)[0];
  if (!row) throw new Error("the saved template was not read back");
  return { body: toTemplateDto(row, userId), events: [], replayed: false };
}

/** A new private (unless asked) template from one of the caller's tasks: its steps, in order. */
export async function saveTaskAsTemplate(
  db: Database,
  userId: string,
  taskId: string,
  input: SaveAsTemplateInput,
  idempotency?: IdempotencyContext,
): Promise<CreatedTemplate> {
  // The remembered answer is written in the template's own batch, so it must be known before: a keyed
  // request reads the task first (two round trips, three with the key's own read).
  if (!idempotency) return copyTaskToTemplate(db, userId, taskId, input);
  return writeOnce(db, userId, idempotency, async () =>
    templateWrite(db, userId, templateInputFrom(await getTask(db, userId, taskId), input)),
  );
}
