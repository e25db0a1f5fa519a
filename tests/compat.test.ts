import { describe, expect, it } from "vitest";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { settle } from "./helpers/outbox";

/**
 * The original system's 25 most-used calls (ORIGINAL_CLIENTS.md), replayed in its clients' own shapes
 * and order — the Expo app's apiClient for the app's calls, curl for the agents' scripts — asserting
 * the fields each client reads. The areas' own files (tests/compat-*.test.ts) test each call's edges.
 */

interface TokenAnswer {
  access_token: string;
  refresh_token: string;
  token_type: string;
  expires_in: number;
  user: { user_id: string; username: string | null; email: string; full_name: string | null };
}

let serial = 0;
async function appUser() {
  serial += 1;
  const username = `Sam_${serial}_${crypto.randomUUID().slice(0, 6)}`;
  const email = `${username.toLowerCase()}@example.com`;
  const password = "correct horse battery";
  const reg = await legacyJson<TokenAnswer>("/auth/register", 201, {
    body: { username, email, password, full_name: "Sam Rivers" },
  });
  return { username, email, password, reg };
}

const has = (value: object, fields: string[]) => {
  for (const field of fields) expect(value, field).toHaveProperty(field);
};

describe("the mobile app, call by call", () => {
  it("registers with a username (1), signs in by it in any case (2), refreshes (3), reads the profile (4)", async () => {
    const { username, password, reg } = await appUser();
    has(reg, [
      "access_token",
      "refresh_token",
      "token_type",
      "expires_in",
      "user.user_id",
      "user.username",
      "user.email",
      "user.full_name",
    ]);
    expect(reg.token_type).toBe("bearer");
    expect(reg.user).toMatchObject({ username, full_name: "Sam Rivers" });
    const login = await legacyJson<TokenAnswer>("/auth/login", 200, {
      body: { username: username.toUpperCase(), password },
    });
    expect(login.user.user_id).toBe(reg.user.user_id);
    const refreshed = await legacyJson<TokenAnswer>("/auth/refresh", 200, {
      body: { refresh_token: login.refresh_token },
    });
    expect(refreshed.user.user_id).toBe(reg.user.user_id);
    const profile = await legacyJson<Record<string, unknown>>("/auth/profile", 200, {
      token: refreshed.access_token,
    });
    has(profile, ["user_id", "username", "email", "full_name", "created_at", "is_active"]);
    expect(profile.user_id).toBe(reg.user.user_id);
  });

  it("captures (5), clarifies (6) and saves (7) with the hard-coded user_123 and default-project", async () => {
    const { reg } = await appUser();
    const token = reg.access_token;
    const preview = await legacyJson<{
      task: Record<string, unknown>;
      micro_steps: Record<string, unknown>[];
      clarifications: unknown[];
      ready_to_save: boolean;
      mode: string;
    }>("/capture/", 200, {
      token,
      body: { query: "Email Sam about the rent tomorrow", user_id: "user_123", mode: "auto" },
    });
    has(preview, [
      "task.task_id",
      "task.title",
      "task.description",
      "task.estimated_minutes",
      "task.priority",
      "clarifications",
      "ready_to_save",
      "mode",
    ]);
    expect(preview.micro_steps.length).toBeGreaterThan(0);
    for (const step of preview.micro_steps)
      has(step, ["step_id", "description", "estimated_minutes", "delegation_mode", "leaf_type"]);
    const none = await legacyJson<unknown[]>("/tasks", 200, { token });
    expect(none).toEqual([]);
    const clarified = await legacyJson<Record<string, unknown>>("/capture/clarify", 200, {
      token,
      body: { micro_steps: preview.micro_steps, answers: { deadline: "tomorrow" } },
    });
    has(clarified, ["micro_steps", "clarifications", "ready_to_save"]);
    const saved = await legacyJson<{ total_steps: number; task_id: string; micro_step_ids: string[] }>(
      "/capture/save",
      201,
      {
        token,
        body: {
          task: preview.task,
          micro_steps: preview.micro_steps,
          user_id: "user_123",
          project_id: "default-project",
        },
      },
    );
    has(saved, ["success", "task_id", "micro_step_ids", "total_steps", "message"]);
    expect(saved.total_steps).toBe(saved.micro_step_ids.length);
    const tasks = await legacyJson<{ task_id: string }[]>("/tasks", 200, { token });
    expect(tasks.map((t) => t.task_id)).toEqual([saved.task_id]);
  });

  it("stores onboarding at the app's doubled /api/v1/api/v1 path (8)", async () => {
    const { reg } = await appUser();
    const token = reg.access_token;
    const path = `/api/v1/users/${reg.user.user_id}/onboarding`;
    expect((await legacyCall(path, { token })).status).toBe(404);
    const put = await legacyJson<Record<string, unknown>>(path, 200, {
      method: "PUT",
      token,
      body: {
        work_preference: "remote",
        adhd_support_level: 7,
        adhd_challenges: ["time_blindness"],
        daily_schedule: {
          preferredStartTime: "09:00",
          preferredEndTime: "17:00",
          timePreference: "morning",
          flexibleSchedule: true,
        },
        productivity_goals: ["finish_projects"],
      },
    });
    has(put, [
      "user_id",
      "work_preference",
      "adhd_support_level",
      "adhd_challenges",
      "daily_schedule",
      "productivity_goals",
      "onboarding_completed",
      "onboarding_skipped",
      "completed_at",
      "skipped_at",
      "created_at",
      "updated_at",
    ]);
    const done = await legacyJson<Record<string, unknown>>(`${path}/complete`, 200, {
      token,
      body: { completed: true },
    });
    expect(done).toMatchObject({
      onboarding_completed: true,
      onboarding_skipped: false,
      work_preference: "remote",
    });
  });

  it("makes a project (9) and a task in hours (10), reads it (11), splits it (12), completes a step with no body (13), reads progress (14)", async () => {
    const { reg } = await appUser();
    const token = reg.access_token;
    const project = await legacyJson<{ project_id: string }>("/projects", 201, {
      token,
      body: { name: "Thesis", description: "Chapter by chapter" },
    });
    const task = await legacyJson<Record<string, unknown> & { task_id: string }>("/tasks", 201, {
      token,
      body: {
        title: "Write the literature review",
        description: "Ten sources",
        project_id: project.project_id,
        priority: "high",
        estimated_hours: 1.5,
        tags: ["thesis"],
      },
    });
    has(task, [
      "task_id",
      "title",
      "description",
      "project_id",
      "status",
      "priority",
      "estimated_hours",
      "actual_hours",
      "progress_percentage",
      "tags",
      "is_overdue",
      "created_at",
      "updated_at",
      "micro_steps",
    ]);
    expect(task).toMatchObject({
      project_id: project.project_id,
      estimated_hours: 1.5,
      estimated_minutes: 90,
      status: "pending",
    });
    const read = await legacyJson<{ micro_steps: unknown[] }>(`/tasks/${task.task_id}`, 200, { token });
    expect(read.micro_steps).toEqual([]);
    const split = await legacyJson<{
      scope: string;
      micro_steps: { step_id: string; step_order: number; is_completed: boolean }[];
      total_estimated_minutes: number;
    }>(`/tasks/${task.task_id}/split`, 200, { token, body: { mode: "adhd" } });
    expect(["SIMPLE", "MULTI", "PROJECT"]).toContain(split.scope);
    expect(split.micro_steps.length).toBeGreaterThan(0);
    for (const step of split.micro_steps)
      has(step, [
        "step_id",
        "step_order",
        "description",
        "estimated_minutes",
        "delegation_mode",
        "leaf_type",
        "is_completed",
      ]);
    const again = await legacyJson<typeof split>(`/tasks/${task.task_id}/split`, 200, { token, body: {} });
    expect(again.micro_steps.map((s) => s.step_id)).toEqual(split.micro_steps.map((s) => s.step_id));
    const first = split.micro_steps[0]?.step_id;
    const done = await legacyJson<{ xp_awarded: number; is_completed: boolean }>(
      `/micro-steps/${first}/complete`,
      200,
      { token, method: "PATCH" },
    );
    expect(done.is_completed).toBe(true);
    expect(done.xp_awarded).toBeGreaterThan(0);
    const twice = await legacyJson<{ xp_awarded: number }>(`/micro-steps/${first}/complete`, 200, {
      token,
      method: "PATCH",
      transport: "app-empty",
    });
    expect(twice.xp_awarded).toBe(0);
    const progress = await legacyJson<Record<string, number>>(`/tasks/${task.task_id}/progress`, 200, {
      token,
    });
    expect(progress.completed_steps).toBe(1);
    expect(progress.progress_percent).toBe(Math.round((100 * 1) / split.micro_steps.length));
    expect(progress.progress_percentage).toBe(progress.progress_percent);
  });
});

