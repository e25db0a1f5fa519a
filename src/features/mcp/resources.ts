import {
  type McpServer,
  ProtocolError,
  ProtocolErrorCode,
  type ReadResourceResult,
  ResourceNotFoundError,
  ResourceTemplate,
} from "@modelcontextprotocol/server";
import type { Context } from "hono";
import type { AppEnv } from "../../lib/create-app";
import { notFound } from "../../lib/errors";
import { requireScope } from "../../middleware/auth";
import { asApiError } from "../../middleware/error-handler";
import { listTasks } from "../tasks/queries";
import { getTask } from "../tasks/service";
import { toolFailure } from "./tool-result";

/** How many of the caller's newest tasks resources/list shows: a starting point, not an export. */
export const RECENT_TASKS = 20;

/** Ids are UUIDs; REST refuses longer ones before any query. */
const MAX_ID_LENGTH = 64;
const JSON_TYPE = "application/json";
export const taskUri = (taskId: string) => `task://${taskId}`;

/**
 * Runs a resource read as the REST read would. Resource failures are JSON-RPC errors, not tool
 * results: a missing or foreign task is "not found" with the REST sentence, anything else carries the
 * REST status and code as its data.
 */
async function asResource<T>(c: Context<AppEnv>, uri: string, read: () => Promise<T>): Promise<T> {
  try {
    requireScope(c.var.principal, "tasks:read");
    return await read();
  } catch (error) {
    const failure = asApiError(c, error);
    if (failure.status === 404) throw new ResourceNotFoundError(uri, failure.message);
    const code = failure.status >= 500 ? ProtocolErrorCode.InternalError : ProtocolErrorCode.InvalidRequest;
    throw new ProtocolError(code, failure.message, toolFailure(failure).structuredContent);
  }
}

/** Registers `task://{task_id}`: a task with its micro-steps, as GET /tasks/{task_id} answers it. */
export function registerTaskResources(server: McpServer, c: Context<AppEnv>): void {
  const { principal } = c.var;
  const template = new ResourceTemplate("task://{task_id}", {
    list: () =>
      asResource(c, "task://", async () => {
        const page = await listTasks(
          c.var.db,
          principal.userId,
          { limit: RECENT_TASKS },
          null,
          principal.agentId,
        );
        return {
          resources: page.items.map((task) => ({
            uri: taskUri(task.task_id),
            name: task.title,
            description: `${task.status}, ${task.progress.completed_steps}/${task.progress.total_steps} steps done`,
            mimeType: JSON_TYPE,
          })),
        };
      }),
  });
  server.registerResource(
    "task",
    template,
    {
      title: "A task with its steps",
      description:
        "The task as GET /api/v1/tasks/{task_id} answers it: its fields, micro-steps and progress.",
      mimeType: JSON_TYPE,
    },
    (uri, { task_id }): Promise<ReadResourceResult> =>
      asResource(c, uri.href, async () => {
        // A template variable may come as a list (RFC 6570 explode): one id is one string, and short.
        if (typeof task_id !== "string" || task_id.length > MAX_ID_LENGTH) throw notFound("Task");
        const task = await getTask(c.var.db, principal.userId, task_id, principal.agentId);
        return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify(task) }] };
      }),
  );
}
