import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { NextStepDto } from "../src/features/tasks/schemas";
import { BASE, call, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { actingThroughApiToken } from "./helpers/auth";
import { checkContract } from "./helpers/contract";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { delegate, registerAgent } from "./helpers/delegation";
import { callTool, mcpClient } from "./helpers/mcp";
import { beforeStatements } from "./helpers/sql-spy";
import { createTask } from "./helpers/tasks";

interface RpcError {
  jsonrpc: "2.0";
  id: number | string | null;
  error: { code: number; message: string; data?: Record<string, unknown> };
}

/** JSON-RPC error codes the answers below carry. */
const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;
const INVALID_PARAMS = -32602;
const INTERNAL_ERROR = -32603;

/** A JSON-RPC message (or batch) sent by hand, as a client without the SDK would. */
function rpc(token: string, body: unknown) {
  return call("/mcp", { method: "POST", token, body });
}

const ping = (id: number | null) => ({ jsonrpc: "2.0", id, method: "ping" });
const initialized = { jsonrpc: "2.0", method: "notifications/initialized" };
const readTask = (id: number, uri: string) => ({
  jsonrpc: "2.0",
  id,
  method: "resources/read",
  params: { uri },
});

const taskCount = async (user: TestUser) =>
  (
    await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>()
  )?.n;

/**
 * The D1 binding with its connection to the tasks table lost: every statement that reads `tasks`
 * fails as D1 does when the network drops (the account lookup of the login still works).
 */
function losingTasks(db: D1Database): D1Database {
  return beforeStatements(db, /\bfrom "tasks"/i, () =>
    Promise.reject(new Error("D1_ERROR: Network connection lost.")),
  );
}

describe("MCP at /mcp: batches and bodies", () => {
  it("answers each request of a batch and none of its notifications, however many there are", async () => {
    const user = await createUser();
    const res = await rpc(user.token, [ping(1), initialized, initialized, ping(2)]);
    expect(res.status).toBe(200);
    const answers = await res.json<{ id: number; result: unknown }[]>();
    expect(answers.map((a) => [a.id, a.result])).toEqual([
      [1, {}],
      [2, {}],
    ]);
  });

  it("leaves a broken batch and requests with a null id to the transport: parse errors, not a repeated id", async () => {
    const user = await createUser();
    const broken = await call("/mcp", {
      method: "POST",
      token: user.token,
      body: `[${JSON.stringify(ping(1))},`,
      headers: { "content-type": "application/json" },
    });
    expect(broken.status).toBe(400);
    expect((await broken.json<RpcError>()).error).toEqual({
      code: PARSE_ERROR,
      message: "Parse error: Invalid JSON",
    });
    const res = await rpc(user.token, [ping(null), ping(null)]);
    expect(res.status).toBe(400);
    const answer = await res.json<RpcError>();
    expect(answer.error).toEqual({ code: PARSE_ERROR, message: "Parse error: Invalid JSON-RPC message" });
  });

  it("refuses a body sent without a content type with 415, unread: nothing is captured", async () => {
    const user = await createUser();
    const message = {
      jsonrpc: "2.0",
      id: 1,
      method: "tools/call",
      params: { name: "capture_task", arguments: { text: "buy milk" } },
    };
    const url = `${BASE}/mcp`;
    // Bytes, not a string: fetch gives them no content type of its own.
    const res = await exports.default.fetch(url, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}` },
      body: new TextEncoder().encode(JSON.stringify(message)),
    });
    await checkContract("POST", url, res.clone());
    expect(res.status).toBe(415);
    expect(await problemOf(res)).toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(await taskCount(user)).toBe(0);
  });
});

describe("MCP at /mcp: next_step for an agent", () => {
  it("says there is nothing to do while its assignment is pending or only accepted", async () => {
    const owner = await createUser();
    const agent = await registerAgent(owner, { max_concurrent_tasks: 5 });
    const task = await createTask(owner, {
      title: "Sort the invoices",
      micro_steps: [{ description: "Open the folder" }],
    });
    const { assignment } = await delegate(owner, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    if (!assignment || !agent.token) throw new Error("the task was not delegated to the agent");
    const client = await mcpClient(agent.token);
    const nothing: NextStepDto = {
      task: null,
      step: null,
      reason: "No assignment of yours is in progress: accept and start one first.",
    };
    expect(await callTool<NextStepDto>(client, "next_step")).toEqual(nothing);
    await callTool(client, "accept_assignment", { assignment_id: assignment.assignment_id });
    expect(await callTool<NextStepDto>(client, "next_step")).toEqual(nothing);
    await callTool(client, "start_assignment", { assignment_id: assignment.assignment_id });
    const working = await callTool<NextStepDto>(client, "next_step");
    expect(working.step?.description).toBe("Open the folder");
  });
});

describe("MCP at /mcp: task resources that cannot be read", () => {
  it("refuses a token without tasks:read its list and its reads with the REST 403 as the error's data", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Renew the passport" });
    const agentsOnly = await actingThroughApiToken(user, "agents only", ["agents:read"]);
    const rest = await call(`/api/v1/tasks/${task.task_id}`, { token: agentsOnly.token });
    const { detail } = await problemOf(rest);
    expect(detail).toBe('This API token lacks the "tasks:read" scope.');
    const res = await rpc(agentsOnly.token, [
      { jsonrpc: "2.0", id: 1, method: "resources/list" },
      readTask(2, `task://${task.task_id}`),
    ]);
    expect(res.status).toBe(200);
    const answers = await res.json<RpcError[]>();
    expect(answers).toHaveLength(2);
    for (const answer of answers) {
      expect(answer.error, String(answer.id)).toEqual({
        code: INVALID_REQUEST,
        message: detail,
        data: { status: 403, code: "forbidden", detail },
      });
    }
  });

  it("answers an id longer than any task's as not found without asking D1", async () => {
    const user = await createUser();
    const tooLong = `task://${"x".repeat(65)}`;
    const missing = `task://${crypto.randomUUID()}`;
    const res = await rpc(user.token, [readTask(1, tooLong), readTask(2, missing)]);
    const [long, absent] = await res.json<RpcError[]>();
    expect(long?.error).toMatchObject({ code: INVALID_PARAMS, message: "Task was not found." });
    expect(absent?.error).toMatchObject({ code: INVALID_PARAMS, message: "Task was not found." });
    const trips = (uri: string) =>
      tripsFor("/mcp", { method: "POST", token: user.token, body: JSON.stringify(readTask(1, uri)) });
    // The login's account lookup only: a missing id of a sensible length is looked for.
    expect(await trips(tooLong)).toEqual({ status: 200, trips: LOOKUP });
    expect(await trips(missing)).toEqual({ status: 200, trips: LOOKUP + 1 });
  });

  it("reports a D1 outage as an internal error carrying the REST 503 and when to try again", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Water the plants" });
    const res = await callWith({ DB: losingTasks(env.DB) }, "/mcp", {
      token: user.token,
      body: [{ jsonrpc: "2.0", id: 1, method: "resources/list" }, readTask(2, `task://${task.task_id}`)],
    });
    expect(res.status).toBe(200);
    const detail = "The service is briefly unavailable; try again in 1 second.";
    const answers = await res.json<RpcError[]>();
    expect(answers.map((a) => a.error)).toEqual(
      [1, 2].map(() => ({
        code: INTERNAL_ERROR,
        message: detail,
        data: { status: 503, code: "temporarily_unavailable", detail, retry_after_seconds: 1 },
      })),
    );
    // The same task reads again once D1 is back.
    const back = await rpc(user.token, readTask(3, `task://${task.task_id}`));
    const { result } = await back.json<{ result: { contents: { text: string }[] } }>();
    expect(JSON.parse(result.contents[0]?.text ?? "{}")).toMatchObject({ task_id: task.task_id });
  });
});
