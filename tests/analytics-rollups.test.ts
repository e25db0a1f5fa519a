import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import type { Envelope } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";
import {
  analyticsUser,
  logEnergy,
  storedRollups,
  storedSlice,
  storedTaskTime,
  timeTrackingOf,
} from "./helpers/analytics";
import { callJson, type TestUser } from "./helpers/api";
import { freezeClock, localDateOf, nextLocal, thawClock } from "./helpers/clock";
import { focusStateOf, startFocus } from "./helpers/focus";
import { deliver, eventsOf, runEventsQueue, settle } from "./helpers/outbox";
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

// Events built here never went to the queue: only the delivery a test makes handles them.

function stepCompleted(userId: string, taskId: string, stepId: string): Envelope {
  return newEvent("step.completed", userId, {
    task_id: taskId,
    step_id: stepId,
    description: "a step",
    estimated_minutes: 5,
    leaf_type: "DIGITAL",
    task_priority: "high",
    task_estimated_minutes: null,
  });
}

function taskCompleted(userId: string, taskId: string, o: { estimate: number | null; at: number }): Envelope {
  return newEvent(
    "task.completed",
    userId,
    {
      task_id: taskId,
      title: "Timed",
      priority: "medium",
      estimated_minutes: o.estimate,
      actual_minutes: null,
      is_meta_task: false,
      created_at: new Date(o.at - 60 * MIN).toISOString(),
      completed_steps: 0,
    },
    o.at,
  );
}

/** A completed pomodoro on the task, of `minutes`, that ended at `endedAt`; its event says so. */
function focusCompleted(userId: string, taskId: string, o: { minutes: number; endedAt: number }): Envelope {
  const startedAt = o.endedAt - o.minutes * MIN;
  return newEvent(
    "focus.completed",
    userId,
    {
      session_id: crypto.randomUUID(),
      kind: "pomodoro",
      planned_minutes: o.minutes,
      task_id: taskId,
      step_id: null,
      actual_minutes: o.minutes,
      completed: true,
      end_reason: "finished",
      interruptions: 0,
      started_at: new Date(startedAt).toISOString(),
      ended_at: new Date(o.endedAt).toISOString(),
    },
    o.endedAt,
  );
}

/** The D1 binding, except that its first batch fails (a hiccup): counts the batches it was asked for. */
function flakyDatabase() {
  const state = { refused: 0, batches: 0 };
  const db = new Proxy(env.DB, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop !== "batch") return value.bind(target);
      return (statements: D1PreparedStatement[]) => {
        state.batches += 1;
        if (state.refused === 0) {
          state.refused += 1;
          return Promise.reject(new Error("D1 hiccup"));
        }
        return value.call(target, statements);
      };
    },
  });
  return {
    db,
    get refused() {
      return state.refused;
    },
    get batches() {
      return state.batches;
    },
  };
}

