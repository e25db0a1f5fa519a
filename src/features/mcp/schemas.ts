import { z } from "@hono/zod-openapi";
import { AssignmentNoteSchema, AssignmentSchema } from "../delegation/schemas";

/**
 * The shapes MCP tools take and give that REST has no schema for. Outputs are otherwise the REST
 * response schemas themselves: a tool answers what its route answers.
 */

export const AssignmentId = z
  .string()
  .min(1)
  .max(64)
  .describe("The assignment's id (assignment_id in list_assignments)");

export const TaskId = z.string().min(1).max(64).describe("The task's id (task_id)");

export const IdempotencyKey = z
  .string()
  .min(1)
  .max(255)
  .describe(
    "Optional: a retry with the same key and arguments returns the first answer instead of doing it twice " +
      "(the REST Idempotency-Key)",
  );

/** A page of assignments: the REST list's items, and the cursor its Link header would carry. */
export const AssignmentPageSchema = z.object({
  assignments: z.array(AssignmentSchema),
  next_cursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
});

/** A page of an assignment's notes: the REST list's items, and the cursor its Link header would carry. */
export const NotePageSchema = z.object({
  notes: z.array(AssignmentNoteSchema),
  next_cursor: z.string().nullable().describe("Pass as `cursor` for the next page; null on the last page"),
});
