import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { usernameKey } from "../src/features/compat/username-key";
import { delegateInputOf } from "../src/features/delegation/legacy-delegate";
import type { ProblemBody } from "../src/lib/errors";
import { callJson, createUser, type TestUser } from "./helpers/api";
import { type Assignment, type RegisteredAgent, registerAgent } from "./helpers/delegation";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { createTask } from "./helpers/tasks";

/** An assignment as the original API answered it (tests/unit/services/test_delegation.py reads these). */
interface LegacyAssignment extends Assignment {}

interface LegacyTask {
  task_id: string;
  title: string;
  status: string;
  priority: string;
  delegation_mode: string;
  estimated_hours: number | null;
  tags: string;
  is_meta_task: number;
  scope: string | null;
  project_id: string | null;
}

/** The dogfood script's register body (scripts/dogfood.sh `register`). */
const dogfoodAgent = (agentId: string, name = "Sam Rivers", type = "general") => ({
  agent_id: agentId,
  agent_name: name,
  agent_type: type,
  skills: ["python", "typescript", "react", "fastapi"],
  max_concurrent_tasks: 3,
});

const newAgentId = () => `sam-${crypto.randomUUID().slice(0, 8)}`;

async function withUsername(user: TestUser, username: string): Promise<void> {
  await env.DB.prepare("UPDATE users SET username = ?, username_key = ? WHERE id = ?")
    .bind(username, usernameKey(username), user.id)
    .run();
}

async function taskRow(taskId: string) {
  return env.DB.prepare("SELECT estimated_minutes, actual_minutes, status FROM tasks WHERE id = ?")
    .bind(taskId)
    .first<{ estimated_minutes: number | null; actual_minutes: number | null; status: string }>();
}

async function problem(path: string, status: number, options: Parameters<typeof legacyCall>[1]) {
  const res = await legacyCall(path, options);
  const body = await res.text();
  expect(res.status, body).toBe(status);
  return JSON.parse(body) as ProblemBody;
}

const fields = (p: ProblemBody) => (p.errors ?? []).map((e) => e.field);

