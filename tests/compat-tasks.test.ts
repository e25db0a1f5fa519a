import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { LegacyStepCompletion, LegacyTaskProgress } from "../src/features/compat/micro-steps-schemas";
import type { LegacyProject } from "../src/features/compat/projects-schemas";
import { originalTaskFields, withMinutes } from "../src/features/tasks/original-fields";
import type { ProblemBody } from "../src/lib/errors";
import { createUser, type TestUser } from "./helpers/api";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { eventsOf } from "./helpers/outbox";
import { getTask, type Task } from "./helpers/tasks";

const HOUR_MS = 3_600_000;

async function storedTask(taskId: string) {
  return env.DB.prepare(
    "SELECT parent_task_id, estimated_minutes, actual_minutes, status, tags FROM tasks WHERE id = ?",
  )
    .bind(taskId)
    .first<{
      parent_task_id: string | null;
      estimated_minutes: number | null;
      actual_minutes: number | null;
      status: string;
      tags: string;
    }>();
}

async function taskCount(user: TestUser): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
    .bind(user.id)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

const newProject = (user: TestUser, name = "Website relaunch") =>
  legacyJson<LegacyProject>("/projects", 201, {
    token: user.token,
    transport: "curl",
    body: { name, description: "Everything for the new site" },
  });

describe("projects (the original API's /projects)", () => {
  it("creates a project as a task tagged project, lists it and reads it", async () => {
    const user = await createUser();
    const project = await newProject(user);
    expect(project).toMatchObject({
      name: "Website relaunch",
      description: "Everything for the new site",
      tags: ["project"],
    });
    expect(project.project_id).toBe(project.task_id);
    expect((await storedTask(project.project_id))?.tags).toBe('["project"]');

    const listed = await legacyJson<LegacyProject[]>("/projects", 200, { token: user.token });
    expect(listed.map((p) => p.project_id)).toEqual([project.project_id]);
    const read = await legacyJson<LegacyProject>(`/projects/${project.project_id}`, 200, {
      token: user.token,
    });
    expect(read.name).toBe("Website relaunch");
  });

  it("answers 404 for a task that is not a project and for another user's project", async () => {
    const user = await createUser();
    const other = await createUser();
    const theirs = await newProject(other);
    const plain = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Not a project" },
    });
    for (const id of [plain.task_id, theirs.project_id]) {
      const problem = await legacyJson<ProblemBody>(`/projects/${id}`, 404, { token: user.token });
      expect(problem.detail).toBe("Project was not found.");
    }
    expect(await legacyJson<LegacyProject[]>("/projects", 200, { token: user.token })).toEqual([]);
  });
});

