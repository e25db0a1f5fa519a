import { and, asc, eq, gt, type SQL, type SQLWrapper, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { assignmentNotes, taskAssignments } from "../../db/schema";
import type { Principal } from "../../lib/auth/principal";
import { abortIf, D1Batch, isGuardAbort } from "../../lib/batch";
import { ApiError, notFound, validationFailed } from "../../lib/errors";
import type { Envelope } from "../../lib/events/catalog";
import { newEvent } from "../../lib/events/envelope";
import { writeEvent } from "../../lib/events/outbox";
import { type IdempotencyContext, type WriteOutcome, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import {
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  nextCursor,
  type Page,
  pageAfter,
  pageOf,
  rowsToFetch,
} from "../../lib/pagination";
import { nowIso } from "../../lib/time";
import { requireScope } from "../../middleware/auth";
import { type AssignmentNoteDto, MAX_NOTE_CHARS, MAX_NOTES_PER_ASSIGNMENT, OWNER_AUTHOR } from "./schemas";

/*
 * Who may see and write an assignment's notes is who may move the assignment (assignments-service):
 * the account's owner (a login or a personal API token) on any of its assignments, an agent only on
 * the ones given to it. Anyone else finds no such assignment. The routes check the scopes too; they are
 * checked here again for callers that are not routes (the MCP server).
 */

type NoteRow = typeof assignmentNotes.$inferSelect;

export function toNoteDto(row: NoteRow): AssignmentNoteDto {
  return {
    note_id: row.id,
    assignment_id: row.assignmentId,
    author: row.author,
    text: row.text,
    created_at: row.createdAt,
  };
}

/**
 * Who a note is by: "owner" for the person (whatever the credential), `agent:<agent_id>` for an agent —
 * prefixed, so an agent that chose the agent_id "owner" is never taken for the person.
 */
export const authorOf = (principal: Principal) =>
  principal.agentId === undefined ? OWNER_AUTHOR : `agent:${principal.agentId}`;

/**
 * What a note's idempotency key is scoped to: the assignment and its author (the owner and each agent
 * share the account's keys), whether the key came as a header (REST) or an argument (MCP).
 */
export const noteIdempotencyScope = (principal: Principal, assignmentId: string) =>
  `delegation.note:${assignmentId}:${authorOf(principal)}`;

function visibleAssignment(principal: Principal, assignmentId: string): SQL | undefined {
  return and(
    eq(taskAssignments.id, assignmentId),
    eq(taskAssignments.userId, principal.userId),
    principal.agentId ? eq(taskAssignments.agentId, principal.agentId) : undefined,
  );
}

const notesOf = (userId: string, assignmentId: string) =>
  and(eq(assignmentNotes.userId, userId), eq(assignmentNotes.assignmentId, assignmentId));

/** True inside a batch when the assignment already holds as many notes as it may. */
const atCap = (userId: string, assignmentId: string) =>
  sql`(SELECT count(*) FROM assignment_notes n WHERE n.user_id = ${userId} AND n.assignment_id = ${assignmentId}) >= ${MAX_NOTES_PER_ASSIGNMENT}`;

/** How much of a note its event carries: enough to tell what it says, not the whole conversation. */
const NOTE_PREVIEW_CHARS = 200;

const tooManyNotes = () =>
  new ApiError(
    409,
    "too_many_notes",
    `This assignment already has ${MAX_NOTES_PER_ASSIGNMENT} notes, the most it may hold; no more can be added.`,
  );

/** The note's text trimmed, or 422: the routes' schemas say the same, but other callers send raw text. */
function noteText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.length === 0)
    throw validationFailed([{ field: "text", message: "Write something in the note" }]);
  if (trimmed.length > MAX_NOTE_CHARS) {
    throw validationFailed([
      {
        field: "text",
        message: `A note is at most ${MAX_NOTE_CHARS} characters; this one is ${trimmed.length}`,
      },
    ]);
  }
  return trimmed;
}

function newNote(principal: Principal, assignmentId: string, text: string, now: number): NoteRow {
  return {
    id: newId(now),
    userId: principal.userId,
    assignmentId,
    author: authorOf(principal),
    text,
    createdAt: nowIso(now),
  };
}

/** A note's first characters for its event, never cutting a character in two. */
function previewOf(text: string): string {
  let preview = "";
  for (const char of text) {
    if (preview.length + char.length > NOTE_PREVIEW_CHARS) break;
    preview += char;
  }
  return preview;
}

/**
 * Adds a note to an assignment in any status, with its `assignment.note_added` event. 404 when the
 * caller may not act on the assignment, 409 `too_many_notes` at the cap. The assignment (for the
 * event's task) is read alongside the idempotency lookup; the checks run again inside the write's batch,
 * so concurrent notes cannot pass the cap together.
 */