describe("the agents' dogfood script, call by call", () => {
  it("registers an agent (19), delegates to it (15), accepts with no body (16), completes in hours (17), lists (18, 20)", async () => {
    const { reg } = await appUser();
    const token = reg.access_token;
    const agent = await legacyJson<Record<string, unknown>>("/delegation/agents", 201, {
      token,
      transport: "curl",
      body: {
        agent_id: "claude-code",
        agent_name: "Claude Code",
        agent_type: "backend",
        skills: ["python"],
        max_concurrent_tasks: 3,
      },
    });
    has(agent, ["capability_id", "current_task_count", "is_available", "created_at", "updated_at"]);
    expect(agent).toMatchObject({ current_task_count: 0, is_available: true });
    const listed = await legacyJson<{ agent_id: string }[]>(
      "/delegation/agents?agent_type=backend&available_only=true",
      200,
      { token, transport: "curl" },
    );
    expect(listed.map((a) => a.agent_id)).toContain("claude-code");
    const task = await legacyJson<{ task_id: string }>("/tasks", 201, {
      token,
      transport: "curl",
      body: { title: "BE-07 retries", tags: ["backend"] },
    });
    const assignment = await legacyJson<Record<string, unknown> & { assignment_id: string }>(
      "/delegation/delegate",
      201,
      {
        token,
        transport: "curl",
        body: {
          task_id: task.task_id,
          assignee_id: "claude-code",
          assignee_type: "agent",
          estimated_hours: 6.0,
        },
      },
    );
    has(assignment, [
      "assignment_id",
      "task_id",
      "assignee_id",
      "assignee_type",
      "status",
      "assigned_at",
      "accepted_at",
      "completed_at",
      "estimated_hours",
      "actual_hours",
    ]);
    expect(assignment).toMatchObject({
      assignee_id: "claude-code",
      assignee_type: "agent",
      status: "pending",
    });
    const accepted = await legacyJson<Record<string, unknown>>(
      `/delegation/assignments/${assignment.assignment_id}/accept`,
      200,
      { token, transport: "curl", method: "POST" },
    );
    has(accepted, ["status", "accepted_at"]);
    const completed = await legacyJson<Record<string, unknown>>(
      `/delegation/assignments/${assignment.assignment_id}/complete`,
      200,
      {
        token,
        transport: "curl",
        body: { actual_hours: 5.5 },
      },
    );
    expect(completed).toMatchObject({ status: "completed", actual_hours: 5.5 });
    const mine = await legacyJson<{ assignment_id: string }[]>(
      "/delegation/assignments/agent/claude-code?status=completed",
      200,
      { token, transport: "curl" },
    );
    expect(mine.map((a) => a.assignment_id)).toEqual([assignment.assignment_id]);
    const tasks = await legacyJson<
      { task_id: string; tags: unknown; is_meta_task: unknown; scope: unknown }[]
    >("/delegation/tasks?filter=all", 200, { token });
    expect(tasks.map((t) => t.task_id)).toContain(task.task_id);
    expect(typeof tasks[0]?.tags).toBe("string");
  });
});

