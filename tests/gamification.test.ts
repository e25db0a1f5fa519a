import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { BADGES } from "../src/features/gamification/badges";
import { challengesFor } from "../src/features/gamification/challenges";
import { LEVEL_THRESHOLDS } from "../src/features/gamification/levels";
import type { BadgesDto, ChallengeDto, StreakDto } from "../src/features/gamification/schemas";
import { call, callJson, createUser, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { backdated, freezeClock, thawClock } from "./helpers/clock";
import { ledgerOf, profileOf } from "./helpers/gamification";
import { deliver, eventsOf, settle } from "./helpers/outbox";
import { completeStep, createTask, type Task } from "./helpers/tasks";

async function completeAll(user: TestUser, task: Task, body?: { completed_at: string }) {
  for (const step of task.micro_steps ?? []) await completeStep(user, task.task_id, step.step_id, body);
}

const DAY_MS = 86_400_000;

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
      tasks.flatMap((t) => (t.micro_steps ?? []).map((s) => completeStep(user, t.task_id, s.step_id))),
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

describe("completions that happen again", () => {
  it("count once: a step reopened and completed again pays, counts and progresses nothing more", async () => {
    const user = await createUser({ timezone: "UTC" });
    const task = await createTask(user, { title: "Flip-flop", micro_steps: steps(2) });
    const step = task.micro_steps?.[0]?.step_id;
    const complete = () => completeStep(user, task.task_id, step);
    const reopen = () =>
      callJson(`/api/v1/tasks/${task.task_id}/steps/${step}`, 200, {
        method: "PATCH",
        token: user.token,
        body: { status: "pending" },
      });
    await complete();
    await settle(user.id);
    const snapshot = async () => ({
      ledger: await ledgerOf(user),
      stats: await env.DB.prepare("SELECT steps_completed FROM gamification_stats WHERE user_id = ?")
        .bind(user.id)
        .first(),
      days: (
        await env.DB.prepare("SELECT day, steps FROM activity_days WHERE user_id = ?").bind(user.id).all()
      ).results,
      challenges: (
        await env.DB.prepare(
          "SELECT challenge_id, progress FROM challenge_progress WHERE user_id = ? ORDER BY challenge_id",
        )
          .bind(user.id)
          .all()
      ).results,
    });
    const before = await snapshot();
    expect(before.stats).toEqual({ steps_completed: 1 });
    for (let i = 0; i < 3; i++) {
      await reopen();
      await complete();
    }
    await settle(user.id);
    expect(await eventsOf(user.id, "step.completed")).toHaveLength(4);
    expect(await snapshot()).toEqual(before);
  });

  it("pays a challenge once when its last steps arrive in concurrent deliveries", async () => {
    const user = await createUser({ timezone: "UTC" });
    const date = new Date().toISOString().slice(0, 10);
    const challenge = challengesFor(date).find((c) => c.metric === "steps" || c.metric === "tasks");
    // Not every date has a steps or tasks challenge: then there is nothing to race for.
    if (!challenge) return;
    const units = challenge.target + 1;
    const tasks = await Promise.all(
      Array.from({ length: units }, (_, i) => createTask(user, { title: `c${i}`, micro_steps: steps(1) })),
    );
    for (const t of tasks.slice(0, units - 2)) {
      await completeStep(user, t.task_id, t.micro_steps?.[0]?.step_id);
    }
    await settle(user.id);
    const last = tasks.slice(units - 2);
    for (const t of last) {
      await completeStep(user, t.task_id, t.micro_steps?.[0]?.step_id);
    }
    const pending = (await eventsOf(user.id)).filter((e) =>
      last.some((t) => "task_id" in e.data && t.task_id === e.data.task_id),
    );
    // Each delivery reads progress before the other's statements: neither sees the target reached.
    await Promise.all(pending.map((e) => deliver([e])));
    await settle(user.id);
    const paid = (await ledgerOf(user)).filter((r) => r.source_key === `challenge:${challenge.challenge_id}`);
    expect(paid).toHaveLength(1);
    const done = await eventsOf(user.id, "challenge.completed");
    expect(done.filter((e) => e.data.challenge_id === challenge.challenge_id)).toHaveLength(1);
  });

  it("refuses a completion dated before its step was created with 422", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "New", micro_steps: steps(1) });
    const res = await call(`/api/v1/tasks/${task.task_id}/steps/${task.micro_steps?.[0]?.step_id}/complete`, {
      method: "POST",
      token: user.token,
      body: { completed_at: new Date(Date.now() - 2 * 86_400_000).toISOString() },
    });
    expect(res.status).toBe(422);
    expect(await res.text()).toContain("before the step was created");
  });
});

