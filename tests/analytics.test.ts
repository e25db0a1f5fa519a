import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import { addDays } from "../src/lib/time";
import {
  analyticsUser,
  dashboardOf,
  type EnergyCheckin,
  logEnergy,
  timelineOf,
  timeTrackingOf,
} from "./helpers/analytics";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { backdated, freezeClock, localDateOf, thawClock } from "./helpers/clock";
import { LOOKUP, tripsFor } from "./helpers/counting-d1";
import { delegate, registerAgent } from "./helpers/delegation";
import { openApiDocument } from "./helpers/openapi";
import { eventsOf, settle } from "./helpers/outbox";
import { completeStep, completeTask, createTask } from "./helpers/tasks";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

afterEach(() => thawClock());

async function settled(user: TestUser): Promise<void> {
  await settle(user.id);
  await settle(user.id);
}

/** The status, problem code and failing fields of a refused request. */
async function refused(path: string, user: TestUser, init: { method?: string; body?: unknown } = {}) {
  const res = await call(path, { token: user.token, ...init });
  const problem = await problemOf(res);
  return {
    status: res.status,
    code: problem.code,
    fields: [...new Set(problem.errors?.map((e) => e.field))],
  };
}

const nextPage = (res: Response) => /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;

describe("energy check-ins", () => {
  it("records a check-in in any letter case, with its event, at now by default", async () => {
    const user = await analyticsUser();
    const before = Date.now();
    const checkin = await logEnergy(user, { level: "Medium" });
    expect(checkin).toMatchObject({ level: "medium", checkin_id: expect.any(String) });
    expect(Date.parse(checkin.at)).toBeGreaterThanOrEqual(before - 1000);
    expect(checkin.created_at).toBe(checkin.at);
    const [event] = await eventsOf(user.id, "energy.logged");
    expect(event?.data).toEqual({ checkin_id: checkin.checkin_id, level: "medium", at: checkin.at });
  });

  it("takes a time it was felt, in any offset, up to a week back", async () => {
    const user = await analyticsUser();
    const twoHoursAgo = new Date(Date.now() - 2 * HOUR_MS);
    const withOffset = `${new Date(twoHoursAgo.getTime() + 2 * HOUR_MS).toISOString().slice(0, 19)}+02:00`;
    const checkin = await logEnergy(user, { level: "low", at: withOffset });
    expect(checkin.at).toBe(`${twoHoursAgo.toISOString().slice(0, 19)}.000Z`);
    expect(Date.parse(checkin.created_at)).toBeGreaterThan(Date.parse(checkin.at));
  });

  it("refuses a time too far ahead or back, and a level off the scale, naming the field", async () => {
    const user = await analyticsUser();
    const path = "/api/v1/analytics/energy";
    const ahead = new Date(Date.now() + 10 * 60_000).toISOString();
    const back = new Date(Date.now() - 8 * DAY_MS).toISOString();
    expect(await refused(path, user, { body: { level: "high", at: ahead } })).toEqual({
      status: 422,
      code: "validation_failed",
      fields: ["at"],
    });
    expect(await refused(path, user, { body: { level: "high", at: back } })).toMatchObject({
      status: 422,
      fields: ["at"],
    });
    expect(await refused(path, user, { body: { level: "sleepy" } })).toMatchObject({
      status: 422,
      fields: ["level"],
    });
    expect(await refused(path, user, { body: { level: "low", at: "yesterday" } })).toMatchObject({
      status: 422,
      fields: ["at"],
    });
  });

  it("replays the first answer for a repeated Idempotency-Key and stores one check-in", async () => {
    const user = await analyticsUser();
    const headers = { "idempotency-key": "energy-once" };
    const first = await logEnergy(user, { level: "high" }, headers);
    const res = await call("/api/v1/analytics/energy", {
      token: user.token,
      body: { level: "HIGH" },
      headers,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect((await res.json<EnergyCheckin>()).checkin_id).toBe(first.checkin_id);
    const other = await call("/api/v1/analytics/energy", {
      token: user.token,
      body: { level: "low" },
      headers,
    });
    expect(other.status).toBe(422);
    expect((await problemOf(other)).code).toBe("idempotency_key_reused");
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM energy_checkins WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(1);
    expect(await eventsOf(user.id, "energy.logged")).toHaveLength(1);
  });

  it("replays the first answer to an Idempotency-Key even once its `at` is more than a week old", async () => {
    const user = await analyticsUser();
    const headers = { "idempotency-key": "energy-late-retry" };
    const body = { level: "low", at: new Date(Date.now() - 6 * DAY_MS - 12 * HOUR_MS).toISOString() };
    const first = await logEnergy(user, body, headers);
    freezeClock(Date.now() + DAY_MS);
    const res = await call("/api/v1/analytics/energy", { token: user.token, body, headers });
    expect(res.status).toBe(201);
    expect(res.headers.get("idempotent-replayed")).toBe("true");
    expect(await res.json<EnergyCheckin>()).toEqual(first);
    // Without the key it is a new check-in, and now too old.
    expect(await refused("/api/v1/analytics/energy", user, { body })).toMatchObject({
      status: 422,
      fields: ["at"],
    });
  });

  it("lists your check-ins newest first by when they were felt, paged, within local days", async () => {
    const user = await analyticsUser("Pacific/Auckland");
    const hoursAgo = [50, 1, 26, 3];
    for (const h of hoursAgo) {
      await logEnergy(user, { level: "low", at: new Date(Date.now() - h * HOUR_MS).toISOString() });
    }
    const seen: string[] = [];
    let path: string | null = "/api/v1/analytics/energy?limit=3";
    let pages = 0;
    while (path) {
      const res = await call(path, { token: user.token });
      expect(res.status).toBe(200);
      seen.push(...(await res.json<EnergyCheckin[]>()).map((c) => c.at));
      path = nextPage(res);
      pages += 1;
    }
    expect(pages).toBe(2);
    expect(seen).toEqual([...seen].sort().reverse());
    expect(seen).toHaveLength(4);
    const today = localDateOf(Date.now(), "Pacific/Auckland");
    const todays = await callJson<EnergyCheckin[]>(
      `/api/v1/analytics/energy?from=${today}&to=${today}`,
      200,
      {
        token: user.token,
      },
    );
    expect(todays.every((c) => localDateOf(Date.parse(c.at), "Pacific/Auckland") === today)).toBe(true);
    expect(todays.length).toBeGreaterThan(0);
    expect(todays.length).toBeLessThan(4);
    expect(
      await refused(`/api/v1/analytics/energy?from=${today}&to=${addDays(today, -1)}`, user),
    ).toMatchObject({
      status: 422,
      fields: ["from"],
    });
    expect(await refused("/api/v1/analytics/energy?cursor=bm90LW91cnM", user)).toMatchObject({ status: 400 });
  });

  it("needs analytics:write to check in and analytics:read to read", async () => {
    const user = await createUser();
    const reader = await createApiToken(user.token, { name: "reader", scopes: ["analytics:read"] });
    const writing = await call("/api/v1/analytics/energy", { token: reader.token, body: { level: "low" } });
    expect(writing.status).toBe(403);
    await writing.body?.cancel();
    const other = await createApiToken(user.token, { name: "tasks", scopes: ["tasks:read"] });
    for (const path of ["dashboard", "timeline", "time-tracking", "energy"]) {
      const res = await call(`/api/v1/analytics/${path}`, { token: other.token });
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const read = await call("/api/v1/analytics/dashboard", { token: reader.token });
    expect(read.status).toBe(200);
    await read.body?.cancel();
  });
});

describe("the dashboard", () => {
  it("shows today, this week against the same days last week, the streak, rates and top categories", async () => {
    const user = await createUser();
    // A week ago today: the same weekday of last week, so inside last week's compared days.
    await backdated(7 * DAY_MS, () => createTask(user, { title: "Old", category: "Health" }));
    const work = await createTask(user, {
      title: "Report",
      category: "Work",
      micro_steps: [{ description: "a" }, { description: "b" }],
    });
    await createTask(user, { title: "Errand", category: "Personal" });
    await completeStep(user, work.task_id, work.micro_steps?.[0]?.step_id);
    await completeStep(user, work.task_id, work.micro_steps?.[1]?.step_id);
    await logEnergy(user, { level: "high" });
    await settled(user);

    const d = await dashboardOf(user);
    const today = localDateOf(Date.now());
    expect(d.timezone).toBe("UTC");
    expect(d.today).toMatchObject({
      date: today,
      tasks_created: 2,
      tasks_completed: 1,
      steps_completed: 2,
      energy_high: 1,
    });
    expect(d.today.xp).toBeGreaterThan(0);
    expect(d.this_week).toMatchObject({ to: today, tasks_created: 2, tasks_completed: 1 });
    expect(d.last_week).toMatchObject({
      from: addDays(d.this_week.from, -7),
      to: addDays(today, -7),
      tasks_created: 1,
    });
    expect(d.week_deltas).toMatchObject({ tasks_created: 1, tasks_completed: 1, steps_completed: 2 });
    expect(d.completion_rates).toEqual({
      tasks: { completed: 1, created: 2, rate: 0.5 },
      focus_sessions: { completed: 0, ended: 0, rate: null },
    });
    expect(d.top_categories).toEqual([{ category: "Work", steps_completed: 2, tasks_completed: 1 }]);
    const streak = await callJson("/api/v1/gamification/enhanced/streak", 200, { token: user.token });
    expect(d.streak).toEqual(streak);
    expect(d.streak.current_days).toBe(1);
  });

  it("counts today's work on the user's own today, in the zones furthest from UTC", async () => {
    // Frozen: a local midnight passing between the write and the read would move "today".
    freezeClock();
    for (const zone of ["Pacific/Kiritimati", "Pacific/Pago_Pago"]) {
      const user = await analyticsUser(zone);
      await createTask(user, { title: "Made just now" });
      await settle(user.id);
      const d = await dashboardOf(user);
      expect(d.today).toMatchObject({ date: localDateOf(Date.now(), zone), tasks_created: 1 });
      expect(d.this_week.tasks_created).toBe(1);
    }
  });

  it("answers a new user with zeros, in one round trip (the streak and the rollups in one batch)", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const d = await dashboardOf(user);
    expect(d.timezone).toBe("Europe/Berlin");
    expect(d.today.tasks_created).toBe(0);
    expect(d.top_categories).toEqual([]);
    expect(await tripsFor("/api/v1/analytics/dashboard", { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });
});

describe("the timeline", () => {
  it("buckets the last 30 days by default, empty days included", async () => {
    const user = await createUser();
    await backdated(3 * DAY_MS, () => createTask(user, { title: "Three days ago" }));
    await createTask(user, { title: "Today" });
    await settled(user);
    const today = localDateOf(Date.now());
    const t = await timelineOf(user);
    expect(t).toMatchObject({ from: addDays(today, -29), to: today, bucket: "day", timezone: "UTC" });
    expect(t.buckets).toHaveLength(30);
    const created = Object.fromEntries(t.buckets.map((b) => [b.starts_on, b.tasks_created]));
    expect(created[today]).toBe(1);
    expect(created[addDays(today, -3)]).toBe(1);
    expect(t.buckets.reduce((sum, b) => sum + b.tasks_created, 0)).toBe(2);
    expect(t.buckets[0]).toMatchObject({ focus_minutes: 0, xp: 0 });
  });

  it("buckets by week from Monday and by month, clipped to the range", async () => {
    const user = await createUser();
    await createTask(user, { title: "Now" });
    await settled(user);
    const today = localDateOf(Date.now());
    const from = addDays(today, -20);
    const weeks = await timelineOf(user, `?from=${from}&to=${today}&bucket=WEEK`);
    expect(weeks.bucket).toBe("week");
    expect(weeks.buckets[0]?.from).toBe(from);
    expect(weeks.buckets.at(-1)?.to).toBe(today);
    for (const b of weeks.buckets) expect(new Date(`${b.starts_on}T00:00:00Z`).getUTCDay()).toBe(1);
    expect(weeks.buckets.reduce((sum, b) => sum + b.tasks_created, 0)).toBe(1);
    const months = await timelineOf(user, `?from=${addDays(today, -70)}&to=${today}&bucket=month`);
    expect(months.buckets.length).toBeGreaterThanOrEqual(3);
    expect(months.buckets.every((b) => b.starts_on.endsWith("-01"))).toBe(true);
    expect(months.buckets.at(-1)?.tasks_created).toBe(1);
  });

  it("refuses an inverted or over-long range and an unknown bucket, naming the field", async () => {
    const user = await createUser();
    const today = localDateOf(Date.now());
    const base = "/api/v1/analytics/timeline";
    expect(await refused(`${base}?from=${today}&to=${addDays(today, -1)}`, user)).toEqual({
      status: 422,
      code: "validation_failed",
      fields: ["from"],
    });
    expect(await refused(`${base}?from=${addDays(today, -400)}&to=${today}`, user)).toMatchObject({
      status: 422,
      fields: ["from"],
    });
    expect((await timelineOf(user, `?from=${addDays(today, -399)}&to=${today}`)).buckets).toHaveLength(400);
    expect(await refused(`${base}?bucket=year`, user)).toMatchObject({ status: 422, fields: ["bucket"] });
    expect(await refused(`${base}?from=someday`, user)).toMatchObject({ status: 422, fields: ["from"] });
  });

  it("reads in one round trip (the zone and the widest days any zone could need, in one batch)", async () => {
    const user = await createUser();
    expect(await tripsFor("/api/v1/analytics/timeline?bucket=week", { token: user.token })).toEqual({
      status: 200,
      trips: 1 + LOOKUP,
    });
  });

  it("keeps exactly the user's own days at the edges, in the zones furthest from UTC", async () => {
    freezeClock();
    for (const zone of ["Pacific/Kiritimati", "Pacific/Pago_Pago"]) {
      const user = await analyticsUser(zone);
      await backdated(7 * DAY_MS, () => createTask(user, { title: "A week ago" }));
      await createTask(user, { title: "Today" });
      await settle(user.id);
      const today = localDateOf(Date.now(), zone);
      const week = await timelineOf(user, `?from=${addDays(today, -6)}`);
      expect(week.buckets).toHaveLength(7);
      expect(week.buckets.map((b) => b.tasks_created)).toEqual([0, 0, 0, 0, 0, 0, 1]);
      const defaulted = await timelineOf(user);
      expect(defaulted.to).toBe(today);
      expect(defaulted.buckets.reduce((n, b) => n + b.tasks_created, 0)).toBe(2);
      // Weeks and months are summed in SQL, their edge days kept by the zone: the same as the days.
      for (const bucket of ["week", "month"]) {
        for (const query of [`?bucket=${bucket}`, `?bucket=${bucket}&from=${addDays(today, -6)}`]) {
          const summed = await timelineOf(user, query);
          const days = await timelineOf(user, query.replace(bucket, "day"));
          expect(summed.from).toBe(days.from);
          expect(summed.to).toBe(days.to);
          for (const b of summed.buckets) {
            const inside = days.buckets.filter((d) => d.from >= b.from && d.to <= b.to);
            expect(b.tasks_created).toBe(inside.reduce((n, d) => n + d.tasks_created, 0));
            expect(b.xp).toBe(inside.reduce((n, d) => n + d.xp, 0));
          }
          expect(summed.buckets.reduce((n, b) => n + b.tasks_created, 0)).toBe(
            days.buckets.reduce((n, d) => n + d.tasks_created, 0),
          );
        }
      }
    }
  });
});

describe("time tracking", () => {
  async function timedHistory() {
    const user = await createUser();
    // Reported by the user: 45 minutes against 30 estimated (late).
    const report = await createTask(user, { title: "Report", category: "Work", estimated_minutes: 30 });
    await callJson(`/api/v1/tasks/${report.task_id}`, 200, {
      method: "PATCH",
      token: user.token,
      body: { actual_minutes: 45 },
    });
    await completeTask(user, report.task_id);
    // Reported by the agent that did it: 10 minutes against 20 (on time).
    const agent = await registerAgent(user);
    const delegated = await createTask(user, {
      title: "Delegated",
      category: "Personal",
      estimated_minutes: 20,
    });
    const { assignment } = await delegate(user, { task_id: delegated.task_id, delegation_mode: "DELEGATE" });
    const id = assignment?.assignment_id;
    for (const [verb, body] of [["accept"], ["start"], ["complete", { actual_minutes: 10 }]] as const) {
      await callJson(`/api/v1/delegation/assignments/${id}/${verb}`, 200, {
        method: "POST",
        token: agent.token ?? "",
        ...(body ? { body } : {}),
      });
    }
    // No estimate: listed, but not timed.
    const loose = await createTask(user, {
      title: "Loose",
      micro_steps: [{ description: "a", estimated_minutes: 4 }],
    });
    await completeStep(user, loose.task_id, loose.micro_steps?.[0]?.step_id);
    await settled(user);
    return { user, report, delegated, loose };
  }

  it("compares estimated with actual minutes in total, by category and by task", async () => {
    const { user, report, delegated, loose } = await timedHistory();
    const t = await timeTrackingOf(user);
    expect(t.totals).toEqual({
      timed_tasks: 2,
      estimated_minutes: 50,
      actual_minutes: 55,
      ratio: 1.1,
      on_time_share: 0.5,
    });
    expect(t.by_category).toEqual([
      {
        category: "Work",
        timed_tasks: 1,
        estimated_minutes: 30,
        actual_minutes: 45,
        ratio: 1.5,
        on_time_share: 0,
      },
      {
        category: "Personal",
        timed_tasks: 1,
        estimated_minutes: 20,
        actual_minutes: 10,
        ratio: 0.5,
        on_time_share: 1,
      },
    ]);
    expect(t.tasks.map((x) => x.task_id)).toEqual([loose.task_id, delegated.task_id, report.task_id]);
    expect(t.tasks[0]).toMatchObject({
      title: "Loose",
      estimated_minutes: null,
      steps_completed: 1,
      step_estimated_minutes: 4,
      actual_minutes: null,
      actual_source: null,
      ratio: null,
    });
    expect(t.tasks[1]).toMatchObject({
      title: "Delegated",
      reported_minutes: 10,
      actual_minutes: 10,
      actual_source: "reported",
      ratio: 0.5,
    });
    expect(t.tasks[2]).toMatchObject({ title: "Report", category: "Work", actual_minutes: 45, ratio: 1.5 });
  });

  it("pages the tasks, filters one of yours, and answers another user's task as missing", async () => {
    const { user, report } = await timedHistory();
    const first = await call("/api/v1/analytics/time-tracking?limit=2", { token: user.token });
    expect(first.status).toBe(200);
    expect((await first.json<{ tasks: unknown[] }>()).tasks).toHaveLength(2);
    const next = nextPage(first);
    expect(next).toContain("cursor=");
    const second = await callJson<{ tasks: { task_id: string }[] }>(next ?? "", 200, { token: user.token });
    expect(second.tasks.map((x) => x.task_id)).toEqual([report.task_id]);
    const one = await timeTrackingOf(user, `?task_id=${report.task_id}`);
    expect(one.tasks.map((x) => x.task_id)).toEqual([report.task_id]);
    const stranger = await createUser();
    expect(
      await refused(`/api/v1/analytics/time-tracking?task_id=${report.task_id}`, stranger),
    ).toMatchObject({
      status: 404,
      code: "not_found",
    });
    expect(await refused("/api/v1/analytics/time-tracking?cursor=bm9wZQ", user)).toMatchObject({
      status: 400,
    });
    const today = localDateOf(Date.now());
    expect(
      await refused(`/api/v1/analytics/time-tracking?from=${addDays(today, 1)}&to=${today}`, user),
    ).toMatchObject({ status: 422, fields: ["from"] });
    // Yesterday and before: nothing was completed then.
    const before = await timeTrackingOf(user, `?to=${addDays(today, -1)}`);
    expect(before.tasks).toEqual([]);
    expect(before.totals.timed_tasks).toBe(0);
  });

  it("answers one task's own totals for task_id, however long ago it was completed", async () => {
    const { user, report, loose } = await timedHistory();
    const one = await timeTrackingOf(user, `?task_id=${report.task_id}`);
    const reportTimes = {
      timed_tasks: 1,
      estimated_minutes: 30,
      actual_minutes: 45,
      ratio: 1.5,
      on_time_share: 0,
    };
    expect(one.totals).toEqual(reportTimes);
    expect(one.by_category).toEqual([{ category: "Work", ...reportTimes }]);
    expect(one.tasks.map((x) => x.task_id)).toEqual([report.task_id]);
    // One task is one page: a cursor from elsewhere neither hides it nor empties its totals.
    const cursor = btoa(`${new Date().toISOString()}~${report.task_id}`)
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "");
    const again = await timeTrackingOf(user, `?task_id=${report.task_id}&cursor=${cursor}`);
    expect(again.totals).toEqual(reportTimes);
    const untimed = await timeTrackingOf(user, `?task_id=${loose.task_id}`);
    expect(untimed.totals).toMatchObject({ timed_tasks: 0, estimated_minutes: 0, actual_minutes: 0 });
    expect(untimed.by_category).toEqual([]);
    // Completed 40 days ago: outside the default 30 days, found by its id.
    const old = await backdated(40 * DAY_MS, async () => {
      const task = await createTask(user, { title: "Long ago", category: "Health", estimated_minutes: 10 });
      await callJson(`/api/v1/tasks/${task.task_id}`, 200, {
        method: "PATCH",
        token: user.token,
        body: { actual_minutes: 8 },
      });
      await completeTask(user, task.task_id);
      return task;
    });
    await settled(user);
    expect((await timeTrackingOf(user)).tasks.map((x) => x.task_id)).not.toContain(old.task_id);
    const found = await timeTrackingOf(user, `?task_id=${old.task_id}`);
    const today = localDateOf(Date.now());
    expect(found).toMatchObject({ from: localDateOf(Date.now() - 40 * DAY_MS), to: today });
    expect(found.tasks.map((x) => [x.task_id, x.actual_minutes])).toEqual([[old.task_id, 8]]);
    const oldTimes = {
      timed_tasks: 1,
      estimated_minutes: 10,
      actual_minutes: 8,
      ratio: 0.8,
      on_time_share: 1,
    };
    expect(found.totals).toEqual(oldTimes);
    expect(found.by_category).toEqual([{ category: "Health", ...oldTimes }]);
    // Bounds that are given still apply.
    const outside = await timeTrackingOf(user, `?task_id=${old.task_id}&from=${addDays(today, -7)}`);
    expect(outside.tasks).toEqual([]);
    expect(outside.totals.timed_tasks).toBe(0);
  });

  it("leaves deleted tasks out, and answers a deleted task_id as missing", async () => {
    const { user, report, delegated, loose } = await timedHistory();
    const res = await call(`/api/v1/tasks/${report.task_id}`, { method: "DELETE", token: user.token });
    expect(res.status).toBe(204);
    const t = await timeTrackingOf(user);
    expect(t.tasks.map((x) => x.task_id)).toEqual([loose.task_id, delegated.task_id]);
    expect(await refused(`/api/v1/analytics/time-tracking?task_id=${report.task_id}`, user)).toMatchObject({
      status: 404,
      code: "not_found",
    });
  });

  it("shows actual minutes changed after completion on the task; the day counters keep the completion's", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Fixed later", category: "Work", estimated_minutes: 30 });
    const patch = (minutes: number) =>
      callJson(`/api/v1/tasks/${task.task_id}`, 200, {
        method: "PATCH",
        token: user.token,
        body: { actual_minutes: minutes },
      });
    await patch(45);
    await completeTask(user, task.task_id);
    await settled(user);
    await patch(20);
    const t = await timeTrackingOf(user);
    expect(t.tasks[0]).toMatchObject({
      reported_minutes: 20,
      actual_minutes: 20,
      actual_source: "reported",
      ratio: 0.67,
    });
    expect((await timeTrackingOf(user, `?task_id=${task.task_id}`)).totals).toMatchObject({
      actual_minutes: 20,
      on_time_share: 1,
    });
    // No event carries the change: the rollups keep the minutes the completion reported.
    expect(t.totals).toMatchObject({ timed_tasks: 1, actual_minutes: 45 });
  });

  it("reads in two round trips, with a task filter too", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Mine" });
    expect(await tripsFor("/api/v1/analytics/time-tracking", { token: user.token })).toEqual({
      status: 200,
      trips: 2 + LOOKUP,
    });
    expect(
      await tripsFor(`/api/v1/analytics/time-tracking?task_id=${task.task_id}`, { token: user.token }),
    ).toEqual({ status: 200, trips: 2 + LOOKUP });
  });
});

describe("analytics belong to their user", () => {
  it("shows another user none of your check-ins, counters or tasks", async () => {
    const { user } = await (async () => {
      const owner = await createUser();
      const task = await createTask(owner, { title: "Private", estimated_minutes: 5 });
      await completeTask(owner, task.task_id);
      await logEnergy(owner, { level: "low" });
      await settled(owner);
      return { user: owner };
    })();
    expect((await dashboardOf(user)).today.tasks_completed).toBe(1);
    const other = await createUser();
    const d = await dashboardOf(other);
    expect(d.today).toMatchObject({ tasks_created: 0, tasks_completed: 0, energy_low: 0, xp: 0 });
    expect((await timelineOf(other)).buckets.every((b) => b.tasks_created === 0)).toBe(true);
    expect((await timeTrackingOf(other)).tasks).toEqual([]);
    expect(await callJson("/api/v1/analytics/energy", 200, { token: other.token })).toEqual([]);
  });

  it("are listed in the OpenAPI document", async () => {
    const doc = await openApiDocument();
    expect(Object.keys(doc.paths["/api/v1/analytics/energy"] ?? {}).sort()).toEqual(["get", "post"]);
    for (const path of ["dashboard", "timeline", "time-tracking"]) {
      expect(doc.paths[`/api/v1/analytics/${path}`]?.get, path).toBeDefined();
    }
  });
});
