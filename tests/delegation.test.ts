import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MAX_AGENTS_PER_USER } from "../src/features/delegation/schemas";
import { sweepSilentAgents } from "../src/jobs/agent-sweeper";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import {
  type Agent,
  type Assignment,
  agentsOf,
  assignmentsOf,
  delegate,
  type RegisteredAgent,
  registerAgent,
} from "./helpers/delegation";
import { createTask, getTask, type Task } from "./helpers/tasks";

const move = (token: string, id: string, verb: string, body?: unknown) =>
  call(`/api/v1/delegation/assignments/${id}/${verb}`, { method: "POST", token, body });

describe("agents", () => {
  it("registers an agent with its own token shown once", async () => {
    const user = await createUser();
    const agent = await registerAgent(user, {
      agent_id: `backend-agent-${crypto.randomUUID()}`,
      capabilities: ["python", "pytest"],
    });
    expect(agent).toMatchObject({
      agent_type: "backend-tdd",
      max_concurrent_tasks: 1,
      current_task_count: 0,
      status: "idle",
    });
    expect(agent.token).toMatch(/^pap_/);
    expect((await agentsOf(user)).map((a) => a.agent_id)).toEqual([agent.agent_id]);
  });

  it("updates an agent its owner registers again, keeping its token and saying how to rotate it", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const again = await callJson<RegisteredAgent>("/api/v1/delegation/agents/register", 200, {
      token: user.token,
      body: {
        agent_id: agent.agent_id,
        agent_type: "frontend",
        capabilities: ["react"],
        max_concurrent_tasks: 3,
      },
    });
    expect(again).toMatchObject({
      agent_type: "frontend",
      max_concurrent_tasks: 3,
      capabilities: ["react"],
      token_issued: false,
    });
    expect(again.token).toBeUndefined();
    expect(again.message).toContain(`/api/v1/delegation/agents/${agent.agent_id}/rotate-token`);
    await callJson(`/api/v1/delegation/agents/${agent.agent_id}/heartbeat`, 200, {
      method: "POST",
      token: agent.token,
    });
  });

  it("keeps agent ids per account: another user registers the same id and neither sees the other's", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const agentId = `shared-${crypto.randomUUID()}`;
    const hers = await registerAgent(alice, { agent_id: agentId, agent_type: "research" });
    const his = await registerAgent(bob, { agent_id: agentId, agent_type: "frontend" });
    expect(his.token).toMatch(/^pap_/);
    expect(his.token).not.toBe(hers.token);
    expect(await agentsOf(alice)).toMatchObject([{ agent_id: agentId, agent_type: "research" }]);
    expect(await agentsOf(bob)).toMatchObject([{ agent_id: agentId, agent_type: "frontend" }]);
    const task = await createTask(bob, { title: "Bob's work" });
    const { assignment } = await delegate(bob, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    const herList = await callJson<Assignment[]>(`/api/v1/delegation/assignments/agent/${agentId}`, 200, {
      token: hers.token,
    });
    expect(herList).toEqual([]);
    const foreign = await move(hers.token!, assignment!.assignment_id, "accept");
    expect(foreign.status).toBe(404);
    await foreign.body?.cancel();
    const beat = await callJson<Agent>(`/api/v1/delegation/agents/${agentId}/heartbeat`, 200, {
      method: "POST",
      token: his.token,
    });
    expect(beat).toMatchObject({ agent_type: "frontend", current_task_count: 1 });
    const [aliceAgent] = await agentsOf(alice);
    expect(aliceAgent?.current_task_count).toBe(0);
  });

  it("pages the agent list with a Link header, in agent_id order, and refuses a foreign cursor", async () => {
    const user = await createUser();
    const base = `page-${crypto.randomUUID().slice(0, 8)}`;
    const ids = [`${base}.c`, `${base}:a`, `${base}-b`, `${base}_d`, `${base}@e`];
    for (const agent_id of ids) await registerAgent(user, { agent_id });
    const seen: string[] = [];
    let next: string | undefined = "/api/v1/delegation/agents?limit=2";
    let pages = 0;
    while (next) {
      const res = await call(next, { token: user.token });
      expect(res.status, next).toBe(200);
      const page = await res.json<Agent[]>();
      expect(page.length).toBeLessThanOrEqual(2);
      seen.push(...page.map((a) => a.agent_id));
      pages += 1;
      next = /^<([^>]+)>; rel="next"$/.exec(res.headers.get("link") ?? "")?.[1];
    }
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].sort());
    const bad = await call("/api/v1/delegation/agents?cursor=not-a-cursor!", { token: user.token });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).code).toBe("invalid_cursor");
    const tooBig = await call("/api/v1/delegation/agents?limit=101", { token: user.token });
    expect(tooBig.status).toBe(422);
    await tooBig.body?.cancel();
  });

  it(`caps agents at ${MAX_AGENTS_PER_USER} per account, even for simultaneous registrations`, async () => {
    const user = await createUser();
    const base = `cap-${crypto.randomUUID().slice(0, 8)}`;
    const statuses = await Promise.all(
      Array.from({ length: MAX_AGENTS_PER_USER + 5 }, (_, i) =>
        call("/api/v1/delegation/agents/register", {
          token: user.token,
          body: { agent_id: `${base}-${i}`, agent_type: "bulk" },
        }).then(async (r) => ({ status: r.status, body: await r.json<{ code?: string }>() })),
      ),
    );
    expect(statuses.filter((r) => r.status === 201)).toHaveLength(MAX_AGENTS_PER_USER);
    const refused = statuses.filter((r) => r.status !== 201);
    expect(refused.map((r) => [r.status, r.body.code])).toEqual(
      Array.from({ length: 5 }, () => [409, "too_many_agents"]),
    );
    const count = await env.DB.prepare(
      "SELECT (SELECT count(*) FROM agents WHERE user_id = ?1) AS agents, (SELECT count(*) FROM api_tokens WHERE user_id = ?1) AS tokens",
    )
      .bind(user.id)
      .first();
    expect(count).toEqual({ agents: MAX_AGENTS_PER_USER, tokens: MAX_AGENTS_PER_USER });
    const existing = await call("/api/v1/delegation/agents/register", {
      token: user.token,
      body: { agent_id: `${base}-0`, agent_type: "bulk", max_concurrent_tasks: 2 },
    });
    expect(existing.status).toBe(200);
    await existing.body?.cancel();
  });

  it("filters agents by type and status", async () => {
    const user = await createUser();
    const a = await registerAgent(user, { agent_type: "research" });
    await registerAgent(user, { agent_type: "backend-tdd" });
    const research = await callJson<Agent[]>("/api/v1/delegation/agents?agent_type=research", 200, {
      token: user.token,
    });
    expect(research.map((r) => r.agent_id)).toEqual([a.agent_id]);
    const busy = await callJson<Agent[]>("/api/v1/delegation/agents?status=BUSY", 200, { token: user.token });
    expect(busy).toEqual([]);
  });

  it("takes a heartbeat from the agent itself", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const beat = await callJson<Agent>(`/api/v1/delegation/agents/${agent.agent_id}/heartbeat`, 200, {
      method: "POST",
      token: agent.token,
    });
    expect(beat.status).toBe("idle");
    const other = await createUser();
    const res = await call(`/api/v1/delegation/agents/${agent.agent_id}/heartbeat`, {
      method: "POST",
      token: other.token,
    });
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });
});