describe("badges", () => {
  it("unlocks a badge once, with one achievement.unlocked event, and shows progress to the next tier", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Ten", micro_steps: steps(10) });
    await completeAll(user, task);
    await settle(user.id);
    const again = await eventsOf(user.id, "step.completed");
    await deliver(again);
    await settle(user.id);
    const unlocked = await eventsOf(user.id, "achievement.unlocked");
    expect(unlocked.filter((e) => e.data.badge_id === "steps_bronze")).toHaveLength(1);
    const body = await callJson<BadgesDto>("/api/v1/gamification/badges", 200, { token: user.token });
    expect(body.badges.length).toBeGreaterThanOrEqual(20);
    expect(body.badges.find((b) => b.id === "steps_bronze")?.unlocked_at).not.toBeNull();
    expect(body.badges.find((b) => b.id === "steps_silver")?.unlocked_at).toBeNull();
    expect(body.progress.find((p) => p.family === "steps")).toMatchObject({
      value: 10,
      tier: "bronze",
      next: { remaining: 90 },
    });
    expect((await profileOf(user)).badges_unlocked).toBe(unlocked.length);
  });
});

describe("streaks", () => {
  const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000 - 60_000).toISOString();

  it("counts the user's local days, and a late sync of a missed day repairs the streak", async () => {
    const user = await createUser({ timezone: "UTC" });
    // Steps made five days ago (a late completion cannot predate its step), done on different days.
    const tasks = await backdated(5 * DAY_MS, () =>
      Promise.all([0, 1, 2, 3].map((d) => createTask(user, { title: `day ${d}`, micro_steps: steps(1) }))),
    );
    /** One step of its own, completed `days` ago. */
    const doneDaysAgo = async (days: number) => {
      const task = tasks[days] as Task;
      await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id, { completed_at: daysAgo(days) });
    };
    // Today, yesterday and three days ago: the day before yesterday is missing.
    for (const days of [0, 1, 3]) await doneDaysAgo(days);
    await settle(user.id);
    expect((await profileOf(user)).streak).toMatchObject({ current_days: 2, longest_days: 2 });
    // The missing day arrives late (an app that was offline).
    await doneDaysAgo(2);
    await settle(user.id);
    const streak = await callJson<StreakDto>("/api/v1/gamification/enhanced/streak", 200, {
      token: user.token,
    });
    expect(streak).toMatchObject({ current_days: 4, longest_days: 4, at_risk: false, timezone: "UTC" });
    // Three days in a row unlocked the bronze streak badge.
    expect((await eventsOf(user.id, "achievement.unlocked")).map((e) => e.data.badge_id)).toContain(
      "streak_bronze",
    );
  });
});

