import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { NextStepDto } from "../src/features/tasks/schemas";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { backdated } from "./helpers/clock";
import { completeStep, completeTask, createTask, getTask, type Task } from "./helpers/tasks";

const steps = (n: number) => Array.from({ length: n }, (_, i) => ({ description: `Step ${i + 1}` }));

describe("creating and reading tasks", () => {
  it("creates a task with micro-steps and returns it with progress", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Write report",
      priority: "HIGH",
      delegation_mode: "do_with_me",
      tags: ["Work", "work", "deep-work"],
      estimated_minutes: 30,
      micro_steps: [
        { description: "Open doc", estimated_minutes: 2, leaf_type: "digital", short_label: "Open" },
        { description: "Outline" },
      ],
    });
    expect(task).toMatchObject({
      title: "Write report",
      priority: "high",
      delegation_mode: "DO_WITH_ME",
      status: "pending",
      tags: ["work", "deep-work"],
      task_source: "user",
      is_meta_task: false,
      progress: { completed_steps: 0, total_steps: 2, percent: 0 },
    });
    expect(
      task.micro_steps?.map((s) => [s.position, s.description, s.estimated_minutes, s.leaf_type]),
    ).toEqual([
      [1, "Open doc", 2, "DIGITAL"],
      [2, "Outline", 5, "HUMAN"],
    ]);
    const fetched = await callJson<Task>(`/api/v1/tasks/${task.task_id}`, 200, { token: user.token });
    expect(fetched).toEqual(task);
  });

  it("records a task.created event in the outbox with the task", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Evented" });
    const row = await env.DB.prepare("SELECT type, data FROM events WHERE user_id = ?").bind(user.id).first<{
      type: string;
      data: string;
    }>();
    expect(row?.type).toBe("task.created");
    expect(JSON.parse(row?.data ?? "{}")).toMatchObject({ task_id: task.task_id, title: "Evented" });
  });

  it("rejects invalid fields with 422 naming each one", async () => {
    const user = await createUser();
    const res = await call("/api/v1/tasks", {
      token: user.token,
      body: { title: "", priority: "urgent", micro_steps: [{ description: "x", estimated_minutes: 30 }] },
    });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field).sort()).toEqual([
      "micro_steps.0.estimated_minutes",
      "priority",
      "title",
    ]);
  });

  it("answers 400 for malformed JSON and 413 for an oversized body", async () => {
    const user = await createUser();
    const bad = await call("/api/v1/tasks", { token: user.token, body: "{not json" });
    expect(bad.status).toBe(400);
    expect((await problemOf(bad)).code).toBe("malformed_request");
    const huge = await call("/api/v1/tasks", {
      token: user.token,
      body: { title: "x", description: "y".repeat(1_100_000) },
    });
    expect(huge.status).toBe(413);
    expect((await problemOf(huge)).code).toBe("payload_too_large");
  });

  it("replays the first answer for a repeated Idempotency-Key and creates one task", async () => {
    const user = await createUser();
    const headers = { "idempotency-key": "create-once-1" };
    const first = await callJson<Task>("/api/v1/tasks", 201, {
      token: user.token,
      body: { title: "Once" },
      headers,
    });
    const res = await call("/api/v1/tasks", { token: user.token, body: { title: "Once" }, headers });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect((await res.json<Task>()).task_id).toBe(first.task_id);
    const list = await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token });
    expect(list).toHaveLength(1);
    const other = await call("/api/v1/tasks", { token: user.token, body: { title: "Different" }, headers });
    expect(other.status).toBe(422);
    expect((await problemOf(other)).code).toBe("idempotency_key_reused");
  });

  it("chunks a large step list under D1's bound-parameter limit", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Big", micro_steps: steps(50) });
    expect(task.micro_steps).toHaveLength(50);
    const count = await env.DB.prepare("SELECT count(*) AS n FROM micro_steps WHERE task_id = ?")
      .bind(task.task_id)
      .first<{ n: number }>();
    expect(count?.n).toBe(50);
  });
});

