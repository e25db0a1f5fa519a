import { env } from "cloudflare:workers";
import type { Client } from "@modelcontextprotocol/client";
import { describe, expect, it } from "vitest";
import type { NextStepDto } from "../src/features/tasks/schemas";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { actingThroughApiToken } from "./helpers/auth";
import { type Assignment, delegate, fillNotesToCap, registerAgent } from "./helpers/delegation";
import { callTool, mcpClient, toolError } from "./helpers/mcp";
import { spyOnBatches } from "./helpers/sql-spy";
import { createTask, getTask, type Task } from "./helpers/tasks";

const TOOLS = [
  "list_assignments",
  "accept_assignment",
  "start_assignment",
  "complete_assignment",
  "reject_assignment",
  "get_task",
  "complete_step",
  "next_step",
  "capture_task",
  "add_note",
  "list_notes",
];

/** A note on an assignment, as add_note and the REST notes list answer it. */
interface AssignmentNote {
  note_id: string;
  author: string;
  text: string;
}

/** What capture_task answers: the task, with what was understood of the line. */
type CapturedTask = Task & { capture: { title: string } };

interface NotePage {
  notes: AssignmentNote[];
  next_cursor: string | null;
}

interface AssignmentPage {
  assignments: Assignment[];
  next_cursor: string | null;
}

/** A user with an agent, and a task with two steps delegated to it (a pending assignment). */
async function delegatedWork(
  user?: TestUser,
): Promise<{ user: TestUser; agentToken: string; agentId: string; task: Task; assignment: Assignment }> {
  const owner = user ?? (await createUser());
  const agent = await registerAgent(owner, { max_concurrent_tasks: 5 });
  const task = await createTask(owner, {
    title: "Write the release notes",
    micro_steps: [{ description: "List the changes" }, { description: "Write them up" }],
  });
  const { assignment } = await delegate(owner, { task_id: task.task_id, delegation_mode: "DELEGATE" });
  if (!assignment || !agent.token) throw new Error("the task was not delegated to the agent");
  return { user: owner, agentToken: agent.token, agentId: agent.agent_id, task, assignment };
}

/** The REST problem's detail for the same request, to compare a tool error's sentence with. */
async function restDetail(
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; detail: string }> {
  const res = await call(path, { method: "POST", token, body });
  const problem = await problemOf(res);
  return { status: res.status, detail: problem.detail };
}

const assignmentRow = (id: string) =>
  env.DB.prepare("SELECT status, accepted_at, started_at, completed_at FROM task_assignments WHERE id = ?")
    .bind(id)
    .first<{
      status: string;
      accepted_at: string | null;
      started_at: string | null;
      completed_at: string | null;
    }>();

/** A JSON-RPC message sent by hand, as a client without the SDK would. */
function rpc(token: string, body: unknown, headers: Record<string, string> = {}) {
  return call("/mcp", { method: "POST", token, body, headers });
}

