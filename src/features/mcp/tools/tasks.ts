import { z } from "@hono/zod-openapi";
import type { McpServer } from "@modelcontextprotocol/server";
import { type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { taskAssignments } from "../../../db/schema";
import type { AppEnv } from "../../../lib/create-app";
import { notFound } from "../../../lib/errors";
import { afterWrite } from "../../../lib/publish";
import { requireScope } from "../../../middleware/auth";
import { assignmentsOfAgent } from "../../delegation/assignments-service";
import { nextStepOf, pickNextStep } from "../../tasks/next-step";
import { NextStepSchema, TaskSchema } from "../../tasks/schemas";
import { getTask } from "../../tasks/service";
import { completeStep, completeStepWhile } from "../../tasks/steps-service";
import { TaskId } from "../schemas";
import { runTool } from "../tool-result";

const StepId = z.string().min(1).max(64).describe("The micro-step's id (step_id in the task's micro_steps)");

const NO_WORK_IN_PROGRESS = "No assignment of yours is in progress: accept and start one first.";

/** Registers the task tools: read a task with its steps, complete a step, and the next step to do. */
export function registerTaskTools(server: McpServer, c: Context<AppEnv>): void {
  const { principal } = c.var;

  server.registerTool(
    "get_task",
    {
      title: "Get a task",
      description: "A task with its micro-steps and progress.",
      inputSchema: z.object({ task_id: TaskId }),
      outputSchema: TaskSchema,
      annotations: { readOnlyHint: true },
    },
    ({ task_id }) =>
      runTool(c, { scope: "tasks:read" }, () =>
        getTask(c.var.db, principal.userId, task_id, principal.agentId),
      ),
  );

  server.registerTool(
    "complete_step",
    {
      title: "Complete a micro-step",
      description:
        "Complete one micro-step of a task; completing its last step completes the task. An agent's token " +
        "may complete steps only of a task it was given and has accepted or started.",
      inputSchema: z.object({ task_id: TaskId, step_id: StepId }),
      outputSchema: TaskSchema,
    },
    ({ task_id, step_id }) =>
      // An agent's token has no tasks:write: it works through its assignments (agents:write).
      runTool(c, { scope: principal.agentId ? "agents:write" : "tasks:write", write: true }, async () => {
        const { db } = c.var;
        const { body, events } = principal.agentId
          ? await completeStepWhile(db, principal.userId, task_id, step_id, {
              holds: workHeld(principal.userId, principal.agentId, task_id),
              otherwise: () => notFound("Task"),
            })
          : await completeStep(db, principal.userId, task_id, step_id);
        afterWrite(c, events);
        return body;
      }),
  );

  server.registerTool(
    "next_step",
    {
      title: "The next step to do",
      description:
        "The next micro-step to do: of the task you name; without one, of your assignment in progress (an " +
        "agent's token) or the one step to do now across your ready tasks (a person's token).",
      inputSchema: z.object({ task_id: TaskId.optional() }),
      outputSchema: NextStepSchema,
      annotations: { readOnlyHint: true },
    },
    ({ task_id }) =>
      runTool(c, { scope: "tasks:read" }, async () => {
        const { db } = c.var;
        if (task_id !== undefined) {
          const task = await getTask(db, principal.userId, task_id, principal.agentId);
          return nextStepOf(task, "The first step of this task that is not done yet.");
        }
        if (!principal.agentId) return pickNextStep(db, principal.userId);
        // An agent works on what it was given: its newest assignment in progress.
        requireScope(principal, "agents:read");
        const page = await assignmentsOfAgent(db, principal, principal.agentId, {
          status: "in_progress",
          limit: 1,
          afterId: null,
        });
        const current = page.items[0];
        if (!current) return { task: null, step: null, reason: NO_WORK_IN_PROGRESS };
        const task = await getTask(db, principal.userId, current.task_id, principal.agentId);
        return nextStepOf(task, `The next step of your assignment in progress, "${task.title}".`);
      }),
  );
}

/**
 * Whether the agent holds an accepted or started assignment of the task: the only tasks whose steps it
 * may complete (404 otherwise, as REST says of a task it cannot see). Checked inside the step's own
 * write, so an assignment completed or rejected meanwhile lets no step through.
 */
function workHeld(userId: string, agentId: string, taskId: string): SQL {
  return sql`EXISTS (SELECT 1 FROM ${taskAssignments} WHERE ${taskAssignments.userId} = ${userId}
    AND ${taskAssignments.agentId} = ${agentId} AND ${taskAssignments.taskId} = ${taskId}
    AND ${taskAssignments.status} IN ('accepted', 'in_progress'))`;
}
