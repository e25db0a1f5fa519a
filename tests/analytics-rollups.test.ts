import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { newEvent } from "../src/lib/events/envelope";
import { analyticsUser, logEnergy, storedRollups, storedSlice, storedTaskTime } from "./helpers/analytics";
import { callJson, type TestUser } from "./helpers/api";
import { freezeClock, localDateOf, nextLocal, thawClock } from "./helpers/clock";
import { focusStateOf, startFocus } from "./helpers/focus";
import { deliver, eventsOf, settle } from "./helpers/outbox";
import { completeStep, createTask } from "./helpers/tasks";

const MIN = 60_000;

afterEach(() => thawClock());

/** Every event of the user's delivered (some by the background queue, the rest here). */
async function settled(user: TestUser): Promise<void> {
  await settle(user.id);
  await settle(user.id);
}

/** XP per local day as the ledger has it: the truth the rollups must equal. */
async function ledgerXpByDay(userId: string, timezone: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare("SELECT amount, occurred_at FROM xp_ledger WHERE user_id = ?")
    .bind(userId)
    .all<{ amount: number; occurred_at: string }>();
  const days: Record<string, number> = {};
  for (const r of results) {
    const day = localDateOf(Date.parse(r.occurred_at), timezone);
    days[day] = (days[day] ?? 0) + r.amount;
  }
  return days;
}

async function rollupXpByDay(userId: string): Promise<Record<string, number>> {
  const days: Record<string, number> = {};
  for (const r of await storedRollups(userId)) if (r.dim === "all" && r.xp > 0) days[r.day] = r.xp;
  return days;
}