describe("scripts/dogfood.sh against this API", () => {
  it("registers, assigns to an agent, accepts with no body, completes in hours and lists by status", async () => {
    const user = await createUser();
    const agentId = newAgentId();
    const curl = { token: user.token, transport: "curl" as const };

    const agent = await legacyJson<RegisteredAgent>("/delegation/agents", 201, {
      ...curl,
      body: dogfoodAgent(agentId),
    });
    expect(agent).toMatchObject({
      agent_id: agentId,
      capability_id: agentId,
      agent_name: "Sam Rivers",
      agent_type: "general",
      skills: ["python", "typescript", "react", "fastapi"],
      capabilities: ["python", "typescript", "react", "fastapi"],
      max_concurrent_tasks: 3,
      current_task_count: 0,
      is_available: true,
      token_issued: true,
    });
    expect(agent.token).toMatch(/^pap_/);
    expect(Date.parse(agent.updated_at)).not.toBeNaN();
    expect(Date.parse(agent.created_at)).not.toBeNaN();

    const task = await createTask(user, { title: "FE-02 MiniChevronNav" });
    const assigned = await legacyJson<LegacyAssignment>("/delegation/delegate", 201, {
      ...curl,
      body: { task_id: task.task_id, assignee_id: agentId, assignee_type: "agent", estimated_hours: 6.0 },
    });
    expect(assigned).toMatchObject({
      task_id: task.task_id,
      assignee_id: agentId,
      assignee_type: "agent",
      agent_id: agentId,
      status: "pending",
      accepted_at: null,
      completed_at: null,
      estimated_hours: 6,
      actual_hours: null,
    });
    expect(assigned.assigned_at).toBe(assigned.created_at);
    expect((await taskRow(task.task_id))?.estimated_minutes).toBe(360);

    // dogfood's accept: POST with no body and no content type.
    const accepted = await legacyJson<LegacyAssignment>(
      `/delegation/assignments/${assigned.assignment_id}/accept`,
      200,
      { ...curl, method: "POST" },
    );
    expect(accepted.status).toBe("accepted");
    expect(Date.parse(accepted.accepted_at ?? "")).not.toBeNaN();

    const completed = await legacyJson<LegacyAssignment>(
      `/delegation/assignments/${assigned.assignment_id}/complete`,
      200,
      { ...curl, body: { actual_hours: 5.5 } },
    );
    expect(completed).toMatchObject({ status: "completed", actual_hours: 5.5, estimated_hours: 6 });
    expect(Date.parse(completed.completed_at ?? "")).not.toBeNaN();
    expect(await taskRow(task.task_id)).toMatchObject({ actual_minutes: 330, status: "completed" });

    const done = await legacyJson<LegacyAssignment[]>(
      `/delegation/assignments/agent/${agentId}?status=completed`,
      200,
      curl,
    );
    expect(done.map((a) => a.assignment_id)).toEqual([assigned.assignment_id]);
    const pending = await legacyJson<LegacyAssignment[]>(
      `/delegation/assignments/agent/${agentId}?status=pending`,
      200,
      curl,
    );
    expect(pending).toEqual([]);
  });

  it("assigns to the person as dogfood's assign does (human), who accepts, completes and lists it by me or username", async () => {
    const user = await createUser();
    await withUsername(user, "Sam_Rivers");
    const curl = { token: user.token, transport: "curl" as const };
    const task = await createTask(user, { title: "BE-07 Focus sessions", estimated_minutes: 90 });
    const assigned = await legacyJson<LegacyAssignment>("/delegation/delegate", 201, {
      ...curl,
      // dogfood sends $USER, which is whoever runs it: the person here is always the caller.
      body: {
        task_id: task.task_id,
        assignee_id: "someone-else",
        assignee_type: "HUMAN",
        estimated_hours: 6.0,
      },
    });
    expect(assigned).toMatchObject({
      assignee_id: "Sam_Rivers",
      assignee_type: "human",
      agent_id: null,
      assignee: `user:${user.id}`,
      delegation_mode: "DO",
      status: "pending",
      accepted_at: null,
      // The task's own estimate is kept.
      estimated_hours: 1.5,
    });
    expect((await taskRow(task.task_id))?.estimated_minutes).toBe(90);

    await legacyJson(`/delegation/assignments/${assigned.assignment_id}/accept`, 200, {
      ...curl,
      method: "POST",
    });
    for (const name of ["me", "sam_rivers", "SAM_RIVERS", user.id]) {
      const mine = await legacyJson<LegacyAssignment[]>(`/delegation/assignments/agent/${name}`, 200, curl);
      expect(
        mine.map((a) => [a.assignment_id, a.status]),
        name,
      ).toEqual([[assigned.assignment_id, "accepted"]]);
    }
    const completed = await legacyJson<LegacyAssignment>(
      `/delegation/assignments/${assigned.assignment_id}/complete`,
      200,
      { ...curl, body: { actual_hours: 2 } },
    );
    expect(completed).toMatchObject({ status: "completed", actual_hours: 2 });
    const open = await legacyJson<LegacyAssignment[]>(
      "/delegation/assignments/agent/me?status=accepted",
      200,
      curl,
    );
    expect(open).toEqual([]);
  });

  it("never lists another person's work: their username or id is a missing agent", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    await withUsername(bob, `bob_${crypto.randomUUID().slice(0, 6)}`);
    const bobsName = (
      await env.DB.prepare("SELECT username FROM users WHERE id = ?")
        .bind(bob.id)
        .first<{ username: string }>()
    )?.username;
    const task = await createTask(bob, { title: "Bob's" });
    await legacyJson("/delegation/delegate", 201, {
      token: bob.token,
      body: { task_id: task.task_id, assignee_id: "bob", assignee_type: "human" },
    });
    for (const name of [bobsName, bob.id, "nobody-here"]) {
      const p = await problem(`/delegation/assignments/agent/${name}`, 404, { token: alice.token });
      expect(p.detail).toBe("Agent was not found.");
    }
    // And alice's own list is empty, not bob's.
    expect(await legacyJson("/delegation/assignments/agent/me", 200, { token: alice.token })).toEqual([]);
  });
});