describe("templates, pets and focus, call by call", () => {
  it("keeps the app's Homework template (21), adopts (22) and feeds a pet by query (23), focuses (24) and reads analytics (25)", async () => {
    const { reg } = await appUser();
    const token = reg.access_token;
    const userId = reg.user.user_id;
    const template = await legacyJson<{
      template_id: string;
      steps: { step_id: string; template_id: string; step_order: number; estimated_minutes: number }[];
    }>("/task-templates/", 201, {
      token,
      body: {
        name: "Homework",
        category: "Academic",
        created_by: userId,
        is_public: false,
        steps: [
          { step_order: 2, description: "Write the first draft", estimated_minutes: 25, leaf_type: "HUMAN" },
          { step_order: 1, description: "Read the assignment", estimated_minutes: 15, leaf_type: "HUMAN" },
        ],
      },
    });
    expect(template.steps.map((s) => [s.step_order, s.estimated_minutes])).toEqual([
      [1, 15],
      [2, 25],
    ]);
    for (const step of template.steps) expect(step.template_id).toBe(template.template_id);
    const list = await legacyJson<{ template_id: string }[]>("/task-templates/?category=academic", 200, {
      token,
    });
    expect(list.map((t) => t.template_id)).toContain(template.template_id);
    await legacyJson(`/task-templates/${template.template_id}`, 200, { token });

    const pet = await legacyJson<Record<string, unknown>>("/pets/create", 201, {
      token,
      body: { user_id: userId, species: "owl", name: "Hoot" },
    });
    has(pet, [
      "pet_id",
      "user_id",
      "species",
      "name",
      "level",
      "xp",
      "hunger",
      "happiness",
      "evolution_stage",
      "created_at",
      "last_fed_at",
    ]);
    await legacyJson(`/pets/${userId}`, 200, { token });
    // A pet grows from work: finish a step, let its XP land, then feed.
    const task = await legacyJson<{ micro_steps: { step_id: string }[] }>("/tasks", 201, {
      token,
      body: {
        title: "Tidy the desk",
        micro_steps: [{ description: "Clear the papers", estimated_minutes: 5 }],
      },
    });
    await legacyJson(`/micro-steps/${task.micro_steps[0]?.step_id}/complete`, 200, {
      token,
      method: "PATCH",
    });
    await settle(userId);
    const fed = await legacyJson<Record<string, unknown>>(
      `/pets/feed?user_id=${userId}&task_priority=high&task_estimated_minutes=5`,
      200,
      {
        token,
        method: "POST",
      },
    );
    has(fed, [
      "pet",
      "leveled_up",
      "evolved",
      "xp_to_next_level",
      "xp_gained",
      "hunger_restored",
      "happiness_gained",
    ]);

    const session = await legacyJson<Record<string, unknown> & { session_id: string }>(
      "/focus/sessions",
      201,
      {
        token,
        body: { user_id: userId, duration_minutes: 25 },
      },
    );
    expect(session).toMatchObject({
      user_id: userId,
      ended_at: null,
      completed: false,
      interruptions: 0,
      duration_minutes: 25,
    });
    await legacyJson(`/focus/sessions/${session.session_id}`, 200, {
      token,
      method: "PUT",
      body: { interruptions: 2 },
    });
    const ended = await legacyJson<Record<string, unknown>>(`/focus/sessions/${session.session_id}`, 200, {
      token,
      method: "PUT",
      body: { completed: true },
    });
    expect(ended).toMatchObject({ completed: true, interruptions: 2 });
    const analytics = await legacyJson<Record<string, number>>(`/focus/sessions/analytics/${userId}`, 200, {
      token,
    });
    expect(analytics).toMatchObject({ total_sessions: 1, completed_sessions: 1, completion_rate: 1 });
  });
});