describe("rollups from what the user does", () => {
  it("counts a check-in, a task with steps, a focus session on it and its completion, on every slice", async () => {
    const zone = "Asia/Tokyo";
    const clock = freezeClock(nextLocal(zone, "10:00"));
    const user = await analyticsUser(zone);
    const day = localDateOf(clock.now(), zone);
    await logEnergy(user, { level: "HIGH" });
    const task = await createTask(user, {
      title: "Quarterly report",
      category: "Work",
      estimated_minutes: 20,
      micro_steps: [
        { description: "Outline", estimated_minutes: 5 },
        { description: "Draft", estimated_minutes: 10 },
      ],
    });
    await startFocus(user, { kind: "pomodoro", task_id: task.task_id });
    clock.tick(26 * MIN);
    expect((await focusStateOf(user)).last_session).toMatchObject({ completed: true });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await completeStep(user, task.task_id, task.micro_steps?.[1]?.step_id);
    await vi.waitFor(async () => expect((await eventsOf(user.id, "focus.completed")).length).toBe(1));
    await settled(user);

    const total = await storedSlice(user.id, day, "all");
    expect(total).toMatchObject({
      tasks_created: 1,
      tasks_completed: 1,
      steps_completed: 2,
      focus_seconds: 25 * 60,
      focus_sessions: 1,
      focus_completed: 1,
      energy_high: 1,
      // Estimated 20 minutes; no minutes reported, so the 25 focused are the actual time: late.
      timed_tasks: 1,
      estimated_minutes: 20,
      actual_minutes: 25,
      on_time_tasks: 0,
    });
    expect(total?.xp).toBeGreaterThan(0);
    expect(await rollupXpByDay(user.id)).toEqual(await ledgerXpByDay(user.id, zone));
    // The work happened at 10:00–10:26 Tokyo time, within four hours of a high-energy check-in.
    expect(await storedSlice(user.id, day, "hour", "10")).toMatchObject({
      tasks_created: 1,
      steps_completed: 2,
    });
    expect(await storedSlice(user.id, day, "category", "Work")).toMatchObject({
      tasks_created: 1,
      tasks_completed: 1,
      steps_completed: 2,
      focus_seconds: 1500,
      timed_tasks: 1,
    });
    expect(await storedSlice(user.id, day, "energy", "high")).toMatchObject({
      energy_high: 1,
      steps_completed: 2,
      tasks_completed: 1,
    });
    expect(await storedTaskTime(user.id, task.task_id)).toMatchObject({
      category: "Work",
      estimated_minutes: 20,
      steps_completed: 2,
      step_minutes: 15,
      focus_seconds: 1500,
      focus_sessions: 1,
      reported_minutes: null,
      completed_at: expect.any(String),
    });
  });

  it("leaves the energy slice out when the last check-in is more than four hours old", async () => {
    const clock = freezeClock();
    const user = await analyticsUser();
    await logEnergy(user, { level: "low" });
    clock.tick(4 * 60 * MIN + MIN);
    await createTask(user, { title: "Later" });
    await settled(user);
    const energy = (await storedRollups(user.id)).filter((r) => r.dim === "energy");
    expect(energy.map((r) => [r.key, r.energy_low, r.tasks_created])).toEqual([["low", 1, 0]]);
  });

  it("counts each event once when the queue delivers it again, alone or twice in one delivery", async () => {
    const user = await analyticsUser();
    const task = await createTask(user, {
      title: "Once",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await settled(user);
    const before = await storedRollups(user.id);
    const events = await eventsOf(user.id);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(["task.created", "step.completed"]));
    const first = await deliver(events);
    const second = await deliver([...events, ...events]);
    expect(first.explicitAcks).toHaveLength(events.length);
    expect(second.explicitAcks).toHaveLength(2 * events.length);
    expect(await storedRollups(user.id)).toEqual(before);
    const total = before.find((r) => r.dim === "all");
    expect(total).toMatchObject({ tasks_created: 1, steps_completed: 1 });
  });

  it("counts a reopened step completed again once, as gamification pays it once", async () => {
    const user = await analyticsUser();
    const task = await createTask(user, {
      title: "Redo",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    const stepId = task.micro_steps?.[0]?.step_id;
    await completeStep(user, task.task_id, stepId);
    await callJson(`/api/v1/tasks/${task.task_id}/steps/${stepId}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { status: "pending" },
    });
    await completeStep(user, task.task_id, stepId);
    await settled(user);
    expect((await eventsOf(user.id, "step.completed")).length).toBe(2);
    const total = (await storedRollups(user.id)).find((r) => r.dim === "all");
    expect(total?.steps_completed).toBe(1);
    expect((await storedTaskTime(user.id, task.task_id))?.steps_completed).toBe(1);
  });

  it("splits work across local midnight in the user's time zone, XP on each day as the ledger has it", async () => {
    const zone = "America/New_York";
    const clock = freezeClock(nextLocal(zone, "23:50"));
    const user = await analyticsUser(zone);
    const before = localDateOf(clock.now(), zone);
    const task = await createTask(user, {
      title: "Late night",
      micro_steps: [{ description: "a" }, { description: "b" }, { description: "c" }],
    });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    clock.tick(20 * MIN);
    const after = localDateOf(clock.now(), zone);
    expect(after).not.toBe(before);
    await completeStep(user, task.task_id, task.micro_steps?.[1]?.step_id);
    await completeStep(user, task.task_id, task.micro_steps?.[2]?.step_id);
    await settled(user);
    expect(await storedSlice(user.id, before, "all")).toMatchObject({ tasks_created: 1, steps_completed: 1 });
    expect(await storedSlice(user.id, after, "all")).toMatchObject({
      steps_completed: 2,
      tasks_completed: 1,
    });
    expect(await storedSlice(user.id, before, "hour", "23")).toMatchObject({ steps_completed: 1 });
    expect(await storedSlice(user.id, after, "hour", "00")).toMatchObject({ steps_completed: 2 });
    const ledger = await ledgerXpByDay(user.id, zone);
    expect(Object.keys(ledger).sort()).toEqual([before, after].sort());
    expect(await rollupXpByDay(user.id)).toEqual(ledger);
  });

  it("still counts every XP grant when a delivery falls back to one event at a time", async () => {
    const user = await analyticsUser();
    const task = await createTask(user, {
      title: "Fallback",
      priority: "high",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await completeStep(user, task.task_id, task.micro_steps?.[1]?.step_id);
    const events = (await eventsOf(user.id)).filter((e) => e.type !== "task.created");
    // The whole-delivery batch fails once (its first D1 batch is the handlers' read): each event is
    // then handled on its own, handler after handler, gamification's batch committing first.
    const spy = vi.spyOn(env.DB, "batch").mockRejectedValueOnce(new Error("D1 hiccup"));
    const result = await deliver(events);
    spy.mockRestore();
    expect(result.explicitAcks).toHaveLength(events.length);
    await settled(user);
    const total = (await storedRollups(user.id)).find((r) => r.dim === "all");
    expect(total).toMatchObject({ steps_completed: 2, tasks_completed: 1 });
    expect(await rollupXpByDay(user.id)).toEqual(await ledgerXpByDay(user.id, "UTC"));
  });

  it("counts an administrator's grant as XP on its day, and nothing else", async () => {
    const user = await analyticsUser();
    const grant = newEvent("xp.manual", user.id, {
      amount: 120,
      reason: "Beta tester",
      key: `beta-${user.id}`,
      granted_by: user.id,
    });
    await deliver([grant]);
    const rows = await storedRollups(user.id);
    expect(rows.map((r) => [r.dim, r.xp, r.tasks_created, r.steps_completed])).toEqual([
      ["all", 120, 0, 0],
      ["hour", 120, 0, 0],
    ]);
  });
});