export async function writeAssignmentNote(
  db: Database,
  principal: Principal,
  assignmentId: string,
  text: string,
  idempotency?: IdempotencyContext,
): Promise<WriteOutcome<AssignmentNoteDto, Envelope>> {
  requireScope(principal, "agents:write");
  const now = Date.now();
  const row = newNote(principal, assignmentId, noteText(text), now);
  // drizzle puts an embedded query in parentheses itself.
  const visible = db
    .select({ id: taskAssignments.id, taskId: taskAssignments.taskId })
    .from(taskAssignments)
    .where(visibleAssignment(principal, assignmentId));
  try {
    return await writeOnce(
      db,
      principal.userId,
      idempotency,
      (assignment) => {
        if (!assignment) throw notFound("Assignment");
        const event = newEvent(
          "assignment.note_added",
          principal.userId,
          {
            note_id: row.id,
            assignment_id: assignmentId,
            task_id: assignment.taskId,
            author: row.author,
            text_preview: previewOf(row.text),
          },
          now,
        );
        const batch = new D1Batch();
        batch.add(abortIf(db, sql`NOT EXISTS ${visible} OR ${atCap(principal.userId, assignmentId)}`));
        batch.add(db.insert(assignmentNotes).values(row));
        batch.add(writeEvent(db, event));
        return { status: 201, batch, body: toNoteDto(row), events: [event] };
      },
      () => visible.get(),
    );
  } catch (error) {
    if (!isGuardAbort(error)) throw error;
    throw (await visible.get()) ? tooManyNotes() : notFound("Assignment");
  }
}

/** A page of an assignment's notes, oldest first; 404 when the caller may not see the assignment. */
export async function assignmentNotesPage(
  db: Database,
  principal: Principal,
  assignmentId: string,
  options: { afterId: string | null; limit: number },
): Promise<Page<AssignmentNoteDto>> {
  requireScope(principal, "agents:read");
  const [assignment, rows] = await db.batch([
    db
      .select({ id: taskAssignments.id })
      .from(taskAssignments)
      .where(visibleAssignment(principal, assignmentId)),
    db
      .select()
      .from(assignmentNotes)
      .where(
        and(
          notesOf(principal.userId, assignmentId),
          options.afterId ? gt(assignmentNotes.id, options.afterId) : undefined,
        ),
      )
      .orderBy(asc(assignmentNotes.id))
      .limit(rowsToFetch(options.limit)),
  ]);
  if (assignment.length === 0) throw notFound("Assignment");
  return pageOf(rows, options.limit, toNoteDto, (r) => r.id);
}

/** The contract the MCP server's notes tool calls: `cursor` is the previous page's `next`. */
export async function listAssignmentNotes(
  db: Database,
  principal: Principal,
  assignmentId: string,
  page: { cursor?: string; limit: number },
): Promise<{ items: AssignmentNoteDto[]; next: string | null }> {
  const found = await assignmentNotesPage(db, principal, assignmentId, {
    afterId: pageAfter(page.cursor),
    // Capped as the route's query is: this caller's limit has not been through its schema.
    limit: Math.min(Math.max(Math.trunc(page.limit) || DEFAULT_PAGE_SIZE, 1), MAX_PAGE_SIZE),
  });
  return { items: found.items, next: nextCursor(found) };
}

/**
 * The statements that keep a completion's `notes` as a note by whoever completes, for the completion's
 * own batch: a guard that aborts it at the cap when `movable` (the assignment the move would move)
 * exists — put it first; recognise it with `isGuardAbort`, answer with `completionNoteRefused` — and
 * the insert, made only when `moved` holds (put it after the move's event is written). It writes no
 * `assignment.note_added`: the completion's own `assignment.completed` event stands for it, and
 * subscribers read the summary from the notes.
 */
export function completionNoteStatements(
  db: Database,
  principal: Principal,
  assignmentId: string,
  text: string,
  now: number,
  when: { movable: SQLWrapper; moved: SQL },
): { guard: BatchItem<"sqlite">; insert: BatchItem<"sqlite"> } {
  const row = newNote(principal, assignmentId, noteText(text), now);
  const { movable, moved } = when;
  return {
    // drizzle puts an embedded query in parentheses itself.
    guard: abortIf(db, sql`EXISTS ${movable} AND ${atCap(principal.userId, assignmentId)}`),
    insert: db
      .insert(assignmentNotes)
      .select(
        sql`SELECT ${row.id}, ${row.userId}, ${row.assignmentId}, ${row.author}, ${row.text}, ${row.createdAt} WHERE ${moved}`,
      ),
  };
}

/** What a completion whose note met the cap answers: nothing was completed. */
export const completionNoteRefused = tooManyNotes;