describe("what no client may do", () => {
  it("answers each of the 25 without a token with 401 (the app refreshes on 401)", async () => {
    const calls: [string, string][] = [
      ["GET", "/auth/profile"],
      ["POST", "/capture/"],
      ["POST", "/capture/clarify"],
      ["POST", "/capture/save"],
      ["PUT", "/api/v1/users/me/onboarding"],
      ["POST", "/projects"],
      ["POST", "/tasks"],
      ["GET", "/tasks/x"],
      ["POST", "/tasks/x/split"],
      ["PATCH", "/micro-steps/x/complete"],
      ["GET", "/tasks/x/progress"],
      ["POST", "/delegation/delegate"],
      ["POST", "/delegation/assignments/x/accept"],
      ["POST", "/delegation/assignments/x/complete"],
      ["GET", "/delegation/assignments/agent/x"],
      ["POST", "/delegation/agents"],
      ["GET", "/delegation/agents"],
      ["GET", "/delegation/tasks"],
      ["POST", "/task-templates/"],
      ["POST", "/pets/create"],
      ["POST", "/pets/feed"],
      ["POST", "/focus/sessions"],
      ["PUT", "/focus/sessions/x"],
      ["GET", "/focus/sessions/analytics/x"],
    ];
    for (const [method, path] of calls) {
      const res = await legacyCall(path, { method, body: method === "GET" ? undefined : {} });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.headers.get("www-authenticate"), path).toMatch(/Bearer/);
    }
  });

  it("never acts on another user through a user_id in a body, query or path", async () => {
    const sam = (await appUser()).reg;
    const alex = (await appUser()).reg;
    await legacyJson("/pets/create", 201, {
      token: sam.access_token,
      body: { user_id: alex.user.user_id, species: "cat", name: "Miso" },
    });
    expect((await legacyCall(`/pets/${alex.user.user_id}`, { token: sam.access_token })).status).toBe(404);
    expect((await legacyCall("/pets/me", { token: alex.access_token })).status).toBe(404);
    expect(
      (await legacyCall(`/focus/sessions/analytics/${alex.user.user_id}`, { token: sam.access_token }))
        .status,
    ).toBe(404);
    expect(
      (
        await legacyCall(`/api/v1/users/${alex.user.user_id}/onboarding`, {
          token: sam.access_token,
          method: "PUT",
          body: { work_preference: "office" },
        })
      ).status,
    ).toBe(404);
  });
});