describe("POST /tasks with the original's fields", () => {
  it("takes estimated_hours, project_id and todo, ignores user_id and estimated_time, and answers the original's fields", async () => {
    const user = await createUser();
    const project = await newProject(user);
    const task = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      transport: "curl",
      body: {
        title: "Write the landing page",
        description: "Hero, pricing, FAQ",
        project_id: project.project_id,
        priority: "HIGH",
        status: "todo",
        estimated_hours: 1.5,
        tags: ["web"],
        user_id: "user_123",
        estimated_time: 90,
      },
    });
    expect(task).toMatchObject({
      title: "Write the landing page",
      project_id: project.project_id,
      parent_task_id: project.project_id,
      status: "pending",
      priority: "high",
      estimated_minutes: 90,
      estimated_hours: 1.5,
      actual_hours: null,
      progress_percentage: 0,
      is_overdue: false,
      tags: ["web"],
      micro_steps: [],
    });
    expect(await storedTask(task.task_id)).toMatchObject({
      parent_task_id: project.project_id,
      estimated_minutes: 90,
    });
    const read = await legacyJson<Task>(`/tasks/${task.task_id}`, 200, { token: user.token });
    expect(read).toMatchObject({ project_id: project.project_id, estimated_hours: 1.5, micro_steps: [] });
  });

  it("ignores a user_id in the body, even another real user's: the task is the caller's", async () => {
    const user = await createUser();
    const other = await createUser();
    const task = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Mine", user_id: other.id },
    });
    const owner = await env.DB.prepare("SELECT user_id FROM tasks WHERE id = ?")
      .bind(task.task_id)
      .first<{ user_id: string }>();
    expect(owner?.user_id).toBe(user.id);
    expect(await taskCount(other)).toBe(0);
  });

  it("refuses a project that is not one of the caller's tasks with 422 naming project_id, storing nothing", async () => {
    const user = await createUser();
    const other = await createUser();
    const theirs = await newProject(other);
    for (const projectId of ["default-project", theirs.project_id]) {
      const problem = await legacyJson<ProblemBody>("/tasks", 422, {
        token: user.token,
        body: { title: "Orphan", project_id: projectId },
      });
      expect(problem.detail).toBe("No such project.");
      expect(problem.errors?.map((e) => e.field)).toEqual(["project_id"]);
    }
    expect(await taskCount(user)).toBe(0);
  });

  it("refuses hours that disagree with minutes, naming the hours field", async () => {
    const user = await createUser();
    const problem = await legacyJson<ProblemBody>("/tasks", 422, {
      token: user.token,
      body: { title: "Both ways", estimated_minutes: 30, estimated_hours: 2 },
    });
    expect(problem.errors?.map((e) => e.field)).toEqual(["estimated_hours"]);
    const agreeing = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Both ways", estimated_minutes: 120, estimated_hours: 2 },
    });
    expect(agreeing.estimated_minutes).toBe(120);
  });

  it("changes hours, status todo and the project on PATCH", async () => {
    const user = await createUser();
    const project = await newProject(user);
    const task = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Tidy up", status: "in_progress" },
    });
    const changed = await legacyJson<Task>(`/tasks/${task.task_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { actual_hours: 0.5, status: "TODO", project_id: project.project_id },
    });
    expect(changed).toMatchObject({
      actual_minutes: 30,
      actual_hours: 0.5,
      status: "pending",
      project_id: project.project_id,
    });
    const out = await legacyJson<Task>(`/tasks/${task.task_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { project_id: null },
    });
    expect(out.project_id).toBeNull();
    expect((await storedTask(task.task_id))?.parent_task_id).toBeNull();
    const self = await legacyJson<ProblemBody>(`/tasks/${task.task_id}`, 422, {
      token: user.token,
      method: "PATCH",
      body: { project_id: "default-project" },
    });
    expect(self.errors?.map((e) => e.field)).toEqual(["project_id"]);
  });

  it("says a task is overdue while it is open and past its due time", async () => {
    const user = await createUser();
    const due = new Date(Date.now() - HOUR_MS).toISOString();
    const late = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Late", due_at: due },
    });
    expect(late.is_overdue).toBe(true);
    const done = await legacyJson<Task>(`/tasks/${late.task_id}/complete`, 200, {
      token: user.token,
      method: "POST",
    });
    expect(done.is_overdue).toBe(false);
    const later = await legacyJson<Task>("/tasks", 201, {
      token: user.token,
      body: { title: "Later", due_at: new Date(Date.now() + HOUR_MS).toISOString() },
    });
    expect(later.is_overdue).toBe(false);
  });
});

async function taskWithSteps(user: TestUser): Promise<Task> {
  return legacyJson<Task>("/tasks", 201, {
    token: user.token,
    body: {
      title: "Pack for the trip",
      priority: "high",
      micro_steps: [
        { description: "Lay out clothes", estimated_minutes: 5 },
        { description: "Pack the charger", estimated_minutes: 2 },
      ],
    },
  });
}

describe("PATCH /micro-steps/{step_id}/complete", () => {
  it("completes a step sent as the app sends it (JSON type, no body), awarding the step's XP once", async () => {
    const user = await createUser();
    const task = await taskWithSteps(user);
    const [first, second] = task.micro_steps ?? [];
    if (!first || !second) throw new Error("no steps");

    const done = await legacyJson<LegacyStepCompletion>(`/micro-steps/${first.step_id}/complete`, 200, {
      token: user.token,
      method: "PATCH",
    });
    // 10 base + 5 for high priority + 1 per 5 estimated minutes.
    expect(done).toMatchObject({
      step_id: first.step_id,
      task_id: task.task_id,
      status: "completed",
      is_completed: true,
      xp_earned: 16,
      xp_awarded: 16,
      actual_minutes: null,
      task_progress: { total_steps: 2, completed_steps: 1, progress_percentage: 50 },
    });
    expect(done.completed_at).toMatch(/Z$/);
    expect(done.message).toContain("+16 XP");

    const again = await legacyJson<LegacyStepCompletion>(`/micro-steps/${first.step_id}/complete`, 200, {
      token: user.token,
      method: "PATCH",
      transport: "app-empty",
    });
    expect(again).toMatchObject({
      xp_awarded: 0,
      xp_earned: 0,
      is_completed: true,
      message: "Already done.",
    });
    expect(await eventsOf(user.id, "step.completed")).toHaveLength(1);

    const last = await legacyJson<LegacyStepCompletion>(`/micro-steps/${second.step_id}/complete`, 200, {
      token: user.token,
      method: "PATCH",
      transport: "curl",
      body: { actual_minutes: 3 },
    });
    expect(last).toMatchObject({
      actual_minutes: 3,
      xp_awarded: 15,
      task_progress: { progress_percentage: 100 },
    });
    expect((await getTask(user, task.task_id)).status).toBe("completed");
    expect(await eventsOf(user.id, "task.completed")).toHaveLength(1);
  });

  it("answers 404 for another user's step and 401 without a token, changing nothing", async () => {
    const user = await createUser();
    const other = await createUser();
    const task = await taskWithSteps(other);
    const stepId = task.micro_steps?.[0]?.step_id ?? "";
    const problem = await legacyJson<ProblemBody>(`/micro-steps/${stepId}/complete`, 404, {
      token: user.token,
      method: "PATCH",
    });
    expect(problem.detail).toBe("Step was not found.");
    expect((await legacyCall(`/micro-steps/${stepId}/complete`, { method: "PATCH" })).status).toBe(401);
    expect((await getTask(other, task.task_id)).progress.completed_steps).toBe(0);
  });

  it("refuses actual_minutes out of range with 422 naming it", async () => {
    const user = await createUser();
    const task = await taskWithSteps(user);
    const problem = await legacyJson<ProblemBody>(
      `/micro-steps/${task.micro_steps?.[0]?.step_id}/complete`,
      422,
      {
        token: user.token,
        method: "PATCH",
        body: { actual_minutes: 0 },
      },
    );
    expect(problem.errors?.map((e) => e.field)).toEqual(["actual_minutes"]);
  });
});