describe("daily challenges", () => {
  it("pays a completed challenge once, on the user's local day", async () => {
    const user = await createUser({ timezone: "UTC" });
    // A recent date whose challenges include "complete N steps" (challenges are fixed per date).
    const offsets = [0, 1, 2, 3, 4, 5, 6];
    const pick = offsets
      .map((n) => ({ n, date: new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10) }))
      .map(({ n, date }) => ({ n, date, steps: challengesFor(date).find((c) => c.metric === "steps") }))
      .find((d) => d.steps);
    if (!pick?.steps) throw new Error("no steps challenge in the last week");
    const noon = `${pick.date}T12:00:00.000Z`;
    const at = Date.parse(noon) > Date.now() ? new Date(Date.now() - 60_000).toISOString() : noon;
    const target = pick.steps.target;
    const task = await backdated(7 * DAY_MS, () =>
      createTask(user, { title: "Grind", micro_steps: steps(target) }),
    );
    const extra = await backdated(7 * DAY_MS, () =>
      createTask(user, { title: "One more", micro_steps: steps(1) }),
    );
    for (const step of task.micro_steps ?? []) {
      await completeStep(user, task.task_id, step.step_id, { completed_at: at });
    }
    await settle(user.id);
    const list = await callJson<ChallengeDto[]>(
      `/api/v1/gamification/enhanced/challenges?date=${pick.date}`,
      200,
      { token: user.token },
    );
    expect(list).toHaveLength(3);
    expect(list.find((c) => c.challenge_id === pick.steps?.challenge_id)).toMatchObject({
      progress: pick.steps.target,
      completed: true,
      xp: pick.steps.xp,
    });
    // One more step: no second payment.
    await completeStep(user, extra.task_id, extra.micro_steps?.[0]?.step_id, { completed_at: at });
    await settle(user.id);
    const paid = (await ledgerOf(user)).filter(
      (r) => r.source_key === `challenge:${pick.steps?.challenge_id}`,
    );
    expect(paid).toEqual([
      { source: "challenge", source_key: `challenge:${pick.steps.challenge_id}`, amount: pick.steps.xp },
    ]);
    const done = await eventsOf(user.id, "challenge.completed");
    expect(done.filter((e) => e.data.challenge_id === pick.steps?.challenge_id)).toHaveLength(1);
  });

  it("come from the date alone: what the list shows is what pays, and no stored copy can disagree", async () => {
    const user = await createUser({ timezone: "UTC" });
    const today = new Date().toISOString().slice(0, 10);
    const farAhead = new Date(Date.now() + 40 * DAY_MS).toISOString().slice(0, 10);
    for (const date of [today, farAhead]) {
      const list = await callJson<ChallengeDto[]>(
        `/api/v1/gamification/enhanced/challenges?date=${date}`,
        200,
        { token: user.token },
      );
      expect(
        list.map(({ challenge_id, title, target, xp }) => ({ challenge_id, title, target, xp })),
      ).toEqual(
        challengesFor(date).map(({ challenge_id, title, target, xp }) => ({
          challenge_id,
          title,
          target,
          xp,
        })),
      );
    }
    // One source of truth: no table of challenges written by a job (and read instead, when present).
    const table = await env.DB.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'daily_challenges'",
    ).first();
    expect(table).toBeNull();
  });
});

describe("focus sessions", () => {
  it("pay XP when completed, by the minutes worked; a session stopped at once earns nothing", async () => {
    const user = await createUser();
    const { token } = await createApiToken(user.token, {
      name: "focus",
      scopes: ["focus:read", "focus:write", "gamification:read"],
    });
    const start = () =>
      callJson("/api/v1/focus/enhanced/start", 201, {
        token,
        body: { kind: "custom", duration_minutes: 30 },
      });
    const finish = () =>
      callJson("/api/v1/focus/enhanced/finish", 200, { method: "POST", token, body: { take_break: false } });
    await start();
    await finish();
    const clock = freezeClock();
    await start();
    clock.tick(12 * 60_000);
    await finish();
    thawClock();
    await settle(user.id);
    const rows = (await ledgerOf(user)).filter((r) => r.source === "focus");
    // The first (0 minutes) earned nothing; the second: 5 for finishing + 1 per 2 minutes.
    expect(rows.map((r) => r.amount)).toEqual([11]);
    const stats = await env.DB.prepare("SELECT focus_sessions FROM gamification_stats WHERE user_id = ?")
      .bind(user.id)
      .first();
    expect(stats).toEqual({ focus_sessions: 1 });
  });
});

describe("seeded definitions", () => {
  it("has D1's badges and level curve equal to the code's", async () => {
    const badges = await env.DB.prepare("SELECT * FROM badges ORDER BY rowid").all();
    expect(badges.results).toEqual(BADGES.map((b) => ({ ...b })));
    const levels = await env.DB.prepare("SELECT level, min_xp FROM xp_levels ORDER BY level").all<{
      level: number;
      min_xp: number;
    }>();
    expect(levels.results.map((r) => r.min_xp)).toEqual([...LEVEL_THRESHOLDS]);
  });
});
