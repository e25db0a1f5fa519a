import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { D1Batch } from "../../lib/batch";
import { chunkList } from "../../lib/chunk";
import { isUniqueViolation } from "../../lib/db-errors";
import { ApiError, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { sha256Hex } from "../../lib/ids";
import { nowIso } from "../../lib/time";
import { importedTaskUpdate, newTaskWrite } from "../tasks/statements";
import { taskIdOfUid } from "./feed-items";
import { IcsSyntaxError, MAX_CONTENT_LINES, TooManyLinesError } from "./ics-parser";
import {
  type ImportPlan,
  MAX_IMPORT_ITEMS,
  type PlannedItem,
  planImport,
  TooManyItemsError,
} from "./import-plan";
import {
  earlierImportsQueries,
  type ImportRow,
  insertImportRows,
  ownTasksQueries,
  timeZoneQuery,
  updateImportRow,
} from "./import-queries";
import type { ImportAction, ImportedItemDto, ImportResultDto } from "./schemas";

/** Items answered in `items`; the counts cover them all. */
export const ANSWERED_ITEMS = 20;
/** Items written per D1 batch: each batch is whole or nothing, and a later import finishes the rest. */
const ITEMS_PER_BATCH = 50;
/** The longest UID kept as it is (RFC 5545 sets none); a longer one is remembered by its hash. */
export const MAX_UID_BYTES = 255;

/**
 * Two imports raced over the same new items and this one lost after writing part of the file: the
 * caller publishes the events of what it did write before answering the 409.
 */
export class PartialImportError extends ApiError {
  readonly events: Envelope[];

  constructor(written: number, events: Envelope[]) {
    super(
      409,
      "import_in_progress",
      written > 0
        ? `Another import of the same items was under way: ${written} items were imported before it, the rest were not; retry to import the rest (what is done is kept).`
        : "Another import of the same items is under way; try again in a moment.",
    );
    this.events = events;
  }
}

interface Decision {
  item: PlannedItem;
  hash: string;
  action: ImportAction;
  taskId: string | null;
  /** When the import last wrote the item's task (its record's updated_at), for an update's guard. */
  importedAt: string | null;
}

/** What earlier imports left of an item: the record, whether its task still lives, when that last changed. */
interface Earlier {
  record: ImportRow;
  taskLive: boolean;
  taskUpdatedAt: string | null;
}

const encoder = new TextEncoder();

/**
 * The key an item is remembered by: its UID, or `sha256:` and the UID's hash when the UID is longer
 * than 255 bytes (a file may hold a megabyte of UID, which would otherwise be stored and echoed).
 */
async function uidKey(uid: string): Promise<string> {
  // Under 86 UTF-16 units a UID cannot reach 255 bytes of UTF-8: no need to encode it.
  if (uid.length < 86 || encoder.encode(uid).length <= MAX_UID_BYTES) return uid;
  return `sha256:${await sha256Hex(uid)}`;
}

const keyOf = (uid: string, recurrenceKey: string) => `${uid}\u0000${recurrenceKey}`;

/** The fingerprint of what an import writes into a task: a change to any of these updates it. */
const contentHash = async (item: PlannedItem) =>
  (await sha256Hex(JSON.stringify([item.title, item.description, item.dueAt]))).slice(0, 32);

/** Turns a malformed file into the 422 that names its line. */
function readPlan(text: string, now: number, zone: string): ImportPlan {
  try {
    return planImport(text, { now, zone });
  } catch (error) {
    if (error instanceof IcsSyntaxError) {
      throw validationFailed(
        [{ field: `line ${error.line}`, message: error.message }],
        `Line ${error.line}: ${error.message}`,
      );
    }
    if (error instanceof TooManyLinesError) {
      throw new ApiError(
        413,
        "too_many_lines",
        `The calendar has more than ${MAX_CONTENT_LINES} lines; split it into smaller files.`,
      );
    }
    if (error instanceof TooManyItemsError) {
      throw new ApiError(
        413,
        "too_many_items",
        `The calendar holds more than ${MAX_IMPORT_ITEMS} items to import at once; split it into smaller files.`,
      );
    }
    throw error;
  }
}

/**
 * Reads an .ics file into the user's tasks (see import-plan.ts for what becomes what). Each item is
 * remembered by (UID, occurrence): importing the same file again changes nothing, and an item that
 * changed updates its task. A preview answers the same, and writes nothing.
 */
export async function importCalendar(
  db: Database,
  userId: string,
  text: string,
  preview: boolean,
): Promise<{ body: ImportResultDto; events: Envelope[] }> {
  const now = Date.now();
  const zone = (await timeZoneQuery(db, userId).get())?.timezone ?? "UTC";
  const plan = readPlan(text, now, zone);
  for (const item of plan.items) item.uid = await uidKey(item.uid);

  const reads = new D1Batch();
  const earlierReaders = earlierImportsQueries(
    db,
    userId,
    plan.items.map((i) => i.uid),
  ).map((q) => reads.add(q));
  const ownIds = plan.items.flatMap((i) => taskIdOfUid(i.uid) ?? []);
  const ownReaders = ownTasksQueries(db, userId, ownIds).map((q) => reads.add(q));
  const results = await reads.run(db);
  const earlier = new Map<string, Earlier>();
  for (const read of earlierReaders) {
    for (const row of read(results)) {
      earlier.set(keyOf(row.record.uid, row.record.recurrenceKey), {
        record: row.record,
        taskLive: row.taskFound !== null && row.taskDeletedAt === null,
        taskUpdatedAt: row.taskUpdatedAt,
      });
    }
  }
  const own = new Set(ownReaders.flatMap((read) => read(results).map((r) => r.id)));

  const decisions: Decision[] = [];
  let yours = 0;
  let gone = 0;
  let kept = 0;
  for (const item of plan.items) {
    const hash = await contentHash(item);
    const before = earlier.get(keyOf(item.uid, item.recurrenceKey));
    const ownId = taskIdOfUid(item.uid);
    let action: ImportAction;
    if (ownId && own.has(ownId)) {
      action = "skipped";
      yours += 1;
    } else if (!before) action = "created";
    else if (!before.taskLive) {
      // Deleted since it was imported: the person did not want it; importing again does not bring it back.
      action = "skipped";
      gone += 1;
    } else if (before.record.contentHash === hash || item.sequence < before.record.sequence) {
      action = "unchanged";
    } else if (before.taskUpdatedAt !== null && before.taskUpdatedAt > before.record.updatedAt) {
      // Changed in the calendar, but also by hand since it was imported: the person's edit wins.
      action = "kept";
      kept += 1;
    } else action = "updated";
    decisions.push({
      item,
      hash,
      action,
      taskId: before?.record.taskId ?? (action === "skipped" && ownId ? ownId : null),
      importedAt: before?.record.updatedAt ?? null,
    });
  }
  const warnings = [...plan.warnings];
  if (yours > 0)
    warnings.push({ line: null, message: `${yours} skipped: they are your own tasks (from your own feed).` });
  if (gone > 0)
    warnings.push({
      line: null,
      message: `${gone} skipped: their tasks were deleted after an earlier import.`,
    });

  if (kept > 0)
    warnings.push({
      line: null,
      message: `${kept} kept as they are: they changed in the calendar, but you edited their tasks after the last import.`,
    });

  const events = preview ? [] : await writeDecisions(db, userId, decisions, now);
  const count = (action: ImportAction) => decisions.filter((d) => d.action === action).length;
  return {
    body: {
      preview,
      created: count("created"),
      updated: count("updated"),
      unchanged: count("unchanged"),
      kept: count("kept"),
      skipped: plan.skipped + count("skipped"),
      warnings,
      items: decisions.slice(0, ANSWERED_ITEMS).map(toItemDto),
    },
    events,
  };
}

function toItemDto(decision: Decision): ImportedItemDto {
  const { item } = decision;
  return {
    uid: item.uid,
    recurrence_id: item.recurrenceKey === "" ? null : item.recurrenceKey,
    title: item.title,
    due_at: item.dueAt,
    action: decision.action,
    task_id: decision.taskId,
  };
}

/**
 * Creates and updates the tasks, in batches of 50 items: each batch holds the tasks, their
 * `task.created` events and the import records, so a record never exists without its task. Two
 * imports racing over the same new item collide on the record's key: the later batch is refused
 * whole, and answered 409 with the events of the batches written before it (PartialImportError).
 */
async function writeDecisions(
  db: Database,
  userId: string,
  decisions: Decision[],
  now: number,
): Promise<Envelope[]> {
  const events: Envelope[] = [];
  const writes = decisions.filter((d) => d.action === "created" || d.action === "updated");
  let written = 0;
  for (const chunk of chunkList(writes, ITEMS_PER_BATCH)) {
    const chunkEvents: Envelope[] = [];
    const statements: BatchItem<"sqlite">[] = [];
    const records: ImportRow[] = [];
    for (const decision of chunk) {
      const { item } = decision;
      if (decision.action === "updated" && decision.taskId && decision.importedAt) {
        const { taskId, importedAt } = decision;
        const key = { userId, uid: item.uid, recurrenceKey: item.recurrenceKey, taskId };
        statements.push(importedTaskUpdate(db, userId, { taskId, importedAt, ...item }, now));
        statements.push(updateImportRow(db, key, decision.hash, item.sequence, now));
        continue;
      }
      const write = newTaskWrite(
        db,
        userId,
        {
          title: item.title,
          description: item.description,
          due_at: item.dueAt,
          estimated_minutes: item.estimatedMinutes,
          priority: item.priority,
          task_source: "calendar",
        },
        now,
      );
      statements.push(...write.statements);
      chunkEvents.push(write.event);
      decision.taskId = write.body.task_id;
      records.push({
        userId,
        uid: item.uid,
        recurrenceKey: item.recurrenceKey,
        taskId: write.body.task_id,
        contentHash: decision.hash,
        sequence: item.sequence,
        createdAt: nowIso(now),
        updatedAt: nowIso(now),
      });
    }
    statements.push(...insertImportRows(db, records));
    const batch = new D1Batch();
    batch.addAll(statements);
    try {
      await batch.run(db);
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      throw new PartialImportError(written, events);
    }
    events.push(...chunkEvents);
    written += chunk.length;
  }
  return events;
}