describe("POST /delegation/delegate, the original API's request", () => {
  it("refuses an assignee_type it does not know, naming it", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "t" });
    const p = await problem("/delegation/delegate", 422, {
      token: user.token,
      body: { task_id: task.task_id, assignee_id: "x", assignee_type: "robot" },
    });
    expect(fields(p)).toEqual(["assignee_type"]);
  });

  it("refuses an agent that is not the caller's with 422 naming assignee_id, and a full one with 503", async () => {
    const [alice, bob] = [await createUser(), await createUser()];
    const bobs = await registerAgent(bob, { max_concurrent_tasks: 1 });
    const task = await createTask(alice, { title: "t" });
    const p = await problem("/delegation/delegate", 422, {
      token: alice.token,
      body: { task_id: task.task_id, assignee_id: bobs.agent_id },
    });
    expect(fields(p)).toEqual(["assignee_id"]);
    expect(p.detail).toBe("No such agent: register it with POST /api/v1/delegation/agents.");
    expect(await taskRow(task.task_id)).toMatchObject({ estimated_minutes: null });

    // Bob's own agent holds one task: the next one finds it full.
    const [first, second] = [await createTask(bob, { title: "1" }), await createTask(bob, { title: "2" })];
    await legacyJson("/delegation/delegate", 201, {
      token: bob.token,
      body: { task_id: first.task_id, assignee_id: bobs.agent_id },
    });
    const full = await problem("/delegation/delegate", 503, {
      token: bob.token,
      body: { task_id: second.task_id, assignee_id: bobs.agent_id },
    });
    expect(full.detail).toContain(bobs.agent_id);
    // A task that is not there is 404 before anything else.
    await problem("/delegation/delegate", 404, {
      token: bob.token,
      body: { task_id: "task_multi", assignee_id: bobs.agent_id },
    });
  });

  it("takes exactly one of delegation_mode and assignee_id, and keeps ours as it was", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const task = await createTask(user, { title: "t" });
    const both = await problem("/delegation/delegate", 422, {
      token: user.token,
      body: { task_id: task.task_id, delegation_mode: "DELEGATE", assignee_id: agent.agent_id },
    });
    expect(fields(both)).toEqual(["delegation_mode"]);
    const neither = await problem("/delegation/delegate", 422, {
      token: user.token,
      body: { task_id: task.task_id },
    });
    expect(fields(neither)).toEqual(["delegation_mode"]);
    const mixed = await problem("/delegation/delegate", 422, {
      token: user.token,
      body: { task_id: task.task_id, delegation_mode: "DO", estimated_hours: 2 },
    });
    expect(fields(mixed)).toEqual(["estimated_hours"]);
    const noTask = await problem("/delegation/delegate", 422, {
      token: user.token,
      body: { assignee_id: agent.agent_id, assignee_type: "agent" },
    });
    expect(fields(noTask)).toEqual(["task_id"]);

    const ours = await callJson<{ assignment: Assignment; assigned_agent: { agent_name: string } }>(
      "/api/v1/delegation/delegate",
      200,
      { token: user.token, body: { task_id: task.task_id, delegation_mode: "delegate" } },
    );
    expect(ours.assignment).toMatchObject({ assignee_id: agent.agent_id, assignee_type: "agent" });
    expect(ours.assigned_agent.agent_name).toBe(agent.agent_id);
  });

  it("needs a token", async () => {
    const res = await legacyCall("/delegation/delegate", {
      transport: "curl",
      body: { task_id: "t", assignee_id: "a", assignee_type: "human" },
    });
    expect(res.status).toBe(401);
  });
});

describe("completing in hours", () => {
  it("takes actual_hours alone or with actual_minutes that agree; disagreeing ones are 422 naming actual_hours", async () => {
    const user = await createUser();
    const agent = await registerAgent(user, { max_concurrent_tasks: 5 });
    const assign = async () => {
      const task = await createTask(user, { title: "t" });
      const a = await legacyJson<LegacyAssignment>("/delegation/delegate", 201, {
        token: user.token,
        body: { task_id: task.task_id, assignee_id: agent.agent_id },
      });
      return a.assignment_id;
    };
    const id = await assign();
    // The app's way: a JSON content type and a body of zero bytes.
    const accepted = await legacyJson<LegacyAssignment>(`/delegation/assignments/${id}/accept`, 200, {
      token: user.token,
      method: "POST",
      transport: "app-empty",
    });
    expect(accepted.status).toBe("accepted");
    const p = await problem(`/delegation/assignments/${id}/complete`, 422, {
      token: user.token,
      body: { actual_hours: 1, actual_minutes: 90 },
    });
    expect(fields(p)).toEqual(["actual_hours"]);
    const ok = await legacyJson<LegacyAssignment>(`/delegation/assignments/${id}/complete`, 200, {
      token: user.token,
      body: { actual_hours: 1.5, actual_minutes: 90 },
    });
    expect(ok).toMatchObject({ status: "completed", actual_hours: 1.5 });
    const negative = await problem(`/delegation/assignments/${await assign()}/complete`, 422, {
      token: user.token,
      body: { actual_hours: -1 },
    });
    expect(fields(negative)).toEqual(["actual_hours"]);
  });
});

