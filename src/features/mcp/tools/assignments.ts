import { z } from "@hono/zod-openapi";
import type { McpServer } from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AppEnv } from "../../../lib/create-app";
import { idempotencyContext } from "../../../lib/idempotency";
import { nextCursor, pageAfter } from "../../../lib/pagination";
import { afterWrite } from "../../../lib/publish";
import {
  type AssignmentMove,
  assignmentsOfAgent,
  moveAssignment,
} from "../../delegation/assignments-service";
import {
  listAssignmentNotes,
  noteIdempotencyScope,
  writeAssignmentNote,
} from "../../delegation/notes-service";
import {
  AddNoteBodySchema,
  AssignmentNoteSchema,
  AssignmentSchema,
  CompleteAssignmentBodySchema,
  ListAssignmentsQuerySchema,
  MAX_NOTE_CHARS,
  RejectBodySchema,
} from "../../delegation/schemas";
import { AssignmentId, AssignmentPageSchema, IdempotencyKey, NotePageSchema } from "../schemas";
import { runTool } from "../tool-result";

/** How `list_assignments` names the caller's own assignments: the REST list's `me`. */
const OWN = "me";

const ListInput = z.object({
  status: ListAssignmentsQuerySchema.shape.status.describe(
    "Only assignments in this status: pending, accepted, in_progress, completed, rejected or cancelled",
  ),
  limit: z.number().int().min(1).max(100).default(50).describe("Page size (1–100)"),
  cursor: z.string().max(200).optional().describe("next_cursor from the previous page"),
  agent_id: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe(
      "A person's token only: one of your agents, to list its assignments (default: your own). " +
        "An agent's token always lists its own.",
    ),
});

const MoveInput = z.object({ assignment_id: AssignmentId });

/** Registers the assignment tools: list, the four moves of the REST routes, and notes. */
export function registerAssignmentTools(server: McpServer, c: Context<AppEnv>): void {
  const { principal } = c.var;

  server.registerTool(
    "list_assignments",
    {
      title: "List assignments",
      description:
        "Your assignments, newest first (an agent's token: the agent's own). Poll this for work: pending " +
        "ones wait for accept_assignment.",
      inputSchema: ListInput,
      outputSchema: AssignmentPageSchema,
      annotations: { readOnlyHint: true },
    },
    ({ status, limit, cursor, agent_id }) =>
      runTool(c, { scope: "agents:read" }, async () => {
        const page = await assignmentsOfAgent(c.var.db, principal, principal.agentId ?? agent_id ?? OWN, {
          status,
          limit,
          afterId: pageAfter(cursor),
        });
        return { assignments: page.items, next_cursor: nextCursor(page) };
      }),
  );

  // Accept and start: a pending assignment is taken, then begun.
  const simpleMoves = [
    {
      name: "accept_assignment",
      title: "Accept an assignment",
      description: "Accept a pending assignment.",
      step: "accept",
    },
    {
      name: "start_assignment",
      title: "Start an assignment",
      description: "Start an accepted assignment.",
      step: "start",
    },
  ] as const;
  for (const { name, title, description, step } of simpleMoves) {
    server.registerTool(
      name,
      { title, description, inputSchema: MoveInput, outputSchema: AssignmentSchema },
      ({ assignment_id }) =>
        runTool(c, { scope: "agents:write", write: true }, () => moved(c, assignment_id, step)),
    );
  }

  server.registerTool(
    "complete_assignment",
    {
      title: "Complete an assignment",
      description:
        "Complete a started assignment (the task's owner may also complete a pending or accepted one): its " +
        "task is completed, with the time it took when you give it.",
      inputSchema: MoveInput.extend({
        actual_minutes: CompleteAssignmentBodySchema.shape.actual_minutes.describe(
          "How many minutes the work took",
        ),
        notes: CompleteAssignmentBodySchema.shape.notes.describe(
          "A summary of what was done, kept as a note on the assignment (ignored when blank)",
        ),
      }),
      outputSchema: AssignmentSchema,
    },
    ({ assignment_id, actual_minutes, notes }) =>
      runTool(c, { scope: "agents:write", write: true }, () =>
        // Blank notes are no note, as REST takes them.
        moved(c, assignment_id, "complete", { actual_minutes, note: notes || undefined }),
      ),
  );

  server.registerTool(
    "reject_assignment",
    {
      title: "Reject an assignment",
      description:
        "Reject a pending or accepted assignment, saying why: its task goes back to be delegated again.",
      inputSchema: MoveInput.extend({
        reason: RejectBodySchema.shape.reason.describe("Why you cannot take it"),
      }),
      outputSchema: AssignmentSchema,
    },
    ({ assignment_id, reason }) =>
      runTool(c, { scope: "agents:write", write: true }, () => moved(c, assignment_id, "reject", { reason })),
  );

  registerNoteTools(server, c);
}

/**
 * Registers `add_note` and `list_notes`: an assignment's notes, as POST and GET …/assignments/{id}/notes
 * add and list them.
 */
function registerNoteTools(server: McpServer, c: Context<AppEnv>): void {
  server.registerTool(
    "list_notes",
    {
      title: "List an assignment's notes",
      description:
        "An assignment's notes, oldest first: the owner's answers and the agent's own. author is owner or " +
        "agent:<agent_id>.",
      inputSchema: MoveInput.extend({
        limit: z.number().int().min(1).max(100).default(50).describe("Page size (1–100)"),
        cursor: z.string().max(200).optional().describe("next_cursor from the previous page"),
      }),
      outputSchema: NotePageSchema,
      annotations: { readOnlyHint: true },
    },
    ({ assignment_id, limit, cursor }) =>
      runTool(c, { scope: "agents:read" }, async () => {
        const page = await listAssignmentNotes(c.var.db, c.var.principal, assignment_id, {
          limit,
          ...(cursor === undefined ? {} : { cursor }),
        });
        return { notes: page.items, next_cursor: page.next };
      }),
  );

  server.registerTool(
    "add_note",
    {
      title: "Add a note to an assignment",
      description:
        "A note on an assignment in any status: progress, a question for the owner, a summary. The owner " +
        "and the assigned agent see them (GET /api/v1/delegation/assignments/{id}/notes).",
      inputSchema: MoveInput.extend({
        text: AddNoteBodySchema.shape.text.describe(`The note (1–${MAX_NOTE_CHARS} characters)`),
        idempotency_key: IdempotencyKey.optional(),
      }),
      outputSchema: AssignmentNoteSchema,
    },
    ({ assignment_id, text, idempotency_key }) =>
      runTool(c, { scope: "agents:write", write: true }, async () => {
        // Keyed as the REST route keys its Idempotency-Key: a key means the same note either way.
        const scope = noteIdempotencyScope(c.var.principal, assignment_id);
        const idempotency = await idempotencyContext(idempotency_key, scope, { text });
        const { body, events } = await writeAssignmentNote(
          c.var.db,
          c.var.principal,
          assignment_id,
          text,
          idempotency,
        );
        afterWrite(c, events);
        return body;
      }),
  );
}

/** One move, made by the REST routes' service; its events go out after the answer, as REST's do. */
async function moved(
  c: Context<AppEnv>,
  assignmentId: string,
  step: AssignmentMove,
  details?: { reason?: string | undefined; actual_minutes?: number | undefined; note?: string | undefined },
) {
  const { body, events } = await moveAssignment(c.var.db, c.var.principal, assignmentId, step, details);
  afterWrite(c, events);
  return body;
}