describe("listing tasks", () => {
  it("pages through every task with a Link header and no duplicates", async () => {
    const user = await createUser();
    for (let i = 0; i < 7; i++) await createTask(user, { title: `T${i}` });
    const seen: string[] = [];
    let path: string | null = "/api/v1/tasks?limit=3";
    let pages = 0;
    while (path) {
      const res = await call(path, { token: user.token });
      expect(res.status).toBe(200);
      const page = await res.json<Task[]>();
      seen.push(...page.map((t) => t.title));
      const link = res.headers.get("link");
      path = link ? (/<([^>]+)>; rel="next"/.exec(link)?.[1] ?? null) : null;
      pages += 1;
    }
    expect(pages).toBe(3);
    expect(seen).toEqual(["T6", "T5", "T4", "T3", "T2", "T1", "T0"]);
  });

  it("filters by status, priority, tag, meta flag, delegation, assignee, due date and text", async () => {
    const user = await createUser();
    const dueAt = Date.now() + 3 * 86_400_000;
    const a = await createTask(user, {
      title: "Pay rent",
      priority: "high",
      tags: ["home"],
      due_at: new Date(dueAt).toISOString(),
    });
    const b = await createTask(user, {
      title: "Roadmap item",
      is_meta_task: true,
      delegation_mode: "DELEGATE",
      assigned_to: "agent-7",
    });
    const c = await createTask(user, { title: "Stretch", description: "5 minutes of yoga", priority: "low" });
    await completeTask(user, c.task_id);
    const ids = async (query: string) =>
      (await callJson<Task[]>(`/api/v1/tasks?${query}`, 200, { token: user.token })).map((t) => t.task_id);
    expect(await ids("priority=high")).toEqual([a.task_id]);
    expect(await ids("tag=home")).toEqual([a.task_id]);
    expect(await ids("is_meta_task=true")).toEqual([b.task_id]);
    expect(await ids("delegation_mode=delegate")).toEqual([b.task_id]);
    expect(await ids("assigned_to=agent-7")).toEqual([b.task_id]);
    expect(await ids("status=completed")).toEqual([c.task_id]);
    expect(await ids(`due_before=${new Date(dueAt + 60_000).toISOString()}`)).toEqual([a.task_id]);
    expect(await ids(`due_before=${new Date(dueAt - 60_000).toISOString()}`)).toEqual([]);
    expect(await ids("q=yoga")).toEqual([c.task_id]);
    expect(await ids("q=100%25")).toEqual([]);
    expect(await ids(`q=${"é".repeat(200)}`)).toEqual([]);
    expect(await ids("q=YOGA")).toEqual([c.task_id]);
  });

  it("lists only ready tasks: open ones whose dependencies are completed", async () => {
    const user = await createUser();
    const first = await createTask(user, { title: "First" });
    const second = await createTask(user, { title: "Second", depends_on: [first.task_id] });
    const ready = async () =>
      (await callJson<Task[]>("/api/v1/tasks?ready=true", 200, { token: user.token })).map((t) => t.title);
    expect(await ready()).toEqual(["First"]);
    await completeTask(user, first.task_id);
    expect(await ready()).toEqual(["Second"]);
    expect(second.depends_on).toEqual([first.task_id]);
  });

  it("includes micro-steps on request and rejects a forged cursor", async () => {
    const user = await createUser();
    await createTask(user, { title: "With steps", micro_steps: steps(2) });
    const plain = await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token });
    expect(plain[0]?.micro_steps).toBeUndefined();
    const withSteps = await callJson<Task[]>("/api/v1/tasks?include=micro_steps", 200, { token: user.token });
    expect(withSteps[0]?.micro_steps?.map((s) => s.description)).toEqual(["Step 1", "Step 2"]);
    const forged = await call("/api/v1/tasks?cursor=bm90LWEtY3Vyc29y", { token: user.token });
    expect(forged.status).toBe(400);
    expect((await problemOf(forged)).code).toBe("invalid_cursor");
    const tooMany = await call("/api/v1/tasks?limit=1000", { token: user.token });
    expect(tooMany.status).toBe(422);
    await tooMany.body?.cancel();
  });
});