describe("agents, the original API's way", () => {
  it("registers again with 200 and no new token, and lists only available agents when asked", async () => {
    const user = await createUser();
    const agentId = newAgentId();
    await legacyJson("/delegation/agents", 201, { token: user.token, body: dogfoodAgent(agentId) });
    const again = await legacyJson<RegisteredAgent>("/delegation/agents", 200, {
      token: user.token,
      body: { ...dogfoodAgent(agentId, "Samantha", "frontend"), max_concurrent_tasks: 1 },
    });
    expect(again).toMatchObject({ agent_name: "Samantha", agent_type: "frontend", token_issued: false });
    expect(again.token).toBeUndefined();
    // Ours keeps the name unless it is given again, and takes it as `name` too.
    const ours = await callJson<RegisteredAgent>("/api/v1/delegation/agents/register", 200, {
      token: user.token,
      body: { agent_id: agentId, agent_type: "frontend", max_concurrent_tasks: 1 },
    });
    expect(ours.agent_name).toBe("Samantha");
    const other = await registerAgent(user, { name: "Helper" });
    expect(other).toMatchObject({ agent_name: "Helper", capability_id: other.agent_id });

    const task = await createTask(user, { title: "t" });
    await legacyJson("/delegation/delegate", 201, {
      token: user.token,
      body: { task_id: task.task_id, assignee_id: agentId },
    });
    const all = await legacyJson<RegisteredAgent[]>("/delegation/agents", 200, { token: user.token });
    expect(all.find((a) => a.agent_id === agentId)).toMatchObject({
      is_available: false,
      current_task_count: 1,
    });
    const available = await legacyJson<RegisteredAgent[]>("/delegation/agents?available_only=true", 200, {
      token: user.token,
    });
    expect(available.map((a) => a.agent_id)).toEqual([other.agent_id]);
    const everyone = await legacyJson<RegisteredAgent[]>("/delegation/agents?available_only=false", 200, {
      token: user.token,
    });
    expect(everyone).toHaveLength(2);
  });

  it("refuses an empty skills list, a missing agent_id and a missing token", async () => {
    const user = await createUser();
    const empty = await problem("/delegation/agents", 422, {
      token: user.token,
      body: { ...dogfoodAgent(newAgentId()), skills: [] },
    });
    expect(fields(empty)).toEqual(["skills"]);
    const { agent_id: _, ...noId } = dogfoodAgent("x");
    expect(fields(await problem("/delegation/agents", 422, { token: user.token, body: noId }))).toEqual([
      "agent_id",
    ]);
    const two = await problem("/delegation/agents/register", 422, {
      token: user.token,
      body: { agent_id: "a", agent_type: "t", name: "One", agent_name: "Two" },
    });
    expect(fields(two)).toEqual(["agent_name"]);
    expect(
      (await legacyCall("/delegation/agents", { transport: "curl", body: dogfoodAgent("x") })).status,
    ).toBe(401);
  });
});