describe("MCP at /mcp: connecting", () => {
  it("connects with the SDK client and lists every tool with input and output schemas", async () => {
    const { agentToken } = await delegatedWork();
    const client = await mcpClient(agentToken);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual([...TOOLS].sort());
    for (const tool of tools) {
      expect(tool.inputSchema.type, tool.name).toBe("object");
      expect(tool.outputSchema?.type, tool.name).toBe("object");
      expect(tool.description, tool.name).toBeTruthy();
    }
    const accept = tools.find((t) => t.name === "accept_assignment");
    expect(accept?.inputSchema.required).toEqual(["assignment_id"]);
  });

  it("serves a client that first probes for a newer protocol: it falls back to the 2025 handshake", async () => {
    const user = await createUser();
    const client = await mcpClient(user.token, { negotiate: true });
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toContain("next_step");
  });

  it("refuses a missing or bad bearer token with 401 problem+json and a WWW-Authenticate challenge", async () => {
    for (const token of [undefined, "pap_not-a-real-token"]) {
      const res = await call("/mcp", {
        method: "POST",
        ...(token ? { token } : {}),
        body: { jsonrpc: "2.0", id: 1, method: "tools/list" },
      });
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(await problemOf(res)).toMatchObject({ status: 401, code: "unauthorized" });
    }
  });

  it("answers GET and DELETE with 405 as a stateless server does: everything goes through POST", async () => {
    const user = await createUser();
    for (const method of ["GET", "DELETE"]) {
      const res = await call("/mcp", { method, token: user.token });
      expect(res.status, method).toBe(405);
      expect(res.headers.get("allow")).toBe("POST");
      expect(await problemOf(res)).toMatchObject({ status: 405, code: "method_not_allowed" });
    }
  });

  it("answers malformed JSON-RPC with a JSON-RPC error, never a 500", async () => {
    const user = await createUser();
    for (const body of ["{not json", JSON.stringify({ hello: "world" }), ""]) {
      const res = await rpc(user.token, body, { "content-type": "application/json" });
      expect(res.status, body).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      const answer = await res.json<{ jsonrpc: string; error: { code: number; message: string } }>();
      expect(answer.jsonrpc).toBe("2.0");
      expect(answer.error.code).toBe(-32700);
    }
    const unknown = await rpc(user.token, { jsonrpc: "2.0", id: 7, method: "no/such-method" });
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toMatchObject({ id: 7, error: { code: -32601 } });
  });

  it("refuses a batch with a request id twice, or of more than 20 messages, with -32600 before running any of it", async () => {
    const { agentToken, assignment } = await delegatedWork();
    const accept = (id: number) => ({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name: "accept_assignment", arguments: { assignment_id: assignment.assignment_id } },
    });
    const twice = await rpc(agentToken, [accept(1), accept(1)]);
    expect(twice.status).toBe(400);
    const answer = await twice.json<{ id: null; error: { code: number; message: string } }>();
    expect(answer.error.code).toBe(-32600);
    expect(answer.error.message).toContain("appears twice");
    expect((await assignmentRow(assignment.assignment_id))?.status).toBe("pending");
    const pings = Array.from({ length: 21 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "ping" }));
    const many = await rpc(agentToken, pings);
    expect(many.status).toBe(400);
    expect(await many.json()).toMatchObject({
      error: { code: -32600, message: "A batch holds at most 20 messages; this one has 21." },
    });
    const fine = await rpc(agentToken, pings.slice(0, 20));
    expect(fine.status).toBe(200);
    expect(await fine.json()).toHaveLength(20);
  });

  it("answers a plain JSON client (Accept: application/json) and refuses a body that is not JSON with 415", async () => {
    const user = await createUser();
    const res = await rpc(
      user.token,
      { jsonrpc: "2.0", id: 1, method: "tools/list" },
      { accept: "application/json" },
    );
    expect(res.status).toBe(200);
    const answer = await res.json<{ result: { tools: { name: string }[] } }>();
    expect(answer.result.tools.map((t) => t.name)).toContain("capture_task");
    const text = await rpc(user.token, "tools/list", { "content-type": "text/plain" });
    expect(text.status).toBe(415);
    expect(await problemOf(text)).toMatchObject({ status: 415, code: "unsupported_media_type" });
  });
});

