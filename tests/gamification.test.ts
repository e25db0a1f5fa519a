import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import { deliver, eventsOf, ledgerOf, profileOf, settle } from "./helpers/gamification";
import { createTask, type Task } from "./helpers/tasks";

async function completeAll(user: TestUser, task: Task, body?: { completed_at: string }) {
  for (const step of task.micro_steps ?? []) {
    await callJson(`/api/v1/tasks/${task.task_id}/steps/${step.step_id}/complete`, 200, {
      method: "POST",
      token: user.token,
      ...(body ? { body } : {}),
    });
  }
}

const steps = (n: number, minutes = 2) =>
  Array.from({ length: n }, (_, i) => ({ description: `Step ${i + 1}`, estimated_minutes: minutes }));

describe("XP from completed work", () => {
  it("pays each step by the formula, then the task, and keeps the total", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Tidy the desk",
      priority: "high",
      estimated_minutes: 20,
      micro_steps: [
        { description: "Clear the cups", estimated_minutes: 5 },
        { description: "Wipe it down", estimated_minutes: 10 },
      ],
    });
    await completeAll(user, task);
    await settle(user.id);
    const [one, two] = task.micro_steps ?? [];
    // Today's challenges may pay too (one may be "finish a high-priority task"): those are tested apart.
    const rows = await ledgerOf(user);
    expect(rows.filter((r) => r.source !== "challenge")).toEqual([
      { source: "step", source_key: `step:${one?.step_id}`, amount: 16 },
      { source: "step", source_key: `step:${two?.step_id}`, amount: 17 },
      { source: "task", source_key: `task:${task.task_id}`, amount: 32 },
    ]);
    const total = rows.reduce((sum, r) => sum + r.amount, 0);
    const profile = await profileOf(user);
    expect(profile).toMatchObject({ total_xp: total, week_xp: total, xp_to_next_level: 150 - total });
  });

  it("pays an event delivered three times once, one after the other or all at once", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Once", micro_steps: steps(2) });
    await completeAll(user, task);
    const [first, second] = await eventsOf(user.id, "step.completed");
    if (!first || !second) throw new Error("no step events");
    for (let i = 0; i < 3; i++) await deliver([first]);
    await Promise.all([deliver([second]), deliver([second]), deliver([second])]);
    await settle(user.id);
    const rows = await ledgerOf(user);
    expect(rows.filter((r) => r.source === "step")).toHaveLength(2);
    expect((await profileOf(user)).total_xp).toBe(rows.reduce((sum, r) => sum + r.amount, 0));
  });

  it("pays 20 concurrent completions of different steps 20 times", async () => {
    const user = await createUser();
    const tasks = await Promise.all([
      createTask(user, { title: "A", micro_steps: steps(10) }),
      createTask(user, { title: "B", micro_steps: steps(10) }),
    ]);
    await Promise.all(
      tasks.flatMap((t) =>
        (t.micro_steps ?? []).map((s) =>
          callJson(`/api/v1/tasks/${t.task_id}/steps/${s.step_id}/complete`, 200, {
            method: "POST",
            token: user.token,
          }),
        ),
      ),
    );
    const events = await eventsOf(user.id);
    // Four deliveries at once, as concurrent queue consumers would run them.
    const quarters = [0, 1, 2, 3].map((q) => events.filter((_, i) => i % 4 === q));
    await Promise.all(quarters.map((part) => deliver(part)));
    await settle(user.id);
    const rows = await ledgerOf(user);
    expect(rows.filter((r) => r.source === "step")).toHaveLength(20);
    expect(rows.filter((r) => r.source === "task")).toHaveLength(2);
    const work = rows.filter((r) => r.source === "step" || r.source === "task");
    expect(work.reduce((sum, r) => sum + r.amount, 0)).toBe(20 * 13 + 2 * 26);
    expect((await profileOf(user)).total_xp).toBe(rows.reduce((sum, r) => sum + r.amount, 0));
  });

  it("levels up once, with one level.up event, unlocking a theme", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Big push", micro_steps: steps(10) });
    await completeAll(user, task);
    await settle(user.id);
    await settle(user.id);
    const profile = await profileOf(user);
    expect(profile.total_xp).toBeGreaterThanOrEqual(10 * 13 + 26);
    expect(profile.level).toBe(2);
    expect(profile.themes.map((t) => t.id)).toEqual(["slate", "sunrise"]);
    const ups = await eventsOf(user.id, "level.up");
    expect(ups.map((e) => e.data)).toEqual([{ level: 2, previous_level: 1, total_xp: expect.any(Number) }]);
    const row = await env.DB.prepare("SELECT level FROM user_progress WHERE user_id = ?")
      .bind(user.id)
      .first();
    expect(row).toEqual({ level: 2 });
  });

  it("refuses a completion time in the future or over a week old with 422", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Late", micro_steps: steps(1) });
    const stepId = task.micro_steps?.[0]?.step_id;
    for (const completed_at of [
      new Date(Date.now() + 3_600_000).toISOString(),
      new Date(Date.now() - 8 * 86_400_000).toISOString(),
      "yesterday",
    ]) {
      const res = await call(`/api/v1/tasks/${task.task_id}/steps/${stepId}/complete`, {
        method: "POST",
        token: user.token,
        body: { completed_at },
      });
      expect(res.status, completed_at).toBe(422);
      await res.text();
    }
  });
});