describe("GET /delegation/tasks?filter=", () => {
  it("filters the caller's tasks and answers each in the original's shape", async () => {
    const [user, other] = [await createUser(), await createUser()];
    const meta = await createTask(user, {
      title: "BE-05 Task splitting",
      is_meta_task: true,
      tags: ["backend"],
      estimated_minutes: 360,
    });
    const coding = await createTask(user, {
      title: "Fix the login",
      tags: ["Frontend"],
      estimated_minutes: 30,
    });
    const personal = await createTask(user, {
      title: "Call the dentist",
      priority: "high",
      estimated_minutes: 10,
    });
    const project = await createTask(user, { title: "Move flat", tags: ["project"] });
    const child = await createTask(user, { title: "Pack books" });
    // Splitting a project makes sub-tasks; here the link is written directly.
    await env.DB.prepare("UPDATE tasks SET parent_task_id = ? WHERE id = ?")
      .bind(project.task_id, child.task_id)
      .run();
    await createTask(other, { title: "BE-99 not yours", is_meta_task: true });
    await legacyJson("/delegation/delegate", 201, {
      token: user.token,
      body: { task_id: personal.task_id, assignee_id: "me", assignee_type: "human" },
    });

    const list = (filter: string) =>
      legacyJson<LegacyTask[]>(`/delegation/tasks?filter=${filter}`, 200, { token: user.token });
    const ids = async (filter: string) => (await list(filter)).map((t) => t.task_id);

    const all = await list("all");
    expect(all.map((t) => t.task_id)).toEqual([child, project, personal, coding, meta].map((t) => t.task_id));
    expect(all.find((t) => t.task_id === meta.task_id)).toEqual({
      task_id: meta.task_id,
      title: "BE-05 Task splitting",
      description: null,
      status: "pending",
      priority: "medium",
      delegation_mode: "DO",
      estimated_hours: 6,
      tags: '["backend"]',
      is_meta_task: 1,
      scope: "PROJECT",
      project_id: null,
      assigned_to: null,
      created_at: meta.created_at,
      updated_at: expect.any(String),
    });
    expect(all.find((t) => t.task_id === coding.task_id)).toMatchObject({
      is_meta_task: 0,
      scope: "MULTI",
      estimated_hours: 0.5,
    });
    expect(all.find((t) => t.task_id === personal.task_id)).toMatchObject({
      scope: "SIMPLE",
      assigned_to: `user:${user.id}`,
    });
    expect(all.find((t) => t.task_id === child.task_id)).toMatchObject({
      project_id: project.task_id,
      scope: null,
      estimated_hours: null,
      tags: "[]",
    });

    expect(await ids("meta")).toEqual([meta.task_id]);
    expect(await ids("META")).toEqual([meta.task_id]);
    expect(await ids("coding")).toEqual([coding.task_id, meta.task_id]);
    expect(await ids("personal")).toEqual([child, project, personal].map((t) => t.task_id));
    expect(await ids("unassigned")).toEqual([child, project, coding, meta].map((t) => t.task_id));
    expect(await legacyJson<LegacyTask[]>("/delegation/tasks", 200, { token: user.token })).toHaveLength(5);

    const bad = await problem("/delegation/tasks?filter=urgent", 422, { token: user.token });
    expect(fields(bad)).toEqual(["filter"]);
    expect((await legacyCall("/delegation/tasks?filter=all")).status).toBe(401);
  });

  it("pages with a capped limit and the next page in Link", async () => {
    const user = await createUser();
    const made = [];
    for (const title of ["a", "b", "c"]) made.push(await createTask(user, { title }));
    const first = await legacyCall("/delegation/tasks?filter=all&limit=2", { token: user.token });
    expect(first.status).toBe(200);
    expect(((await first.json()) as LegacyTask[]).map((t) => t.title)).toEqual(["c", "b"]);
    const link = first.headers.get("Link") ?? "";
    const next = /<\/api\/v1([^>]+)>; rel="next"/.exec(link)?.[1];
    expect(next).toBeDefined();
    const second = await legacyJson<LegacyTask[]>(next ?? "", 200, { token: user.token });
    expect(second.map((t) => t.title)).toEqual(["a"]);
    const tooMany = await problem("/delegation/tasks?limit=101", 422, { token: user.token });
    expect(fields(tooMany)).toEqual(["limit"]);
  });
});

describe("delegateInputOf", () => {
  it("reads ours as it is, an agent assignee as DELEGATE to that agent, and a human as your own pending DO", () => {
    expect(delegateInputOf({ task_id: "t", delegation_mode: "DO_WITH_ME", prefer_agent_type: "x" })).toEqual({
      legacy: false,
      input: {
        task_id: "t",
        delegation_mode: "DO_WITH_ME",
        prefer_agent_type: "x",
        required_capabilities: undefined,
      },
    });
    expect(delegateInputOf({ task_id: "t", assignee_id: "bot", estimated_hours: 0.25 })).toEqual({
      legacy: true,
      input: { task_id: "t", delegation_mode: "DELEGATE", agent_id: "bot", estimated_minutes: 15 },
    });
    expect(delegateInputOf({ task_id: "t", assignee_id: "sam", assignee_type: "human" })).toEqual({
      legacy: true,
      input: {
        task_id: "t",
        delegation_mode: "DO",
        estimated_minutes: undefined,
        person_starts_pending: true,
      },
    });
  });
});