describe("MCP at /mcp: an agent takes its assignment", () => {
  it("drives an assignment from pending to completed, as REST and D1 then show it", async () => {
    const { user, agentToken, agentId, task, assignment } = await delegatedWork();
    const client = await mcpClient(agentToken);

    const pending = await callTool<AssignmentPage>(client, "list_assignments", { status: "PENDING" });
    expect(pending.assignments.map((a) => a.assignment_id)).toEqual([assignment.assignment_id]);
    expect(pending.next_cursor).toBeNull();

    const accepted = await callTool<Assignment>(client, "accept_assignment", {
      assignment_id: assignment.assignment_id,
    });
    expect(accepted.status).toBe("accepted");
    const started = await callTool<Assignment>(client, "start_assignment", {
      assignment_id: assignment.assignment_id,
    });
    expect(started.status).toBe("in_progress");

    // Without a task id, the agent's next step is the first open step of its work in progress.
    const next = await callTool<NextStepDto>(client, "next_step");
    expect(next.task?.task_id).toBe(task.task_id);
    expect(next.step?.description).toBe("List the changes");
    const read = await callTool<Task>(client, "get_task", { task_id: task.task_id });
    expect(read.micro_steps?.map((s) => s.description)).toEqual(["List the changes", "Write them up"]);

    const note = { assignment_id: assignment.assignment_id, text: "Half way there", idempotency_key: "n-1" };
    const added = await callTool<AssignmentNote>(client, "add_note", note);
    expect(added).toMatchObject({ author: `agent:${agentId}`, text: "Half way there" });
    expect((await callTool<AssignmentNote>(client, "add_note", note)).note_id).toBe(added.note_id);

    const completed = await callTool<Assignment>(client, "complete_assignment", {
      assignment_id: assignment.assignment_id,
      actual_minutes: 25,
      notes: "Done: notes written and published",
    });
    expect(completed).toMatchObject({ status: "completed", actual_hours: 0.42 });

    const row = await assignmentRow(assignment.assignment_id);
    expect(row?.status).toBe("completed");
    expect(row?.accepted_at && row.started_at && row.completed_at).toBeTruthy();
    const rest = await getTask(user, task.task_id);
    expect(rest).toMatchObject({ status: "completed", actual_minutes: 25 });
    expect(rest.micro_steps?.every((s) => s.status === "completed")).toBe(true);
    const notes = await callJson<AssignmentNote[]>(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/notes`,
      200,
      { token: user.token },
    );
    expect(notes.map((n) => [n.author, n.text])).toEqual([
      [`agent:${agentId}`, "Half way there"],
      [`agent:${agentId}`, "Done: notes written and published"],
    ]);
    // An illegal move answers the REST 409 sentence.
    const again = await toolError(client, "start_assignment", { assignment_id: assignment.assignment_id });
    expect(again).toMatchObject({ status: 409, code: "illegal_transition" });
    expect(again.text).toBe("Cannot start an assignment that is completed.");
  });

  it("completes a step of its accepted or started work with its own token, and of nothing else", async () => {
    const { user, agentToken, task, assignment } = await delegatedWork();
    const client = await mcpClient(agentToken);
    const [first] = task.micro_steps ?? [];
    const args = { task_id: task.task_id, step_id: first?.step_id };
    const early = await toolError(client, "complete_step", args);
    expect(early).toMatchObject({ status: 404, text: "Task was not found." });
    await callTool(client, "accept_assignment", { assignment_id: assignment.assignment_id });
    const done = await callTool<Task>(client, "complete_step", args);
    expect(done.progress).toMatchObject({ completed_steps: 1, total_steps: 2 });
    const own = await createTask(user, { title: "The person's", micro_steps: [{ description: "Mine" }] });
    const other = await toolError(client, "complete_step", {
      task_id: own.task_id,
      step_id: own.micro_steps?.[0]?.step_id,
    });
    expect(other).toMatchObject({ status: 404, text: "Task was not found." });
    expect((await getTask(user, own.task_id)).micro_steps?.[0]?.status).toBe("pending");
    const reader = await actingThroughApiToken(user, "reader", ["tasks:read", "agents:write"]);
    const person = await toolError(await mcpClient(reader.token), "complete_step", args);
    expect(person).toMatchObject({ status: 403, text: 'This API token lacks the "tasks:write" scope.' });
  });

  it("checks the agent's assignment inside the step's own write: one rejected meanwhile lets no step through", async () => {
    const { user, agentToken, task, assignment } = await delegatedWork();
    await callTool(await mcpClient(agentToken), "accept_assignment", {
      assignment_id: assignment.assignment_id,
    });
    let rejectedMeanwhile = false;
    // The assignment is rejected just before the step's batch runs (as another request could).
    const db = spyOnBatches(env.DB, async (texts, run) => {
      if (!rejectedMeanwhile && texts.some((t) => /^update "micro_steps" set "status"/i.test(t))) {
        rejectedMeanwhile = true;
        await env.DB.prepare("UPDATE task_assignments SET status = 'rejected' WHERE id = ?")
          .bind(assignment.assignment_id)
          .run();
      }
      return run();
    });
    const client = await mcpClient(agentToken, { bindings: { ...env, DB: db } });
    const [first] = task.micro_steps ?? [];
    const refused = await toolError(client, "complete_step", {
      task_id: task.task_id,
      step_id: first?.step_id,
    });
    expect(rejectedMeanwhile).toBe(true);
    expect(refused).toMatchObject({ status: 404, text: "Task was not found." });
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => s.status)).toEqual(["pending", "pending"]);
    expect(after.status).toBe("pending");
  });

  it("reads the owner's answer with list_notes, a page at a time, and completes with blank notes as REST does", async () => {
    const { user, agentToken, agentId, assignment } = await delegatedWork();
    const id = assignment.assignment_id;
    const client = await mcpClient(agentToken);
    await callTool(client, "add_note", { assignment_id: id, text: "Which database?" });
    await callJson(`/api/v1/delegation/assignments/${id}/notes`, 201, {
      method: "POST",
      token: user.token,
      body: { text: "Staging, please." },
    });
    const first = await callTool<NotePage>(client, "list_notes", { assignment_id: id, limit: 1 });
    expect(first.notes.map((n) => [n.author, n.text])).toEqual([[`agent:${agentId}`, "Which database?"]]);
    const second = await callTool<NotePage>(client, "list_notes", {
      assignment_id: id,
      limit: 1,
      cursor: first.next_cursor,
    });
    expect(second.notes.map((n) => [n.author, n.text])).toEqual([["owner", "Staging, please."]]);
    expect(second.next_cursor).toBeNull();
    const sibling = await registerAgent(user);
    const hidden = await toolError(await mcpClient(sibling.token as string), "list_notes", {
      assignment_id: id,
    });
    expect(hidden).toMatchObject({ status: 404, text: "Assignment was not found." });

    const completed = await callTool<Assignment>(client, "complete_assignment", {
      assignment_id: id,
      notes: "   ",
    });
    expect(completed.status).toBe("completed");
    const all = await callTool<NotePage>(client, "list_notes", { assignment_id: id });
    expect(all.notes).toHaveLength(2);
  });

  it("rejects an assignment with a reason: the task goes back to be delegated again", async () => {
    const { user, agentToken, task, assignment } = await delegatedWork();
    const client = await mcpClient(agentToken);
    const rejected = await callTool<Assignment>(client, "reject_assignment", {
      assignment_id: assignment.assignment_id,
      reason: "I cannot reach the repository",
    });
    expect(rejected).toMatchObject({ status: "rejected", reason: "I cannot reach the repository" });
    expect((await getTask(user, task.task_id)).assigned_to).toBeNull();
  });

  it("pages its assignments with a cursor", async () => {
    const { user, agentToken, assignment: first } = await delegatedWork();
    const second = await createTask(user, { title: "Second job" });
    await delegate(user, { task_id: second.task_id, delegation_mode: "DELEGATE" });
    const client = await mcpClient(agentToken);
    const page1 = await callTool<AssignmentPage>(client, "list_assignments", { limit: 1 });
    expect(page1.assignments.map((a) => a.task_id)).toEqual([second.task_id]);
    expect(page1.next_cursor).toBeTruthy();
    const page2 = await callTool<AssignmentPage>(client, "list_assignments", {
      limit: 1,
      cursor: page1.next_cursor,
    });
    expect(page2.assignments.map((a) => a.assignment_id)).toEqual([first.assignment_id]);
    expect(page2.next_cursor).toBeNull();
    const bad = await toolError(client, "list_assignments", { cursor: "not-a-cursor" });
    expect(bad).toMatchObject({ status: 400, code: "invalid_cursor" });
  });

  it("reads a task and its steps as a resource, and lists the caller's tasks", async () => {
    const { agentToken, task } = await delegatedWork();
    const client = await mcpClient(agentToken);
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain(`task://${task.task_id}`);
    const { resourceTemplates } = await client.listResourceTemplates();
    expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["task://{task_id}"]);
    const { contents } = await client.readResource({ uri: `task://${task.task_id}` });
    const [content] = contents;
    expect(content?.mimeType).toBe("application/json");
    const body = JSON.parse(content && "text" in content ? content.text : "{}") as Task;
    expect(body.task_id).toBe(task.task_id);
    expect(body.micro_steps).toHaveLength(2);
  });
});

