import { and, eq, exists, inArray, not, sql } from "drizzle-orm";
import type { Database } from "../../db";
import { taskTemplates, templateSteps } from "../../db/schema";
import { D1Batch } from "../../lib/batch";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import { findStoredResponse, type IdempotencyContext, runStoringAnswer } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import type { TaskDto } from "../tasks/schemas";
import { getTask, newTaskWrite, type WriteResult } from "../tasks/service";
import { ownedBy, templateByIdQuery, toTemplateDto } from "./queries";
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
import { insertTemplateStepStatements, templateStepRows, templateStepRowToDto } from "./step-rows";

type TemplateRow = typeof taskTemplates.$inferSelect;

export interface CreatedTemplate {
  body: TemplateDto;
  replayed: boolean;
}

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

/** The answer stored for this Idempotency-Key, if the same request was already answered. */
async function storedAnswer(db: Database, userId: string, idempotency: IdempotencyContext | undefined) {
  return idempotency ? findStoredResponse(db, userId, idempotency) : undefined;
}

/** Writes a new template with its steps (and the idempotent answer) in one batch. */
async function insertTemplate(
  db: Database,
  userId: string,
  input: CreateTemplateInput,
  idempotency: IdempotencyContext | undefined,
): Promise<CreatedTemplate> {
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
    createdAt: nowIso(now),
    updatedAt: nowIso(now),
  };
  const steps = templateStepRows(id, input.steps, now);
  const body = toTemplateDto({ template, steps: steps.map(templateStepRowToDto) }, userId);

  const batch = new D1Batch();
  batch.add(db.insert(taskTemplates).values(template));
  batch.addAll(insertTemplateStepStatements(db, steps));
  let raced: TemplateDto | undefined;
  try {
    raced = await runStoringAnswer(db, batch, userId, idempotency, { status: 201, body });
  } catch (error) {
    if (input.template_id !== undefined && isUniqueViolation(error)) {
      throw new ApiError(
        409,
        "template_id_taken",
        `You already have a template with the id "${clientId}"; choose another one.`,
      );
    }
    throw error;
  }
  if (raced) return { body: raced, replayed: true };
  return { body, replayed: false };
}

/** The fields a step carries from a task to a template and back. */
function stepInputOf(step: {
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
  const stored = await storedAnswer(db, userId, idempotency);
  if (stored) return { body: stored.body as TemplateDto, replayed: true };
  return insertTemplate(db, userId, input, idempotency);
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
): Promise<WriteResult<TaskDto> & { replayed: boolean }> {
  const [stored, row] = await Promise.all([
    storedAnswer(db, userId, idempotency),
    templateByIdQuery(db, userId, templateId).get(),
  ]);
  if (stored) return { body: stored.body as TaskDto, events: [], replayed: true };
  if (!row) throw notFound("Template");
  const template = toTemplateDto(row, userId);
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
      micro_steps: template.steps.map(stepInputOf),
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
  const raced = await runStoringAnswer(db, batch, userId, idempotency, { status: 201, body: write.body });
  if (raced) return { body: raced, events: [], replayed: true };
  return { body: write.body, events: [write.event], replayed: false };
}

/** A new private (unless asked) template from one of the caller's tasks: its steps, in order. */
export async function saveTaskAsTemplate(
  db: Database,
  userId: string,
  taskId: string,
  input: SaveAsTemplateInput,
  idempotency?: IdempotencyContext,
): Promise<CreatedTemplate> {
  const stored = await storedAnswer(db, userId, idempotency);
  if (stored) return { body: stored.body as TemplateDto, replayed: true };
  const task = await getTask(db, userId, taskId);
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
  return insertTemplate(
    db,
    userId,
    {
      name: input.name ?? task.title.slice(0, MAX_TEMPLATE_NAME).trim(),
      description: input.description ?? null,
      category,
      icon: input.icon ?? null,
      is_public: input.is_public ?? false,
      steps: steps.map(stepInputOf),
    },
    idempotency,
  );
}
