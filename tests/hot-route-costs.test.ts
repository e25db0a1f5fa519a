import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createUser, type TestUser } from "./helpers/api";
import { registerAgent } from "./helpers/delegation";
import { adoptPet, giveTreats } from "./helpers/pets";
import { costOf, type RequestCost } from "./helpers/round-trips";
import { createTask } from "./helpers/tasks";

/**
 * What each hot route costs before its answer (issue 22; bench/README.md lists them): D1 round trips
 * and Durable Object calls. Pinned so that a change adding one fails here, with the figure to argue
 * for. Work left to `waitUntil` after the answer (a timer's D1 writes, a room's push) is not counted.
 */
/** The agent the task's open assignment went to (null: none was claimed). */
async function claimedAgentOf(taskId: string): Promise<string | null> {
  const row = await env.DB.prepare(
    "SELECT agent_id FROM task_assignments WHERE task_id = ? AND status IN ('pending', 'accepted', 'in_progress')",
  )
    .bind(taskId)
    .first<{ agent_id: string | null }>();
  return row?.agent_id ?? null;
}

const cost = (path: string, token: string, body?: unknown): Promise<RequestCost> =>
  costOf(path, { token, ...(body === undefined ? {} : { body }) });

async function taskWithSteps(user: TestUser, steps = 5) {
  return createTask(user, {
    title: "Write the quarterly report",
    micro_steps: Array.from({ length: steps }, (_, i) => ({
      description: `Step ${i + 1}`,
      estimated_minutes: 3,
    })),
  });
}

describe("the cost of each hot route before its answer", () => {
  it("GET /health: one D1 round trip; /health/live none", async () => {
    expect(await costOf("/health")).toEqual({ status: 200, d1: 1, objects: [] });
    expect(await costOf("/health/live")).toEqual({ status: 200, d1: 0, objects: [] });
  });

  it("GET /api/v1/tasks?limit=50", async () => {
    const user = await createUser();
    for (let i = 0; i < 3; i++) await taskWithSteps(user);
    // One statement: the page, each task's step progress, and the account check in its WHERE.
    expect(await cost("/api/v1/tasks?limit=50", user.token)).toEqual({
      status: 200,
      d1: 1,
      objects: [],
    });
  });

  it("POST /api/v1/tasks", async () => {
    const user = await createUser();
    const body = { title: "Call the dentist", micro_steps: [{ description: "Find the number" }] };
    // One batch: the account check, the task, its steps and its event, written together.
    expect(await cost("/api/v1/tasks", user.token, body)).toEqual({
      status: 201,
      d1: 1,
      objects: [],
    });
  });

  it("POST /api/v1/focus/enhanced/start", async () => {
    const user = await createUser();
    const start = { kind: "custom", duration_minutes: 25 };
    // The timer answers alone (it refuses a deleted account itself): no D1 from the Worker, one call.
    expect(await cost("/api/v1/focus/enhanced/start", user.token, start)).toEqual({
      status: 201,
      d1: 0,
      objects: ["FOCUS_TIMER.act"],
    });
  });

  it("POST /api/v1/pets/me/feed and GET /api/v1/pets/level/me/status", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 20);
    // The pet answers alone, like the timer.
    expect(await cost("/api/v1/pets/me/feed", user.token, { xp_amount: 1 })).toEqual({
      status: 200,
      d1: 0,
      objects: ["PET_STATE.act"],
    });
    expect(await cost("/api/v1/pets/level/me/status", user.token)).toEqual({
      status: 200,
      d1: 0,
      objects: ["PET_STATE.view"],
    });
  });

  it("POST /api/v1/tasks/split/{id} (a suggestion)", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the garage", estimated_minutes: 60 });
    const body = { energy_level: "medium", difficulty: 3, splitter: "local" };
    // One batch reading the task, its steps, the person's profile, a template named like it and an
    // earlier split; one batch writing the suggestion down (a re-split gives the same step ids). The
    // account check rides in each.
    expect(await cost(`/api/v1/tasks/split/${task.task_id}`, user.token, body)).toEqual({
      status: 200,
      d1: 2,
      objects: [],
    });
  });

  it("POST /api/v1/delegation/delegate", async () => {
    const user = await createUser();
    const agent = await registerAgent(user, { agent_type: "backend" });
    const task = await createTask(user, { title: "Refactor the billing module" });
    const body = { task_id: task.task_id, delegation_mode: "DELEGATE", prefer_agent_type: "backend" };
    // One batch: the account check, the assignment, the agent's load and the event, guarded together.
    expect(await cost("/api/v1/delegation/delegate", user.token, body)).toEqual({
      status: 200,
      d1: 1,
      objects: [],
    });
    expect(await claimedAgentOf(task.task_id)).toBe(agent.agent_id);
  });
});