describe("MCP at /mcp: scopes and ownership", () => {
  it("refuses a read-only token's write tool with the REST sentence and changes nothing", async () => {
    const { user, assignment } = await delegatedWork();
    const readOnly = await actingThroughApiToken(user, "read only", ["agents:read", "tasks:read"]);
    const client = await mcpClient(readOnly.token);
    // Reading works…
    const list = await callTool<AssignmentPage>(client, "list_assignments");
    expect(list.assignments).toEqual([]);
    // …writing does not, in the words REST uses.
    const refused = await toolError(client, "accept_assignment", { assignment_id: assignment.assignment_id });
    const rest = await restDetail(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/accept`,
      readOnly.token,
    );
    expect(refused).toMatchObject({ status: 403, code: "forbidden", text: rest.detail });
    expect(refused.text).toBe('This API token lacks the "agents:write" scope.');
    const note = await toolError(client, "add_note", { assignment_id: assignment.assignment_id, text: "hi" });
    expect(note).toMatchObject({ status: 403, text: rest.detail });
    expect((await assignmentRow(assignment.assignment_id))?.status).toBe("pending");
  });

  it("lets only the owner capture: an agent's token gets the REST sentence", async () => {
    const { agentToken } = await delegatedWork();
    const agent = await mcpClient(agentToken);
    const refused = await toolError(agent, "capture_task", { text: "buy milk" });
    const rest = await restDetail("/api/v1/capture", agentToken, { text: "buy milk" });
    expect(refused).toMatchObject({ status: rest.status, text: rest.detail });
  });

  it("keeps another user's assignment and task invisible, exactly like missing ones", async () => {
    const { assignment, task } = await delegatedWork();
    const stranger = await delegatedWork();
    const client = await mcpClient(stranger.agentToken);
    const list = await callTool<AssignmentPage>(client, "list_assignments");
    expect(list.assignments.map((a) => a.assignment_id)).toEqual([stranger.assignment.assignment_id]);

    const accept = await toolError(client, "accept_assignment", { assignment_id: assignment.assignment_id });
    const rest = await restDetail(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/accept`,
      stranger.agentToken,
    );
    expect(accept).toMatchObject({ status: 404, code: "not_found", text: rest.detail });
    const missing = await toolError(client, "accept_assignment", { assignment_id: crypto.randomUUID() });
    expect(missing.text).toBe(accept.text);
    expect((await toolError(client, "get_task", { task_id: task.task_id })).text).toBe("Task was not found.");
    const note = await toolError(client, "add_note", {
      assignment_id: assignment.assignment_id,
      text: "hello",
    });
    expect(note).toMatchObject({ status: 404, text: "Assignment was not found." });
    await expect(client.readResource({ uri: `task://${task.task_id}` })).rejects.toThrow(
      "Task was not found.",
    );
    expect((await assignmentRow(assignment.assignment_id))?.status).toBe("pending");
  });

  it("keeps an assignment invisible to another agent of the same person, even when its notes are full", async () => {
    const { user, assignment } = await delegatedWork();
    await fillNotesToCap(user, assignment.assignment_id);
    const sibling = await registerAgent(user);
    const client = await mcpClient(sibling.token as string);
    const args = { assignment_id: assignment.assignment_id };
    for (const [name, extra] of [
      ["complete_assignment", { notes: "Taking it over" }],
      ["add_note", { text: "Me too" }],
      ["accept_assignment", {}],
    ] as const) {
      const refused = await toolError(client, name, { ...args, ...extra });
      expect(refused, name).toMatchObject({ status: 404, text: "Assignment was not found." });
    }
    expect((await assignmentRow(assignment.assignment_id))?.status).toBe("pending");
  });
});