/** `event:handler` of the analytics and gamification receipts of these events, sorted. */
async function receiptsOf(eventIds: readonly string[]): Promise<string[]> {
  const { results } = await env.DB.prepare(
    `SELECT event_id, handler FROM event_receipts
     WHERE handler IN ('analytics', 'gamification') AND event_id IN (${eventIds.map(() => "?").join(", ")})`,
  )
    .bind(...eventIds)
    .all<{ event_id: string; handler: string }>();
  return results.map((r) => `${r.event_id}:${r.handler}`).sort();
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

  it("counts a focus session at its start, on that local day and hour; its XP where the ledger has it", async () => {
    const zone = "America/New_York";
    const clock = freezeClock(nextLocal(zone, "23:40"));
    const user = await analyticsUser(zone);
    const started = localDateOf(clock.now(), zone);
    await startFocus(user, { kind: "pomodoro" });
    clock.tick(26 * MIN);
    expect((await focusStateOf(user)).last_session).toMatchObject({ completed: true });
    const ended = localDateOf(clock.now(), zone);
    expect(ended).not.toBe(started);
    await vi.waitFor(async () => expect((await eventsOf(user.id, "focus.completed")).length).toBe(1));
    await settled(user);
    expect(await storedSlice(user.id, started, "all")).toMatchObject({
      focus_sessions: 1,
      focus_completed: 1,
      focus_seconds: 25 * 60,
    });
    expect(await storedSlice(user.id, started, "hour", "23")).toMatchObject({ focus_sessions: 1 });
    expect((await storedSlice(user.id, ended, "all"))?.focus_sessions ?? 0).toBe(0);
    // Gamification pays the session when it ends: the XP stays on that day, as the ledger has it.
    const ledger = await ledgerXpByDay(user.id, zone);
    expect(ledger[ended]).toBeGreaterThan(0);
    expect(await rollupXpByDay(user.id)).toEqual(ledger);
    expect(await storedSlice(user.id, ended, "hour", "00")).toMatchObject({
      xp: ledger[ended],
      focus_sessions: 0,
    });
  });

  it("files a task's time under its category at its latest event, a cleared one too", async () => {
    const user = await analyticsUser();
    const task = await createTask(user, {
      title: "Refiled",
      category: "Work",
      micro_steps: [{ description: "a" }, { description: "b" }, { description: "c" }],
    });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await settled(user);
    expect((await storedTaskTime(user.id, task.task_id))?.category).toBe("Work");
    await callJson(`/api/v1/tasks/${task.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { category: null },
    });
    await completeStep(user, task.task_id, task.micro_steps?.[1]?.step_id);
    await settled(user);
    expect(await storedTaskTime(user.id, task.task_id)).toMatchObject({ category: null, steps_completed: 2 });
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
      category: "Work",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    await settled(user);
    // Events that never went to the queue (built here, not by a request): only this delivery handles them.
    const events = [
      ...(task.micro_steps ?? []).map((step) => stepCompleted(user.id, task.task_id, step.step_id)),
      taskCompleted(user.id, task.task_id, { estimate: null, at: Date.now() }),
    ];
    // The whole delivery's first D1 batch fails once: each event is then handled on its own, handler
    // after handler, gamification's batch committing first.
    const flaky = flakyDatabase();
    const result = await runEventsQueue(
      events.map((body, i) => ({ id: `fallback-${body.id}-${i}`, body })),
      (batch) => worker.queue(batch, { ...env, DB: flaky.db }),
    );
    expect(result.explicitAcks).toHaveLength(events.length);
    expect(flaky.refused).toBe(1);
    // One batch per handler per event (receipt and effects): the one-by-one path ran.
    expect(flaky.batches).toBeGreaterThanOrEqual(2 * events.length);
    expect(await receiptsOf(events.map((e) => e.id))).toEqual(
      events.flatMap((e) => [`${e.id}:analytics`, `${e.id}:gamification`]).sort(),
    );
    await settled(user);
    const total = (await storedRollups(user.id)).find((r) => r.dim === "all");
    expect(total).toMatchObject({ steps_completed: 2, tasks_completed: 1 });
    expect(await storedSlice(user.id, total?.day ?? "", "category", "Work")).toMatchObject({
      steps_completed: 2,
      tasks_completed: 1,
    });
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

describe("timed counters, whatever order the queue keeps", () => {
  type Order = (focus: Envelope, completion: Envelope) => Envelope[][];
  const orders: [string, Order][] = [
    ["the focus session, then the completion", (f, c) => [[f], [c]]],
    ["the completion, then the focus session", (f, c) => [[c], [f]]],
    ["both in one delivery, the completion first", (f, c) => [[c, f]]],
    ["both in one delivery, the focus session first", (f, c) => [[f, c]]],
  ];

  it.each(orders)("times a task the same when the queue brings %s", async (_, order) => {
    const user = await analyticsUser();
    const task = await createTask(user, { title: "Timed", category: "Work", estimated_minutes: 30 });
    await settled(user);
    const now = Date.now();
    const focus = focusCompleted(user.id, task.task_id, { minutes: 25, endedAt: now - 5 * MIN });
    const completion = taskCompleted(user.id, task.task_id, { estimate: 30, at: now });
    for (const delivery of order(focus, completion)) await deliver(delivery);
    const day = localDateOf(now);
    const timed = { timed_tasks: 1, estimated_minutes: 30, actual_minutes: 25, on_time_tasks: 1 };
    expect(await storedSlice(user.id, day, "all")).toMatchObject({ tasks_completed: 1, ...timed });
    expect(await storedSlice(user.id, day, "category", "Work")).toMatchObject(timed);
    const tracked = await timeTrackingOf(user);
    expect(tracked.totals).toEqual({
      timed_tasks: 1,
      estimated_minutes: 30,
      actual_minutes: 25,
      ratio: 0.83,
      on_time_share: 1,
    });
    expect(tracked.tasks.map((t) => [t.task_id, t.actual_minutes, t.actual_source])).toEqual([
      [task.task_id, 25, "focus"],
    ]);
  });

  it("files work under a task's category only when the task is the user's own", async () => {
    const alice = await analyticsUser();
    const bob = await analyticsUser();
    const secret = await createTask(alice, { title: "Alice's", category: "Health" });
    const own = await createTask(bob, { title: "Bob's", category: "Work" });
    await settled(alice);
    await settled(bob);
    const now = Date.now();
    // Bob's events name Alice's task (a crafted restore, say) and his own, in one delivery.
    await deliver([
      focusCompleted(bob.id, secret.task_id, { minutes: 25, endedAt: now - 30 * MIN }),
      focusCompleted(bob.id, own.task_id, { minutes: 20, endedAt: now - 5 * MIN }),
    ]);
    const bobs = await storedRollups(bob.id);
    expect([...new Set(bobs.filter((r) => r.dim === "category").map((r) => r.key))]).toEqual(["Work"]);
    expect((await storedTaskTime(bob.id, secret.task_id))?.category).toBeNull();
    expect((await storedTaskTime(bob.id, own.task_id))?.category).toBe("Work");
  });

  it("corrects a completed task's timed counters when more of its focus time arrives late, once", async () => {
    const user = await analyticsUser();
    const task = await createTask(user, { title: "Timed", category: "Work", estimated_minutes: 30 });
    await settled(user);
    const now = Date.now();
    const first = focusCompleted(user.id, task.task_id, { minutes: 20, endedAt: now - 30 * MIN });
    const second = focusCompleted(user.id, task.task_id, { minutes: 15, endedAt: now - 5 * MIN });
    await deliver([first, taskCompleted(user.id, task.task_id, { estimate: 30, at: now })]);
    const day = localDateOf(now);
    expect(await storedSlice(user.id, day, "all")).toMatchObject({
      timed_tasks: 1,
      estimated_minutes: 30,
      actual_minutes: 20,
      on_time_tasks: 1,
    });
    // The second session ended before the completion, but the queue brings it after: 35 minutes, late.
    await deliver([second]);
    await deliver([second]);
    const late = { timed_tasks: 1, estimated_minutes: 30, actual_minutes: 35, on_time_tasks: 0 };
    expect(await storedSlice(user.id, day, "all")).toMatchObject(late);
    expect(await storedSlice(user.id, day, "category", "Work")).toMatchObject(late);
    expect((await timeTrackingOf(user)).tasks[0]).toMatchObject({ actual_minutes: 35, ratio: 1.17 });
  });
});
