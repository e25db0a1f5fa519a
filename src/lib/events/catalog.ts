/**
 * The contract of every domain event: its type, the version of its `data`, what it means and the zod
 * schema of `data`. Producers build envelopes only through it (`newEvent`, `sqlData`), consumers parse
 * through it (`parseEvent`), and `GET /api/v1/event-types` serves it to webhook subscribers and exports.
 *
 * Changing a schema: adding an optional field keeps the version; removing or retyping a field, or
 * making one required, is a new version (consumers refuse versions they do not know, loudly).
 */
import { z } from "@hono/zod-openapi";
import { ENERGY_SCALE } from "../../db/schema/analytics";
import { ASSIGNMENT_ROLES, ASSIGNMENT_STATUSES } from "../../db/schema/delegation";
import { END_REASONS, SESSION_KINDS } from "../../db/schema/focus";
import { IMPORT_MODES, IMPORT_SOURCES } from "../../db/schema/imports";
import { PET_SPECIES } from "../../db/schema/pets";
import { DELEGATION_MODES, LEAF_TYPES, TASK_PRIORITIES, TASK_SOURCES } from "../../db/schema/tasks";

const id = z.string().min(1);
const timestamp = z.iso.datetime();
const count = z.number().int().min(0);
const minutes = z.number().int().min(0);

const focusSession = {
  session_id: id,
  kind: z.enum(SESSION_KINDS),
  planned_minutes: minutes.nullable().describe("null for open-ended (flowtime) sessions"),
  task_id: id.nullable(),
  step_id: id.nullable(),
};

const focusEnded = z.object({
  ...focusSession,
  actual_minutes: z.number().min(0).describe("Worked time, to a tenth of a minute"),
  completed: z.boolean(),
  end_reason: z.enum(END_REASONS),
  interruptions: count,
  started_at: timestamp,
  ended_at: timestamp,
});

const assignmentMoved = z.object({
  assignment_id: id,
  task_id: id,
  agent_id: id.nullable().describe("null when assigned to a person"),
  assignee: z.string(),
  role: z.enum(ASSIGNMENT_ROLES),
  status: z.enum(ASSIGNMENT_STATUSES),
  reason: z.string().nullable(),
});

const breakKind = z.enum(["short", "long"]);

/**
 * import.completed as recorded before it listed the replaced tasks (same version: the fields were
 * added): read with none listed, and so, when tasks were replaced, a list said to be incomplete.
 */
function replacedListed(data: unknown): unknown {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return data;
  const d = data as Record<string, unknown>;
  const ids = d.replaced_task_ids ?? [];
  const listed = Array.isArray(ids) ? ids.length : 0;
  return {
    ...d,
    replaced_task_ids: ids,
    replaced_task_ids_truncated:
      d.replaced_task_ids_truncated ?? (typeof d.replaced === "number" && d.replaced > listed),
  };
}

/** One entry of the catalog. */
interface EventSpec<S extends z.ZodType> {
  version: number;
  description: string;
  data: S;
}

const spec = <S extends z.ZodType>(version: number, description: string, data: S): EventSpec<S> => ({
  version,
  description,
  data,
});