describe("updating, dependencies and deleting", () => {
  it("patches fields and keeps the rest", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Old", priority: "low", tags: ["a"] });
    const updated = await callJson<Task>(`/api/v1/tasks/${task.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { title: "New", status: "IN_PROGRESS" },
    });
    expect(updated).toMatchObject({ title: "New", priority: "low", tags: ["a"], status: "in_progress" });
  });

  it("rejects dependency cycles with 409 and self-dependency with 422", async () => {
    const user = await createUser();
    const a = await createTask(user, { title: "A" });
    const b = await createTask(user, { title: "B", depends_on: [a.task_id] });
    const c = await createTask(user, { title: "C", depends_on: [b.task_id] });
    const cycle = await call(`/api/v1/tasks/${a.task_id}`, {
      method: "PATCH",
      token: user.token,
      body: { depends_on: [c.task_id] },
    });
    expect(cycle.status).toBe(409);
    expect((await problemOf(cycle)).code).toBe("dependency_cycle");
    const self = await call(`/api/v1/tasks/${a.task_id}`, {
      method: "PATCH",
      token: user.token,
      body: { depends_on: [a.task_id] },
    });
    expect(self.status).toBe(422);
    await self.body?.cancel();
    const unchanged = await getTask(user, a.task_id);
    expect(unchanged.depends_on).toEqual([]);
  });

  it("rejects dependencies on tasks that do not exist", async () => {
    const user = await createUser();
    const res = await call("/api/v1/tasks", {
      token: user.token,
      body: { title: "X", depends_on: ["nope"] },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).detail).toContain("nope");
  });

  it("soft-deletes: the task disappears but the row stays", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Drop me" });
    await callJson(`/api/v1/tasks/${task.task_id}`, 204, { method: "DELETE", token: user.token });
    const gone = await call(`/api/v1/tasks/${task.task_id}`, { token: user.token });
    expect(gone.status).toBe(404);
    await gone.body?.cancel();
    const row = await env.DB.prepare("SELECT deleted_at FROM tasks WHERE id = ?")
      .bind(task.task_id)
      .first<{ deleted_at: string }>();
    expect(row?.deleted_at).toBeTruthy();
    const again = await call(`/api/v1/tasks/${task.task_id}`, { method: "DELETE", token: user.token });
    expect(again.status).toBe(404);
    await again.body?.cancel();
  });

  it("completing a task through PATCH records one task.completed event", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Patch-complete", micro_steps: steps(2) });
    const done = await callJson<Task>(`/api/v1/tasks/${task.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "completed" },
    });
    expect(done.status).toBe("completed");
    expect(done.micro_steps?.map((s) => s.status)).toEqual(["skipped", "skipped"]);
    expect(done.progress.percent).toBe(100);
    await callJson(`/api/v1/tasks/${task.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "completed" },
    });
    const n = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE user_id = ? AND type = 'task.completed'",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(n?.n).toBe(1);
  });
});

describe("micro-steps", () => {
  it("completing every step completes the task, with one event per step and one for the task", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Stepwise", micro_steps: steps(3) });
    const [s1, s2, s3] = task.micro_steps ?? [];
    const after1 = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${s1?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    expect(after1).toMatchObject({
      status: "in_progress",
      progress: { completed_steps: 1, total_steps: 3, percent: 33 },
    });
    await callJson(`/api/v1/tasks/${task.task_id}/steps/${s1?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    await callJson(`/api/v1/tasks/${task.task_id}/steps/${s2?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    const done = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${s3?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    expect(done).toMatchObject({
      status: "completed",
      progress: { completed_steps: 3, total_steps: 3, percent: 100 },
    });
    expect(done.completed_at).toBeTruthy();
    const rows = await env.DB.prepare(
      "SELECT type, data FROM events WHERE user_id = ? AND type != 'task.created' ORDER BY id",
    )
      .bind(user.id)
      .all<{ type: string; data: string }>();
    expect(rows.results.map((r) => r.type)).toEqual([
      "step.completed",
      "step.completed",
      "step.completed",
      "task.completed",
    ]);
    expect(JSON.parse(rows.results[0]?.data ?? "{}")).toMatchObject({
      step_id: s1?.step_id,
      task_priority: "medium",
    });
  });

  it("adds a step at a position, reorders, renumbers after delete", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Shape", micro_steps: steps(2) });
    const added = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps`, 201, {
      token: user.token,
      body: { description: "First now", position: 1 },
    });
    expect(added.micro_steps?.map((s) => s.description)).toEqual(["First now", "Step 1", "Step 2"]);
    const ids = added.micro_steps?.map((s) => s.step_id) ?? [];
    const reordered = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/order`, 200, {
      method: "PUT",
      token: user.token,
      body: { step_ids: [ids[2], ids[0], ids[1]] },
    });
    expect(reordered.micro_steps?.map((s) => [s.position, s.description])).toEqual([
      [1, "Step 2"],
      [2, "First now"],
      [3, "Step 1"],
    ]);
    await callJson(`/api/v1/tasks/${task.task_id}/steps/${ids[0]}`, 204, {
      method: "DELETE",
      token: user.token,
    });
    const after = await getTask(user, task.task_id);
    expect(after.micro_steps?.map((s) => [s.position, s.description])).toEqual([
      [1, "Step 2"],
      [2, "Step 1"],
    ]);
    const partial = await call(`/api/v1/tasks/${task.task_id}/steps/order`, {
      method: "PUT",
      token: user.token,
      body: { step_ids: [ids[2]] },
    });
    expect(partial.status).toBe(422);
    await partial.body?.cancel();
  });

  it("reorders the most steps a task can have (50) in one call", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Long haul", micro_steps: steps(50) });
    const ids = (task.micro_steps ?? []).map((s) => s.step_id);
    expect(ids).toHaveLength(50);
    const reversed = [...ids].reverse();
    const reordered = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/order`, 200, {
      method: "PUT",
      token: user.token,
      body: { step_ids: reversed },
    });
    expect(reordered.micro_steps?.map((s) => s.step_id)).toEqual(reversed);
    expect(reordered.micro_steps?.map((s) => s.position)).toEqual(ids.map((_, i) => i + 1));
  });

  it("patches a step, and reopening a step reopens its completed task", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Reopen", micro_steps: steps(1) });
    const stepId = task.micro_steps?.[0]?.step_id;
    const patched = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${stepId}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { description: "Renamed", estimated_minutes: 3, icon: "📝" },
    });
    expect(patched.micro_steps?.[0]).toMatchObject({ description: "Renamed", estimated_minutes: 3 });
    await completeStep(user, task.task_id, stepId);
    const reopened = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${stepId}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "pending" },
    });
    expect(reopened.status).toBe("in_progress");
    expect(reopened.completed_at).toBeNull();
  });

  it("answers 404 for a step of another task", async () => {
    const user = await createUser();
    const a = await createTask(user, { title: "A", micro_steps: steps(1) });
    const b = await createTask(user, { title: "B" });
    const res = await call(`/api/v1/tasks/${b.task_id}/steps/${a.micro_steps?.[0]?.step_id}/complete`, {
      method: "POST",
      token: user.token,
    });
    expect(res.status).toBe(404);
    await res.body?.cancel();
  });
});

