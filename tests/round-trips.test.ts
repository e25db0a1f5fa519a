import { describe, expect, it } from "vitest";
import { callJson, createUser, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { backdated } from "./helpers/clock";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { adoptPet, giveTreats } from "./helpers/pets";
import { createTask, type Task } from "./helpers/tasks";

const HOUR_MS = 3_600_000;

async function userWithTasks(): Promise<TestUser> {
  const user = await createUser();
  for (let i = 0; i < 5; i++) {
    await createTask(user, { title: `T${i}`, micro_steps: [{ description: "a" }, { description: "b" }] });
  }
  return user;
}

describe("D1 round trips per request", () => {
  it("lists tasks in one round trip with a login token", async () => {
    const user = await userWithTasks();
    // The page's query checks the account too: a page with rows shows it live.
    expect(await tripsFor("/api/v1/tasks?limit=50", { token: user.token })).toEqual({
      status: 200,
      trips: 1,
    });
  });

  it("lists tasks in two round trips with an API token once its last-used time is fresh", async () => {
    const user = await userWithTasks();
    const { token } = await createApiToken(user.token, { name: "reader", scopes: ["tasks:read"] });
    // The first use also records last_used_at (after the response); later uses within a minute do not.
    const first = await tripsFor("/api/v1/tasks?limit=50", { token });
    expect(first.trips).toBe(3);
    expect(await tripsFor("/api/v1/tasks?limit=50", { token })).toEqual({ status: 200, trips: 2 });
  });

  it("creates a task with steps in one round trip", async () => {
    const user = await createUser();
    const body = JSON.stringify({
      title: "One trip",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    // The batch carries the account check.
    expect(await tripsFor("/api/v1/tasks", { method: "POST", body, token: user.token })).toEqual({
      status: 201,
      trips: 1,
    });
  });

  it("completes a step (and maybe its task) and answers with the task in one round trip", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Step", micro_steps: [{ description: "only" }] });
    const path = `/api/v1/tasks/${task.task_id}/steps/${task.micro_steps?.[0]?.step_id}/complete`;
    expect(await tripsFor(path, { method: "POST", token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });

  it("completes a step late (completed_at in the past) in one round trip, the step's creation checked in it", async () => {
    const user = await createUser();
    const task = await backdated(2 * HOUR_MS, () =>
      createTask(user, { title: "Synced late", micro_steps: [{ description: "a" }, { description: "b" }] }),
    );
    const [first, second] = task.micro_steps ?? [];
    const path = (stepId: string | undefined) => `/api/v1/tasks/${task.task_id}/steps/${stepId}/complete`;
    const late = (ms: number) => JSON.stringify({ completed_at: new Date(Date.now() - ms).toISOString() });
    expect(
      await tripsFor(path(first?.step_id), { method: "POST", body: late(HOUR_MS), token: user.token }),
    ).toEqual({ status: 200, trips: 1 + LOOKUP });
    // Before the step existed: refused, in the same one trip.
    expect(
      await tripsFor(path(second?.step_id), { method: "POST", body: late(3 * HOUR_MS), token: user.token }),
    ).toEqual({ status: 422, trips: 1 + LOOKUP });
  });

  it("saves a task as a template in one round trip", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Weekly review",
      category: "Work",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    const body = JSON.stringify({ name: "Review" });
    expect(
      await tripsFor(`/api/v1/tasks/${task.task_id}/save-as-template`, {
        method: "POST",
        body,
        token: user.token,
      }),
    ).toEqual({ status: 201, trips: 1 + LOOKUP });
  });

  it("splits a task in two round trips (read task, preferences and template; write), applied or not", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Write the report", micro_steps: [{ description: "a" }] });
    for (const apply of [false, true]) {
      const body = JSON.stringify({ apply, splitter: "local" });
      expect(
        await tripsFor(`/api/v1/tasks/split/${task.task_id}`, { method: "POST", body, token: user.token }),
      ).toEqual({
        status: 200,
        trips: 2, // both batches carry the account check
      });
    }
  });

  it("applies a template in two round trips (read the template; write the task with the count)", async () => {
    const user = await createUser();
    const body = JSON.stringify({ title: "From a template" });
    const headers = { token: user.token, method: "POST", body };
    expect(await tripsFor("/api/v1/templates/tpl_pay_a_bill/apply", headers)).toEqual({
      status: 201,
      trips: 2 + LOOKUP,
    });
  });

  it("rates a step in two round trips (read; write the rating and the preference)", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Rate", micro_steps: [{ description: "a" }] });
    const path = `/api/v1/tasks/${task.task_id}/steps/${task.micro_steps?.[0]?.step_id}/feedback`;
    const body = JSON.stringify({ rating: "just_right" });
    expect(await tripsFor(path, { method: "POST", body, token: user.token })).toEqual({
      status: 200,
      trips: 2 + LOOKUP,
    });
  });

  it("reads a task and the next step in one round trip each", async () => {
    const user = await userWithTasks();
    const [first] = await callJson<Task[]>("/api/v1/tasks", 200, { token: user.token });
    expect(await tripsFor(`/api/v1/tasks/${first?.task_id}`, { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
    expect(await tripsFor("/api/v1/tasks/next", { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });

  it("reads a pet's status and feeds it with no D1 round trip in the Worker (no lookup either): its object answers", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 10);
    expect(await tripsFor("/api/v1/pets/level/me/status", { token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
    const body = JSON.stringify({ xp_amount: 1 });
    expect(await tripsFor("/api/v1/pets/me/feed", { method: "POST", body, token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
  });

  it("reads and drives the focus timer with no D1 round trip in the Worker (no lookup either)", async () => {
    const user = await createUser();
    expect(await tripsFor("/api/v1/focus/enhanced/state", { token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
    const start = JSON.stringify({ kind: "pomodoro" });
    expect(
      await tripsFor("/api/v1/focus/enhanced/start", { method: "POST", body: start, token: user.token }),
    ).toEqual({
      status: 201,
      trips: 0,
    });
    expect(await tripsFor("/api/v1/focus/enhanced/pause", { method: "POST", token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
    expect(await tripsFor("/api/v1/focus/enhanced/settings", { token: user.token })).toEqual({
      status: 200,
      trips: 0,
    });
  });
});