export const EVENT_CATALOG = {
  "task.created": spec(
    1,
    "A task was created (by hand, capture, a template, a split, the roadmap or a calendar import).",
    z.object({
      task_id: id,
      title: z.string(),
      priority: z.enum(TASK_PRIORITIES),
      task_source: z.enum(TASK_SOURCES),
      step_count: count,
      parent_task_id: id.optional().describe("Set for the sub-tasks a project split creates"),
    }),
  ),
  "task.completed": spec(
    1,
    "A task was completed (directly, or by finishing its last step); written once per completion.",
    z.object({
      task_id: id,
      title: z.string(),
      priority: z.enum(TASK_PRIORITIES),
      estimated_minutes: minutes.nullable(),
      actual_minutes: minutes.nullable(),
      is_meta_task: z
        .union([z.boolean(), z.literal(0), z.literal(1)])
        .describe("A boolean (0 or 1 in events written by earlier releases)"),
      created_at: timestamp,
      completed_steps: count,
    }),
  ),
  "task.deleted": spec(
    1,
    "A task was deleted (DELETE, or delegated with mode DELETE).",
    z.object({
      task_id: id,
      delegation_mode: z.literal("DELETE").optional().describe("Present when the deletion was a delegation"),
    }),
  ),
  "step.completed": spec(
    1,
    "A micro-step was completed; written once per completion.",
    z.object({
      task_id: id,
      step_id: id,
      description: z.string(),
      estimated_minutes: minutes,
      leaf_type: z.enum(LEAF_TYPES),
      task_priority: z.enum(TASK_PRIORITIES),
      task_estimated_minutes: minutes.nullable(),
    }),
  ),
  "assignment.created": spec(
    1,
    "A task was delegated: assigned to an agent or a person (DELEGATE or DO_WITH_ME).",
    z.object({
      assignment_id: id,
      task_id: id,
      agent_id: id.nullable().describe("null when assigned to a person"),
      assignee: z.string(),
      role: z.enum(ASSIGNMENT_ROLES),
      delegation_mode: z.enum(DELEGATION_MODES),
    }),
  ),
  "assignment.accepted": spec(1, "The assignee accepted an assignment.", assignmentMoved),
  "assignment.started": spec(1, "The assignee started work on an assignment.", assignmentMoved),
  "assignment.completed": spec(1, "The assignee completed an assignment.", assignmentMoved),
  "assignment.rejected": spec(1, "The assignee rejected an assignment (with its reason).", assignmentMoved),
  "assignment.note_added": spec(
    1,
    "A note was added to an assignment, by its owner or its agent (a completion's own notes come with " +
      "assignment.completed instead).",
    z.object({
      note_id: id,
      assignment_id: id,
      task_id: id,
      author: z.string().describe('"owner" (the person), or "agent:" and the writing agent\'s agent_id'),
      text_preview: z.string().max(200).describe("The note's first 200 characters"),
    }),
  ),
  "focus.started": spec(
    1,
    "A focus session started on the user's timer.",
    z.object({ ...focusSession, ends_at: timestamp.nullable().describe("null for open-ended sessions") }),
  ),
  "focus.completed": spec(
    1,
    "A focus session ended as done: finished, time up or at the flowtime cap.",
    focusEnded,
  ),
  "focus.abandoned": spec(1, "A focus session ended unfinished: stopped, or paused too long.", focusEnded),
  "break.due": spec(
    1,
    "A completed session earned a break, which starts now.",
    z.object({ session_id: id, break_kind: breakKind, break_minutes: minutes, ends_at: timestamp }),
  ),
  "break.over": spec(
    1,
    "A break ended: its time was up, or the user skipped it (also by starting a session).",
    z.object({ session_id: id, break_kind: breakKind, reason: z.enum(["time_up", "skipped"]) }),
  ),
  "xp.manual": spec(
    1,
    "An administrator granted XP; the gamification handler pays it once per key.",
    z.object({
      amount: z.number().int().min(1),
      reason: z.string(),
      key: z.string().min(1),
      granted_by: id,
    }),
  ),
  "level.up": spec(
    1,
    "The user's total XP crossed into a new level.",
    z.object({ level: z.number().int().min(1), previous_level: z.number().int().min(1), total_xp: count }),
  ),
  "achievement.unlocked": spec(
    1,
    "The user unlocked a badge (once per badge).",
    z.object({
      badge_id: id,
      name: z.string(),
      tier: z.enum(["bronze", "silver", "gold"]),
      family: z.string(),
      description: z.string(),
    }),
  ),
  "challenge.completed": spec(
    1,
    "The user completed one of the day's challenges and earned its XP.",
    z.object({ challenge_id: id, title: z.string(), date: z.iso.date(), xp: count }),
  ),
  "pet.fed": spec(
    1,
    "The user's pet was fed treats (at most every 15 minutes).",
    z.object({ pet_id: id, xp: z.number().int().min(1) }),
  ),
  "pet.leveled_up": spec(
    1,
    "The pet reached a new level.",
    z.object({ pet_id: id, level: z.number().int().min(1), previous_level: z.number().int().min(1) }),
  ),
  "pet.evolved": spec(
    1,
    "The pet evolved to its next stage.",
    z.object({
      pet_id: id,
      stage: z.number().int().min(1).max(3),
      previous_stage: z.number().int().min(1).max(3),
      level: z.number().int().min(1),
      species: z.enum(PET_SPECIES),
    }),
  ),
  "pet.needs_attention": spec(
    1,
    "The pet's fullness or happiness fell below the line (once per episode).",
    z.object({ pet_id: id, fullness: z.number().min(0).max(100), happiness: z.number().min(0).max(100) }),
  ),
  "energy.logged": spec(
    1,
    "The user checked in how much energy they have (the splitter's low, medium, high scale).",
    z.object({
      checkin_id: id,
      level: z.enum(ENERGY_SCALE),
      at: timestamp.describe("When the user felt it (may be a little before it was said)"),
    }),
  ),
  "import.completed": spec(
    1,
    "A file from another app (Todoist, TickTick, Trello, CSV) was imported: its tasks appeared at once. One " +
      "event for the whole file, not a task.created per task: old work is not today's activity and earns no XP.",
    z.preprocess(
      replacedListed,
      z.object({
        import_id: id,
        source: z.enum(IMPORT_SOURCES).describe("The app the file came from"),
        mode: z.enum(IMPORT_MODES),
        created: count.describe("Tasks created"),
        skipped_duplicates: count.describe("Items skipped because the account had them (merge)"),
        replaced: count.describe(
          "Earlier tasks deleted (replace): every task live before the import. No task.deleted is sent for them",
        ),
        replaced_task_ids: z
          .array(id)
          .max(1000)
          .describe("The deleted tasks' ids, the first 1,000 by id (empty for a merge)"),
        replaced_task_ids_truncated: z
          .boolean()
          .describe(
            "True when more tasks were deleted than listed: treat every task you knew of before as deleted",
          ),
        steps: count.describe("Micro-steps created"),
      }),
    ),
  ),
  "webhook.disabled": spec(
    1,
    "A webhook endpoint was disabled after failing too long (100 deliveries in a row, or 3 days); a PATCH re-enables it.",
    z.object({
      webhook_id: id,
      host: z.string().describe("The endpoint's host (its full URL may be a secret, as Zapier's are)"),
      reason: z.string(),
      consecutive_failures: count,
      failing_since: timestamp.nullable(),
    }),
  ),
} as const;