describe("next step (Hunter mode)", () => {
  it("picks started work first, then the most urgent ready task, skipping delegated and blocked ones", async () => {
    const user = await createUser();
    const empty = await callJson<NextStepDto>("/api/v1/tasks/next", 200, {
      token: user.token,
    });
    expect(empty.task).toBeNull();
    const blocker = await createTask(user, { title: "Blocker", priority: "low", micro_steps: steps(1) });
    await createTask(user, { title: "Blocked", priority: "critical", depends_on: [blocker.task_id] });
    await createTask(user, { title: "Delegated", priority: "critical", delegation_mode: "DELEGATE" });
    const urgent = await createTask(user, { title: "Urgent", priority: "high", micro_steps: steps(2) });
    const next = await callJson<NextStepDto>("/api/v1/tasks/next", 200, {
      token: user.token,
    });
    expect(next.task?.title).toBe("Urgent");
    expect(next.step?.step_id).toBe(urgent.micro_steps?.[0]?.step_id);
    expect(next.reason).toContain("high priority");
    await callJson(`/api/v1/tasks/${blocker.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "in_progress" },
    });
    const started = await callJson<NextStepDto>("/api/v1/tasks/next", 200, { token: user.token });
    expect(started.task?.title).toBe("Blocker");
  });
});

describe("a last step synced late", () => {
  it("completes the task when its latest step was done, not at the late step's time", async () => {
    const user = await createUser();
    const task = await backdated(3 * 86_400_000, () =>
      createTask(user, { title: "Two days", micro_steps: [{ description: "A" }, { description: "B" }] }),
    );
    const [a, b] = task.micro_steps ?? [];
    const done = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${a?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
    });
    const today = done.micro_steps?.[0]?.completed_at ?? "";
    const yesterday = new Date(Date.now() - 86_400_000).toISOString();
    const finished = await callJson<Task>(`/api/v1/tasks/${task.task_id}/steps/${b?.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
      body: { completed_at: yesterday },
    });
    expect(finished.status).toBe("completed");
    expect(finished.completed_at).toBe(today);
    const event = await env.DB.prepare(
      "SELECT occurred_at FROM events WHERE user_id = ? AND type = 'task.completed'",
    )
      .bind(user.id)
      .first<{ occurred_at: string }>();
    expect(event?.occurred_at).toBe(today);
  });
});