describe("MCP at /mcp: a person's own work", () => {
  it("captures a task once per idempotency key, completes its steps and picks the next one as REST does", async () => {
    const user = await createUser();
    const writer = await actingThroughApiToken(user, "mcp", ["tasks:read", "tasks:write"]);
    const client: Client = await mcpClient(writer.token);
    const args = { text: "email Sam about rent !high #home ~10m", idempotency_key: "capture-1" };
    const captured = await callTool<CapturedTask>(client, "capture_task", args);
    expect(captured).toMatchObject({ title: "email Sam about rent", priority: "high", tags: ["home"] });
    expect((await callTool<CapturedTask>(client, "capture_task", args)).task_id).toBe(captured.task_id);
    const reused = await toolError(client, "capture_task", { ...args, text: "something else" });
    expect(reused).toMatchObject({ status: 422, code: "idempotency_key_reused" });
    const { count } = (await env.DB.prepare("SELECT count(*) AS count FROM tasks WHERE user_id = ?")
      .bind(user.id)
      .first<{ count: number }>()) ?? { count: 0 };
    expect(count).toBe(1);

    const task = await createTask(user, {
      title: "Tidy the desk",
      priority: "critical",
      micro_steps: [{ description: "Clear it" }, { description: "Wipe it" }],
    });
    const [first, second] = task.micro_steps ?? [];
    const rest = await callJson<NextStepDto>("/api/v1/tasks/next", 200, { token: user.token });
    const picked = await callTool<NextStepDto>(client, "next_step");
    expect(picked).toEqual(rest);
    expect(picked.step?.step_id).toBe(first?.step_id);

    const afterFirst = await callTool<Task>(client, "complete_step", {
      task_id: task.task_id,
      step_id: first?.step_id,
    });
    expect(afterFirst.progress).toMatchObject({ completed_steps: 1, total_steps: 2 });
    const ofTask = await callTool<NextStepDto>(client, "next_step", { task_id: task.task_id });
    expect(ofTask.step?.step_id).toBe(second?.step_id);
    const done = await callTool<Task>(client, "complete_step", {
      task_id: task.task_id,
      step_id: second?.step_id,
    });
    expect(done.status).toBe("completed");
    const gone = await toolError(client, "complete_step", {
      task_id: task.task_id,
      step_id: crypto.randomUUID(),
    });
    expect(gone).toMatchObject({ status: 404, text: "Step was not found." });
  });

  it("counts every write tool call against the per-user write limit, and leaves reads alone", async () => {
    const { user, assignment, task } = await delegatedWork();
    const keys: string[] = [];
    const refusing: RateLimit = {
      limit: async ({ key }) => {
        keys.push(key);
        return { success: false };
      },
    };
    const callToolWith = async (name: string, args: Record<string, unknown>) => {
      const res = await callWith({ WRITE_LIMITER: refusing }, "/mcp", {
        token: user.token,
        body: { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name, arguments: args } },
        headers: { accept: "application/json, text/event-stream" },
      });
      expect(res.status).toBe(200);
      return (await res.json<{ result: { isError?: boolean; content: { text: string }[] } }>()).result;
    };
    const read = await callToolWith("get_task", { task_id: task.task_id });
    expect(read.isError).toBeFalsy();
    expect(keys).toEqual([]);
    const write = await callToolWith("accept_assignment", { assignment_id: assignment.assignment_id });
    expect(write.isError).toBe(true);
    expect(write.content[0]?.text).toBe("Too many changes; try again in 10 seconds.");
    expect(keys).toEqual([`user:${user.id}`]);
    expect((await assignmentRow(assignment.assignment_id))?.status).toBe("pending");
  });
});