type Catalog = typeof EVENT_CATALOG;
export type EventType = keyof Catalog;
/** The `data` of an event of type T, as producers build it and consumers read it. */
export type EventData<T extends EventType> = z.infer<Catalog[T]["data"]>;

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_CATALOG, type);
}

/**
 * An event's data as subscribers were promised it: read through the catalog's schema when this
 * deployment knows the type and version (unknown keys dropped), as stored otherwise.
 */
export function publishedData(type: string, version: number, data: unknown): unknown {
  if (!isEventType(type) || EVENT_CATALOG[type].version !== version) return data;
  const parsed = EVENT_CATALOG[type].data.safeParse(data);
  return parsed.success ? parsed.data : data;
}

/** A domain event as it travels: on the queue, in the outbox, in webhooks. */
export interface Envelope<T extends EventType = EventType> {
  id: string;
  type: T;
  /** The version of `data`'s schema (see the catalog). */
  version: number;
  user_id: string;
  occurred_at: string;
  data: EventData<T>;
}

/** Any domain event, narrowed by its `type`. */
export type DomainEvent = { [T in EventType]: Envelope<T> }[EventType];

/** An effect of a pure rule that becomes an event of one of the types T when applied. */
export type EventEffect<T extends EventType> = {
  [K in T]: { type: "event"; event_type: K; data: EventData<K>; at: number };
}[T];