describe("GET /tasks/{task_id}/progress", () => {
  it("answers the progress under every name the clients read, and what is left", async () => {
    const user = await createUser();
    const task = await taskWithSteps(user);
    await legacyCall(`/micro-steps/${task.micro_steps?.[1]?.step_id}/complete`, {
      token: user.token,
      method: "PATCH",
    });
    const progress = await legacyJson<LegacyTaskProgress>(`/tasks/${task.task_id}/progress`, 200, {
      token: user.token,
    });
    expect(progress).toEqual({
      task_id: task.task_id,
      total_steps: 2,
      completed_steps: 1,
      progress_percentage: 50,
      progress_percent: 50,
      completion_percentage: 50,
      estimated_time_remaining: 5,
    });
  });

  it("answers 404 for another user's task", async () => {
    const user = await createUser();
    const other = await createUser();
    const task = await taskWithSteps(other);
    const problem = await legacyJson<ProblemBody>(`/tasks/${task.task_id}/progress`, 404, {
      token: user.token,
    });
    expect(problem.detail).toBe("Task was not found.");
  });
});

describe("what the compat routes cost in D1 round trips", () => {
  it("checks a task's project in the read its dependencies already make", async () => {
    const user = await createUser();
    const project = await newProject(user);
    const before = await legacyJson<Task>("/tasks", 201, { token: user.token, body: { title: "First" } });
    const body = JSON.stringify({
      title: "In it",
      project_id: project.project_id,
      depends_on: [before.task_id],
    });
    // The read of the project and the dependencies; the batch, which carries the account check.
    expect(await tripsFor("/api/v1/tasks", { method: "POST", body, token: user.token })).toEqual({
      status: 201,
      trips: 2,
    });
  });

  it("completes a step by its id alone with one indexed read more than our route, and reads progress in one", async () => {
    const user = await createUser();
    const task = await taskWithSteps(user);
    const stepId = task.micro_steps?.[0]?.step_id;
    expect(
      await tripsFor(`/api/v1/micro-steps/${stepId}/complete`, { method: "PATCH", token: user.token }),
    ).toEqual({
      status: 200,
      trips: 2 + LOOKUP,
    });
    expect(await tripsFor(`/api/v1/tasks/${task.task_id}/progress`, { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });
});

describe("the original's task fields (pure)", () => {
  it("stores hours as minutes, minutes sent too winning when they agree", () => {
    expect(withMinutes({ estimated_hours: 1.5, actual_hours: 0.25 })).toMatchObject({
      estimated_minutes: 90,
      actual_minutes: 15,
    });
    expect(withMinutes({ estimated_minutes: 91, estimated_hours: 1.5 }).estimated_minutes).toBe(91);
    expect(withMinutes({ estimated_minutes: null }).estimated_minutes).toBeNull();
  });

  it("is overdue only while open and past due", () => {
    const now = Date.now();
    const past = new Date(now - HOUR_MS).toISOString();
    const base = { parentTaskId: "p", estimatedMinutes: 20, actualMinutes: null, dueAt: past };
    expect(originalTaskFields({ ...base, status: "in_progress" }, 40, now)).toEqual({
      project_id: "p",
      estimated_hours: 0.33,
      actual_hours: null,
      progress_percentage: 40,
      is_overdue: true,
    });
    expect(originalTaskFields({ ...base, status: "cancelled" }, 0, now).is_overdue).toBe(false);
    expect(originalTaskFields({ ...base, status: "pending", dueAt: null }, 0, now).is_overdue).toBe(false);
  });
});