describe("delegating", () => {
  it("DELEGATE assigns a registered agent and updates the task's delegation fields in the same write", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const task = await createTask(user, { title: "BE-01 Templates" });
    const result = await delegate(user, {
      task_id: task.task_id,
      delegation_mode: "delegate",
      prefer_agent_type: "backend-tdd",
    });
    expect(result.assignment).toMatchObject({
      agent_id: agent.agent_id,
      status: "pending",
      assignee: `agent:${agent.agent_id}`,
    });
    expect(result.assigned_agent).toMatchObject({
      agent_id: agent.agent_id,
      current_task_count: 1,
      status: "busy",
    });
    const stored = await callJson<Task & { assigned_to: string; agent_type: string }>(
      `/api/v1/tasks/${task.task_id}`,
      200,
      {
        token: user.token,
      },
    );
    expect(stored).toMatchObject({
      delegation_mode: "DELEGATE",
      assigned_to: `agent:${agent.agent_id}`,
      agent_type: "backend-tdd",
    });
    const events = await env.DB.prepare(
      "SELECT type FROM events WHERE user_id = ? AND type LIKE 'assignment.%'",
    )
      .bind(user.id)
      .all();
    expect(events.results).toEqual([{ type: "assignment.created" }]);
  });

  it('answers 503 "No available … agents" when none has room or the type is missing', async () => {
    const user = await createUser();
    await registerAgent(user, { agent_type: "backend-tdd" });
    const first = await createTask(user, { title: "one" });
    const second = await createTask(user, { title: "two" });
    await delegate(user, { task_id: first.task_id, delegation_mode: "DELEGATE" });
    const full = await call("/api/v1/delegation/delegate", {
      token: user.token,
      body: { task_id: second.task_id, delegation_mode: "DELEGATE" },
    });
    expect(full.status).toBe(503);
    expect((await problemOf(full)).detail).toContain("No available");
    const wrongType = await call("/api/v1/delegation/delegate", {
      token: user.token,
      body: { task_id: second.task_id, delegation_mode: "DELEGATE", prefer_agent_type: "designer" },
    });
    expect(wrongType.status).toBe(503);
    expect((await problemOf(wrongType)).detail).toContain('No available "designer" agents');
  });

  it("picks only agents with every required capability, least loaded first", async () => {
    const user = await createUser();
    await registerAgent(user, { capabilities: ["python"], max_concurrent_tasks: 5 });
    const both = await registerAgent(user, { capabilities: ["python", "pytest"], max_concurrent_tasks: 5 });
    const task = await createTask(user, { title: "needs pytest" });
    const result = await delegate(user, {
      task_id: task.task_id,
      delegation_mode: "DELEGATE",
      required_capabilities: ["pytest", "python"],
    });
    expect(result.assigned_agent?.agent_id).toBe(both.agent_id);
  });

  it("DO assigns the person; DO_WITH_ME adds an agent as collaborator", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const mine = await createTask(user, { title: "mine" });
    const together = await createTask(user, { title: "together" });
    const doIt = await delegate(user, { task_id: mine.task_id, delegation_mode: "DO" });
    expect(doIt.assignment).toMatchObject({
      assignee: `user:${user.id}`,
      agent_id: null,
      status: "accepted",
    });
    const pair = await delegate(user, { task_id: together.task_id, delegation_mode: "DO_WITH_ME" });
    expect(pair.assignment?.assignee).toBe(`user:${user.id}`);
    expect(pair.collaborator_assignment).toMatchObject({
      agent_id: agent.agent_id,
      role: "collaborator",
      status: "pending",
    });
    const stored = await getTask(user, together.task_id);
    expect(stored).toMatchObject({ assigned_to: `user:${user.id}`, delegation_mode: "DO_WITH_ME" });
  });

  it("keeps the strict path for a collaborator: it cannot complete a pending collaboration", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const together = await createTask(user, { title: "together, step by step" });
    const pair = await delegate(user, { task_id: together.task_id, delegation_mode: "DO_WITH_ME" });
    const collaboration = pair.collaborator_assignment?.assignment_id;
    const path = `/api/v1/delegation/assignments/${collaboration}`;
    const early = await call(`${path}/complete`, { method: "POST", token: agent.token, body: {} });
    expect(early.status).toBe(409);
    await early.body?.cancel();
    await callJson(`${path}/accept`, 200, { method: "POST", token: agent.token });
    await callJson(`${path}/start`, 200, { method: "POST", token: agent.token });
    await callJson(`${path}/complete`, 200, { method: "POST", token: agent.token, body: {} });
  });

  it("DELETE drops the task and cancels its open assignments, freeing the agent", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const task = await createTask(user, { title: "drop" });
    await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    const dropped = await delegate(user, { task_id: task.task_id, delegation_mode: "DELETE" });
    expect(dropped.assignment).toBeNull();
    const gone = await call(`/api/v1/tasks/${task.task_id}`, { token: user.token });
    expect(gone.status).toBe(404);
    await gone.body?.cancel();
    const [after] = await agentsOf(user);
    expect(after).toMatchObject({ agent_id: agent.agent_id, current_task_count: 0, status: "idle" });
    const list = await assignmentsOf(user, agent.agent_id);
    expect(list.map((a) => a.status)).toEqual(["cancelled"]);
  });

  it("refuses a second open assignment for the same task with 409, and other users' tasks with 404", async () => {
    const user = await createUser();
    await registerAgent(user, { max_concurrent_tasks: 5 });
    const task = await createTask(user, { title: "once" });
    await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    const again = await call("/api/v1/delegation/delegate", {
      token: user.token,
      body: { task_id: task.task_id, delegation_mode: "DELEGATE" },
    });
    expect(again.status).toBe(409);
    await again.body?.cancel();
    const stranger = await createUser();
    await registerAgent(stranger);
    const theirs = await call("/api/v1/delegation/delegate", {
      token: stranger.token,
      body: { task_id: task.task_id, delegation_mode: "DELEGATE" },
    });
    expect(theirs.status).toBe(404);
    await theirs.body?.cancel();
  });
});

describe("assignments", () => {
  async function delegated() {
    const user = await createUser();
    const agent = await registerAgent(user);
    const task = await createTask(user, {
      title: "Agent work",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    const { assignment } = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    return { user, agent, task, assignment: assignment! };
  }

  it("moves pending → accepted → in_progress → completed with timestamps, and completes the task", async () => {
    const { user, agent, task, assignment } = await delegated();
    const token = agent.token!;
    const accepted = await (await move(token, assignment.assignment_id, "accept")).json<Assignment>();
    expect(accepted).toMatchObject({ status: "accepted" });
    expect(accepted.accepted_at).toBeTruthy();
    const started = await (await move(token, assignment.assignment_id, "start")).json<Assignment>();
    expect(started).toMatchObject({ status: "in_progress", task: { status: "in_progress" } });
    const res = await move(token, assignment.assignment_id, "complete", { actual_minutes: 42 });
    expect(res.status).toBe(200);
    const completed = await res.json<Assignment>();
    expect(completed).toMatchObject({ status: "completed", task: { status: "completed" } });
    expect(completed.completed_at).toBeTruthy();
    const stored = await getTask(user, task.task_id);
    expect(stored.micro_steps?.map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(stored.actual_minutes).toBe(42);
    const [after] = await agentsOf(user);
    expect(after).toMatchObject({ current_task_count: 0, status: "idle" });
    const types = await env.DB.prepare(
      "SELECT type FROM events WHERE user_id = ? AND type NOT IN ('task.created') ORDER BY id",
    )
      .bind(user.id)
      .all<{ type: string }>();
    expect(types.results.map((r) => r.type)).toEqual([
      "assignment.created",
      "assignment.accepted",
      "assignment.started",
      "assignment.completed",
      "task.completed",
    ]);
  });

  it("lets the agent complete a pending assignment straight away, stamping the steps it skipped", async () => {
    const { user, agent, task, assignment } = await delegated();
    const listed = await callJson<Assignment[]>(
      `/api/v1/delegation/assignments/agent/${agent.agent_id}?status=pending`,
      200,
      { token: agent.token },
    );
    expect(listed.map((a) => a.assignment_id)).toEqual([assignment.assignment_id]);
    const done = await callJson<Assignment>(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/complete`,
      200,
      { method: "POST", token: agent.token },
    );
    expect(done).toMatchObject({ status: "completed", task: { status: "completed" } });
    expect(done.accepted_at).toBe(done.completed_at);
    expect(done.started_at).toBe(done.completed_at);
    const stored = await getTask(user, task.task_id);
    expect(stored.status).toBe("completed");
    const [after] = await agentsOf(user);
    expect(after).toMatchObject({ current_task_count: 0, status: "idle" });
  });

  it("lets the owner complete an accepted assignment, keeping when it was accepted", async () => {
    const { user, agent, assignment } = await delegated();
    const accepted = await callJson<Assignment>(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/accept`,
      200,
      { method: "POST", token: agent.token },
    );
    const done = await callJson<Assignment>(
      `/api/v1/delegation/assignments/${assignment.assignment_id}/complete`,
      200,
      { method: "POST", token: user.token },
    );
    expect(done.status).toBe("completed");
    expect(done.accepted_at).toBe(accepted.accepted_at);
    expect(done.started_at).toBe(done.completed_at);
  });

  it("refuses illegal moves with 409 and changes nothing", async () => {
    const { agent, assignment } = await delegated();
    await (await move(agent.token!, assignment.assignment_id, "accept")).text();
    const twice = await move(agent.token!, assignment.assignment_id, "accept");
    expect(twice.status).toBe(409);
    expect((await problemOf(twice)).code).toBe("illegal_transition");
    const list = await callJson<Assignment[]>(`/api/v1/delegation/assignments/agent/${agent.agent_id}`, 200, {
      token: agent.token,
    });
    expect(list[0]?.status).toBe("accepted");
  });

  it("refuses to complete a rejected or an already completed assignment with 409", async () => {
    const first = await delegated();
    await (await move(first.agent.token!, first.assignment.assignment_id, "reject", { reason: "No" })).text();
    const rejected = await move(first.agent.token!, first.assignment.assignment_id, "complete");
    expect(rejected.status).toBe(409);
    expect((await problemOf(rejected)).detail).toBe("Cannot complete an assignment that is rejected.");
    const second = await delegated();
    await (await move(second.agent.token!, second.assignment.assignment_id, "complete")).text();
    const again = await move(second.agent.token!, second.assignment.assignment_id, "complete");
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe("illegal_transition");
  });

  it("a rejected task can be delegated again, to another agent when one is free", async () => {
    const { user, agent, task, assignment } = await delegated();
    const other = await registerAgent(user);
    const rejected = await move(agent.token!, assignment.assignment_id, "reject", { reason: "Not my stack" });
    expect(await rejected.json()).toMatchObject({ status: "rejected", reason: "Not my stack" });
    const again = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    expect(again.assigned_agent?.agent_id).toBe(other.agent_id);
    const noReason = await move(agent.token!, again.assignment!.assignment_id, "reject", {});
    expect(noReason.status).toBe(422);
    await noReason.body?.cancel();
  });

  it("filters an agent's assignments by status", async () => {
    const user = await createUser();
    const agent = await registerAgent(user, { max_concurrent_tasks: 3 });
    const a = await createTask(user, { title: "a" });
    const b = await createTask(user, { title: "b" });
    const first = await delegate(user, { task_id: a.task_id, delegation_mode: "DELEGATE" });
    await delegate(user, { task_id: b.task_id, delegation_mode: "DELEGATE" });
    await (await move(agent.token!, first.assignment!.assignment_id, "accept")).text();
    const pending = await callJson<Assignment[]>(
      `/api/v1/delegation/assignments/agent/${agent.agent_id}?status=pending`,
      200,
      {
        token: agent.token,
      },
    );
    expect(pending.map((p) => p.task.title)).toEqual(["b"]);
  });

  it("keeps an agent's token to its own assignments and tasks", async () => {
    const { user, agent, task, assignment } = await delegated();
    const other = await registerAgent(user);
    const unrelated = await createTask(user, { title: "not for agents" });
    const token = agent.token!;
    expect((await callJson<Task>(`/api/v1/tasks/${task.task_id}`, 200, { token })).title).toBe("Agent work");
    for (const path of [
      `/api/v1/tasks/${unrelated.task_id}`,
      `/api/v1/delegation/assignments/agent/${other.agent_id}`,
    ]) {
      const res = await call(path, { token });
      expect(res.status, path).toBe(404);
      await res.body?.cancel();
    }
    const visible = await callJson<Task[]>("/api/v1/tasks", 200, { token });
    expect(visible.map((t) => t.task_id)).toEqual([task.task_id]);
    const otherToken = other.token!;
    const foreign = await move(otherToken, assignment.assignment_id, "accept");
    expect(foreign.status).toBe(404);
    await foreign.body?.cancel();
    const stranger = await createUser();
    const strangers = await call(`/api/v1/delegation/assignments/agent/${agent.agent_id}`, {
      token: stranger.token,
    });
    expect(strangers.status).toBe(404);
    await strangers.body?.cancel();
    const cannotDelegate = await call("/api/v1/delegation/delegate", {
      token,
      body: { task_id: task.task_id, delegation_mode: "DO" },
    });
    expect(cannotDelegate.status).toBe(403);
    await cannotDelegate.body?.cancel();
  });
});

describe("concurrency", () => {
  it("never overbooks: 5 agents × 2 slots and 20 simultaneous delegations give exactly 10 assignments", async () => {
    const user = await createUser();
    for (let i = 0; i < 5; i++) await registerAgent(user, { max_concurrent_tasks: 2 });
    const tasks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createTask(user, { title: `c${i}` })),
    );
    const responses = await Promise.all(
      tasks.map((t) =>
        call("/api/v1/delegation/delegate", {
          token: user.token,
          body: { task_id: t.task_id, delegation_mode: "DELEGATE" },
        }).then(async (r) => ({ status: r.status, body: await r.text() })),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(10);
    expect(responses.filter((r) => r.status === 503)).toHaveLength(10);
    const agents = await agentsOf(user);
    expect(agents.map((a) => a.current_task_count)).toEqual([2, 2, 2, 2, 2]);
    const open = await env.DB.prepare(
      "SELECT agent_id, count(*) AS n FROM task_assignments WHERE user_id = ? GROUP BY agent_id",
    )
      .bind(user.id)
      .all<{ n: number }>();
    expect(open.results.every((r) => r.n === 2)).toBe(true);
  });

  it("assigns a task once when it is delegated 10 times at once", async () => {
    const user = await createUser();
    for (let i = 0; i < 3; i++) await registerAgent(user, { max_concurrent_tasks: 10 });
    const task = await createTask(user, { title: "race" });
    const statuses = await Promise.all(
      Array.from({ length: 10 }, () =>
        call("/api/v1/delegation/delegate", {
          token: user.token,
          body: { task_id: task.task_id, delegation_mode: "DELEGATE" },
        }).then(async (r) => {
          await r.text();
          return r.status;
        }),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(9);
    const total = (await agentsOf(user)).reduce((sum, a) => sum + a.current_task_count, 0);
    expect(total).toBe(1);
  });
});

describe("silent agents (cron)", () => {
  it("takes a silent agent offline and delegates its unstarted work to another free agent, once", async () => {
    const user = await createUser();
    const quiet = await registerAgent(user, { agent_type: "research" });
    const task = await createTask(user, { title: "hand over" });
    const first = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    const spare = await registerAgent(user, { agent_type: "research" });
    const hourAgo = new Date(Date.now() - 3_600_000).toISOString();
    await env.DB.prepare("UPDATE agents SET last_active_at = ? WHERE agent_id = ?")
      .bind(hourAgo, quiet.agent_id)
      .run();
    expect(await sweepSilentAgents(env)).toEqual({ offline: 1, redelegated: 1 });
    const agents = await agentsOf(user);
    expect(agents.find((a) => a.agent_id === quiet.agent_id)).toMatchObject({
      status: "offline",
      current_task_count: 0,
    });
    expect(agents.find((a) => a.agent_id === spare.agent_id)).toMatchObject({ current_task_count: 1 });
    const old = await assignmentsOf(user, quiet.agent_id);
    expect(old[0]).toMatchObject({
      assignment_id: first.assignment?.assignment_id,
      status: "rejected",
      reason: "The agent went offline.",
    });
    const stored = await getTask(user, task.task_id);
    expect(stored.assigned_to).toBe(`agent:${spare.agent_id}`);
    expect(await sweepSilentAgents(env)).toEqual({ offline: 0, redelegated: 0 });
  });
});

describe("removing an agent and rotating its token", () => {
  const agentPath = (agent: Agent) => `/api/v1/delegation/agents/${agent.agent_id}`;
  const rotate = (agent: Agent, token: string | undefined) =>
    call(`${agentPath(agent)}/rotate-token`, { method: "POST", token });
  const remove = (agent: Agent, token: string | undefined) =>
    call(agentPath(agent), { method: "DELETE", token });
  const statusOf = async (res: Response) => {
    await res.body?.cancel();
    return res.status;
  };

  it("removes an agent: its token dies at once and its open work goes back to the pool", async () => {
    const user = await createUser();
    const leaving = await registerAgent(user, { agent_type: "research", max_concurrent_tasks: 3 });
    const tasks = await Promise.all(
      ["pending", "accepted", "started"].map((t) => createTask(user, { title: t })),
    );
    const assignments: Assignment[] = [];
    for (const task of tasks) {
      const { assignment } = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
      assignments.push(assignment!);
    }
    await (await move(leaving.token!, assignments[1]!.assignment_id, "accept")).text();
    await (await move(leaving.token!, assignments[2]!.assignment_id, "accept")).text();
    await (await move(leaving.token!, assignments[2]!.assignment_id, "start")).text();
    const spare = await registerAgent(user, { agent_type: "research", max_concurrent_tasks: 5 });

    expect(await statusOf(await remove(leaving, user.token))).toBe(204);

    expect(await statusOf(await call("/api/v1/delegation/agents", { token: leaving.token }))).toBe(401);
    expect(await agentsOf(user)).toMatchObject([{ agent_id: spare.agent_id, current_task_count: 3 }]);
    const ended = await env.DB.prepare(
      "SELECT status, reason FROM task_assignments WHERE user_id = ? AND agent_id = ? ORDER BY id",
    )
      .bind(user.id, leaving.agent_id)
      .all();
    expect(ended.results).toEqual(
      Array.from({ length: 3 }, () => ({ status: "cancelled", reason: "The agent was removed." })),
    );
    const spareWork = await callJson<Assignment[]>(
      `/api/v1/delegation/assignments/agent/${spare.agent_id}`,
      200,
      {
        token: spare.token,
      },
    );
    expect(spareWork.map((a) => a.task_id).sort()).toEqual(tasks.map((t) => t.task_id).sort());
    for (const task of tasks) {
      const stored = await getTask(user, task.task_id);
      expect(stored.assigned_to).toBe(`agent:${spare.agent_id}`);
    }
    expect(await statusOf(await remove(leaving, user.token))).toBe(404);
  });

  it("leaves the removed agent's tasks delegable when no other agent is free", async () => {
    const user = await createUser();
    const leaving = await registerAgent(user);
    const task = await createTask(user, { title: "orphan" });
    await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    expect(await statusOf(await remove(leaving, user.token))).toBe(204);
    const stored = await getTask(user, task.task_id);
    expect(stored.assigned_to).toBeNull();
    const newcomer = await registerAgent(user);
    const again = await delegate(user, { task_id: task.task_id, delegation_mode: "DELEGATE" });
    expect(again.assigned_agent).toMatchObject({ agent_id: newcomer.agent_id, current_task_count: 1 });
  });

  it("rotates an agent's token: the new one is shown once and the old one answers 401 at once", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const res = await rotate(agent, user.token);
    expect(res.status).toBe(200);
    const rotated = await res.json<RegisteredAgent>();
    expect(rotated).toMatchObject({ agent_id: agent.agent_id, token_issued: true });
    expect(rotated.token).toMatch(/^pap_/);
    expect(rotated.token).not.toBe(agent.token);
    const beat = (token: string | undefined) =>
      call(`${agentPath(agent)}/heartbeat`, { method: "POST", token });
    expect(await statusOf(await beat(agent.token))).toBe(401);
    expect(await statusOf(await beat(rotated.token))).toBe(200);
    // The raw answer: no agent in a list carries a token.
    const listed = await callJson<Record<string, unknown>[]>("/api/v1/delegation/agents", 200, {
      token: user.token,
    });
    expect(listed.map((a) => a.token)).toEqual([undefined]);
  });

  it("lets the owner's API token with agents:write remove, but only a login mint a new agent token", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const { token: apiToken } = await createApiToken(user.token, {
      name: "ops script",
      scopes: ["agents:read", "agents:write"],
    });
    const { token: readOnly } = await createApiToken(user.token, { name: "reader", scopes: ["agents:read"] });
    const own = await remove(agent, agent.token);
    expect(own.status).toBe(403);
    expect((await problemOf(own)).detail).toContain("owner");
    // A token never mints another: a leaked one could otherwise outlive its own revocation.
    for (const token of [agent.token, readOnly, apiToken]) {
      expect(await statusOf(await rotate(agent, token))).toBe(403);
    }
    expect(await statusOf(await rotate(agent, user.token))).toBe(200);
    expect(await statusOf(await remove(agent, apiToken))).toBe(204);
    expect(await agentsOf(user)).toEqual([]);
  });

  it("answers 404 for another user's agent, as for a missing one, and changes nothing", async () => {
    const owner = await createUser();
    const agent = await registerAgent(owner);
    const stranger = await createUser();
    const strangersAgent = await registerAgent(stranger);
    const missing = { ...agent, agent_id: `missing-${crypto.randomUUID()}` };
    for (const target of [agent, missing]) {
      const rotated = await rotate(target, stranger.token);
      expect(rotated.status).toBe(404);
      expect((await problemOf(rotated)).detail).toBe("Agent was not found.");
      for (const token of [stranger.token, strangersAgent.token]) {
        expect(await statusOf(await remove(target, token))).toBe(404);
      }
    }
    expect(
      await statusOf(await call(`${agentPath(agent)}/heartbeat`, { method: "POST", token: agent.token })),
    ).toBe(200);
  });
});

describe("DO_WITH_ME on a task that is already assigned", () => {
  it("answers 409 and takes no agent slot", async () => {
    const user = await createUser();
    await registerAgent(user, { max_concurrent_tasks: 3 });
    const task = await createTask(user, { title: "mine already" });
    await delegate(user, { task_id: task.task_id, delegation_mode: "DO" });
    const again = await call("/api/v1/delegation/delegate", {
      token: user.token,
      body: { task_id: task.task_id, delegation_mode: "DO_WITH_ME" },
    });
    expect(again.status).toBe(409);
    await again.body?.cancel();
    const [agent] = await agentsOf(user);
    expect(agent?.current_task_count).toBe(0);
  });
});
