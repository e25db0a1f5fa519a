import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { DEFAULT_SETTINGS } from "../src/features/focus/kinds";
import { settingsUpsert } from "../src/features/focus/queries";
import type { FocusAnalyticsDto, FocusKindDto } from "../src/features/focus/schemas";
import { addDays } from "../src/lib/time";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock, localDateOf, nextLocal } from "./helpers/clock";
import { registerAgent } from "./helpers/delegation";
import {
  type FocusSession,
  type FocusState,
  focusAction,
  focusStateOf,
  sessionsOf,
  startFocus,
  userWithApiToken,
} from "./helpers/focus";
import { eventsOf } from "./helpers/outbox";
import { createTask } from "./helpers/tasks";

const MIN = 60_000;

async function eventTypesOf(user: TestUser): Promise<string[]> {
  return (await eventsOf(user.id)).map((e) => e.type);
}

describe("starting a session", () => {
  it("starts a pomodoro and answers the same live state on both APIs", async () => {
    const user = await createUser();
    const started = await startFocus(user);
    expect(started).toMatchObject({ phase: "work", status: "running", seq: 1, next_break: "short" });
    expect(started.session).toMatchObject({ kind: "pomodoro", planned_minutes: 25, remaining_seconds: 1500 });
    const enhanced = await focusStateOf(user);
    const basic = await callJson<FocusState>("/api/v1/focus/current", 200, { token: user.token });
    expect(enhanced.session?.session_id).toBe(started.session?.session_id);
    expect(basic.session?.session_id).toBe(started.session?.session_id);
    expect(basic.seq).toBe(1);
  });

  it("starts on the basic path with no body as a default pomodoro", async () => {
    const user = await createUser();
    const res = await call("/api/v1/focus/sessions", { method: "POST", token: user.token });
    expect(res.status).toBe(201);
    expect((await res.json<FocusState>()).session).toMatchObject({ kind: "pomodoro", planned_minutes: 25 });
  });

  it("takes kinds in any letter case and each kind's own length", async () => {
    const user = await createUser();
    const deep = await startFocus(user, { kind: "DEEP_WORK", duration_minutes: 75 });
    expect(deep.session).toMatchObject({ kind: "deep_work", planned_minutes: 75 });
    await focusAction(user, "abandon");
    const flow = await startFocus(user, { kind: "flowtime" });
    expect(flow.session).toMatchObject({ kind: "flowtime", planned_minutes: null, ends_at: null });
  });

  it("starts on one of the user's steps, taking its task from it", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Write report", micro_steps: [{ description: "Outline" }] });
    const stepId = task.micro_steps?.[0]?.step_id ?? "";
    const state = await startFocus(user, { kind: "short_burst", step_id: stepId });
    expect(state.session).toMatchObject({ task_id: task.task_id, step_id: stepId, planned_minutes: 15 });
  });

  it("answers 404 for another user's task or step, exactly as for a missing one, and starts nothing", async () => {
    const owner = await createUser();
    const task = await createTask(owner, { title: "Private", micro_steps: [{ description: "Secret step" }] });
    const user = await createUser();
    for (const body of [
      { task_id: task.task_id },
      { step_id: task.micro_steps?.[0]?.step_id },
      { task_id: crypto.randomUUID() },
    ]) {
      const res = await call("/api/v1/focus/enhanced/start", { token: user.token, body });
      expect(res.status).toBe(404);
      const problem = await problemOf(res);
      expect(problem.code).toBe("not_found");
      expect(JSON.stringify(problem)).not.toContain("Secret");
    }
    expect((await focusStateOf(user)).phase).toBe("idle");
  });

  it("answers 404 for a step that is not in the named task", async () => {
    const user = await createUser();
    const a = await createTask(user, { title: "A", micro_steps: [{ description: "a1" }] });
    const b = await createTask(user, { title: "B" });
    const res = await call("/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { task_id: b.task_id, step_id: a.micro_steps?.[0]?.step_id },
    });
    expect(res.status).toBe(404);
    expect((await problemOf(res)).detail).toBe("Step was not found.");
  });

  it("refuses a second start with 409 and keeps the first session", async () => {
    const user = await createUser();
    const first = await startFocus(user);
    const res = await call("/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { kind: "custom", duration_minutes: 10 },
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("focus_session_active");
    expect((await focusStateOf(user)).session?.session_id).toBe(first.session?.session_id);
  });

  it.each([
    [{ kind: "nap" }, "kind"],
    [{ kind: "custom" }, "duration_minutes"],
    [{ kind: "custom", duration_minutes: 120 }, "duration_minutes"],
    [{ kind: "deep_work", duration_minutes: 30 }, "duration_minutes"],
    [{ kind: "flowtime", duration_minutes: 30 }, "duration_minutes"],
    [{ duration_minutes: "25" }, "duration_minutes"],
  ])("refuses %j with 422 naming %s", async (body, field) => {
    const user = await createUser();
    const res = await call("/api/v1/focus/enhanced/start", { token: user.token, body });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
    expect((await focusStateOf(user)).phase).toBe("idle");
  });
});

describe("actions", () => {
  it("pauses, resumes, logs an interruption and extends, each answering the new state", async () => {
    const user = await createUser();
    await startFocus(user);
    expect(await focusAction(user, "pause")).toMatchObject({ status: "paused", seq: 2 });
    expect(await focusAction(user, "resume")).toMatchObject({ status: "running", seq: 3 });
    const interrupted = await focusAction(user, "interrupt", { note: "doorbell" });
    expect(interrupted.session).toMatchObject({ interruptions: 1, interruption_log: [{ note: "doorbell" }] });
    const extended = await focusAction(user, "extend", { minutes: 10 });
    expect(extended.session).toMatchObject({ planned_minutes: 35, extended_minutes: 10 });
  });

  it.each([
    ["pause", "no_focus_session"],
    ["resume", "no_focus_session"],
    ["finish", "no_focus_session"],
    ["abandon", "no_focus_session"],
    ["skip-break", "not_on_break"],
    ["extend", "no_focus_session"],
  ])("refuses %s with nothing running with 409 %s", async (action, code) => {
    const user = await createUser();
    const res = await call(`/api/v1/focus/enhanced/${action}`, {
      method: "POST",
      token: user.token,
      body: action === "extend" ? { minutes: 5 } : {},
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe(code);
    expect((await focusStateOf(user)).seq).toBe(0);
  });

  it("refuses to resume a running session and to extend flowtime with 409", async () => {
    const user = await createUser();
    await startFocus(user, { kind: "flowtime" });
    const resume = await call("/api/v1/focus/enhanced/resume", { method: "POST", token: user.token });
    expect(resume.status).toBe(409);
    expect((await problemOf(resume)).code).toBe("not_paused");
    const extend = await call("/api/v1/focus/enhanced/extend", { token: user.token, body: { minutes: 5 } });
    expect(extend.status).toBe(409);
    expect((await problemOf(extend)).code).toBe("open_ended");
  });

  it("refuses an action aimed at a session that is no longer current with 409", async () => {
    const user = await createUser();
    const first = await startFocus(user);
    await focusAction(user, "abandon");
    await startFocus(user);
    const res = await call("/api/v1/focus/enhanced/pause", {
      token: user.token,
      body: { session_id: first.session?.session_id },
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("session_mismatch");
    expect((await focusStateOf(user)).status).toBe("running");
  });

  it("validates action bodies with 422", async () => {
    const user = await createUser();
    await startFocus(user);
    for (const [action, body, field] of [
      ["extend", { minutes: 0 }, "minutes"],
      ["extend", {}, "minutes"],
      ["interrupt", { note: "x".repeat(501) }, "note"],
      ["finish", { take_break: "yes" }, "take_break"],
    ] as const) {
      const res = await call(`/api/v1/focus/enhanced/${action}`, { token: user.token, body });
      expect(res.status, action).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
    }
  });

  it("replays a retried start with the same Idempotency-Key instead of refusing it", async () => {
    const user = await createUser();
    const headers = { "idempotency-key": "start-once" };
    const first = await call("/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { kind: "pomodoro" },
      headers,
    });
    const retry = await call("/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { kind: "pomodoro" },
      headers,
    });
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("idempotent-replayed")).toBe("true");
    const [a, b] = [await first.json<FocusState>(), await retry.json<FocusState>()];
    expect(b).toEqual(a);
    expect((await focusStateOf(user)).seq).toBe(1);
    const other = await call("/api/v1/focus/enhanced/start", {
      token: user.token,
      body: { kind: "deep_work" },
      headers,
    });
    expect(other.status).toBe(422);
    expect((await problemOf(other)).code).toBe("idempotency_key_reused");
  });
});

describe("ending sessions", () => {
  it("writes a finished session to D1, answers it as last_session and starts the break", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Focus target" });
    const started = await startFocus(user, { kind: "custom", duration_minutes: 10, task_id: task.task_id });
    await focusAction(user, "interrupt", { note: "cat" });
    const finished = await focusAction(user, "finish");
    expect(finished).toMatchObject({
      phase: "break",
      break: { kind: "short", after_session_id: started.session?.session_id },
    });
    expect(finished.last_session).toMatchObject({
      session_id: started.session?.session_id,
      completed: true,
      end_reason: "finished",
      interruptions: 1,
      task_id: task.task_id,
    });
    const [stored] = await sessionsOf(user);
    expect(stored).toEqual(finished.last_session);
    expect(await eventTypesOf(user)).toEqual([
      "task.created",
      "focus.started",
      "focus.completed",
      "break.due",
    ]);
  });

  it("records an abandoned session as not completed, with a focus.abandoned event and no break", async () => {
    const user = await createUser();
    await startFocus(user);
    const state = await focusAction(user, "abandon");
    expect(state).toMatchObject({
      phase: "idle",
      break: null,
      last_session: { completed: false, end_reason: "abandoned" },
    });
    expect(await eventTypesOf(user)).toEqual(["focus.started", "focus.abandoned"]);
  });

  it("ends a session by id on the basic API, then answers 409 for it and 404 for an unknown id", async () => {
    const user = await createUser();
    const started = await callJson<FocusState>("/api/v1/focus/sessions", 201, {
      token: user.token,
      body: { kind: "short_burst" },
    });
    const id = started.session?.session_id ?? "";
    const ended = await callJson<FocusState>(`/api/v1/focus/sessions/${id}/end`, 200, {
      method: "POST",
      token: user.token,
      body: { completed: false },
    });
    expect(ended.last_session).toMatchObject({ session_id: id, completed: false });
    const again = await call(`/api/v1/focus/sessions/${id}/end`, { method: "POST", token: user.token });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).code).toBe("session_ended");
    const unknown = await call(`/api/v1/focus/sessions/${crypto.randomUUID()}/end`, {
      method: "POST",
      token: user.token,
    });
    expect(unknown.status).toBe(404);
    const record = await callJson<FocusSession>(`/api/v1/focus/sessions/${id}`, 200, { token: user.token });
    expect(record).toMatchObject({ session_id: id, kind: "short_burst", completed: false });
  });

  it("ends straight to idle when no break is wanted", async () => {
    const user = await createUser();
    await startFocus(user);
    const state = await focusAction(user, "finish", { take_break: false });
    expect(state).toMatchObject({ phase: "idle", last_session: { completed: true } });
  });

  it("skips a break", async () => {
    const user = await createUser();
    await startFocus(user);
    await focusAction(user, "finish");
    expect(await focusAction(user, "skip-break")).toMatchObject({ phase: "idle", break: null });
  });
});

describe("session history", () => {
  it("lists ended sessions newest first, filtered, a page at a time", async () => {
    const user = await createUser();
    const ids: string[] = [];
    for (const [kind, end] of [
      ["pomodoro", "finish"],
      ["short_burst", "abandon"],
      ["pomodoro", "abandon"],
      ["pomodoro", "finish"],
    ] as const) {
      const state = await startFocus(user, { kind });
      ids.push(state.session?.session_id ?? "");
      await focusAction(user, end, end === "finish" ? { take_break: false } : {});
    }
    const first = await call("/api/v1/focus/sessions?limit=3", { token: user.token });
    const page1 = await first.json<FocusSession[]>();
    expect(page1.map((s) => s.session_id)).toEqual([ids[3], ids[2], ids[1]]);
    const link = first.headers.get("link") ?? "";
    expect(link).toMatch(/rel="next"/);
    const next = /<([^>]+)>/.exec(link)?.[1] ?? "";
    expect(
      (await callJson<FocusSession[]>(next, 200, { token: user.token })).map((s) => s.session_id),
    ).toEqual([ids[0]]);
    expect((await sessionsOf(user, "?kind=pomodoro&completed=false")).map((s) => s.session_id)).toEqual([
      ids[2],
    ]);
    expect((await sessionsOf(user, "?kind=SHORT_BURST")).map((s) => s.session_id)).toEqual([ids[1]]);
  });

  it("answers 400 for a bad cursor and 404 for a session that is not the user's", async () => {
    const user = await createUser();
    expect((await call("/api/v1/focus/sessions?cursor=nonsense", { token: user.token })).status).toBe(400);
    expect((await call(`/api/v1/focus/sessions/${crypto.randomUUID()}`, { token: user.token })).status).toBe(
      404,
    );
  });
});

describe("settings and kinds", () => {
  it("answers the defaults, changes some, and the next pomodoro follows them", async () => {
    const user = await createUser();
    expect(await callJson("/api/v1/focus/enhanced/settings", 200, { token: user.token })).toEqual({
      pomodoro_work_minutes: 25,
      short_break_minutes: 5,
      long_break_minutes: 15,
      long_break_every: 4,
      deep_work_minutes: 50,
      short_burst_minutes: 15,
      flowtime_break_percent: 20,
    });
    const changed = await callJson<Record<string, number>>("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: user.token,
      body: { pomodoro_work_minutes: 50, short_break_minutes: 10 },
    });
    expect(changed).toMatchObject({
      pomodoro_work_minutes: 50,
      short_break_minutes: 10,
      long_break_minutes: 15,
    });
    const kinds = await callJson<FocusKindDto[]>("/api/v1/focus/enhanced/kinds", 200, { token: user.token });
    expect(kinds.find((k) => k.kind === "pomodoro")?.default_minutes).toBe(50);
    const started = await startFocus(user);
    expect(started.session?.planned_minutes).toBe(50);
    const finished = await focusAction(user, "finish");
    expect(finished.break?.planned_minutes).toBe(10);
  });

  it("keeps D1's copy of the settings in step with every change", async () => {
    const user = await createUser();
    for (const minutes of [30, 45]) {
      await callJson("/api/v1/focus/enhanced/settings", 200, {
        method: "PATCH",
        token: user.token,
        body: { pomodoro_work_minutes: minutes },
      });
    }
    const row = await env.DB.prepare(
      "SELECT pomodoro_work_minutes AS m, short_break_minutes AS b FROM focus_settings WHERE user_id = ?",
    )
      .bind(user.id)
      .first<{ m: number; b: number }>();
    expect(row).toEqual({ m: 45, b: 5 });
  });

  it("uses the settings D1 holds when the user's timer has none yet", async () => {
    const user = await createUser();
    const db = createDatabase(env.DB);
    await settingsUpsert(
      db,
      user.id,
      { ...DEFAULT_SETTINGS, deep_work_minutes: 60 },
      new Date().toISOString(),
    ).run();
    const started = await startFocus(user, { kind: "deep_work" });
    expect(started.session?.planned_minutes).toBe(60);
  });

  it.each([
    [{ pomodoro_work_minutes: 200 }, "pomodoro_work_minutes"],
    [{ long_break_every: 1 }, "long_break_every"],
    [{ naps: 3 }, ""],
  ])("refuses %j with 422", async (body, field) => {
    const user = await createUser();
    const res = await call("/api/v1/focus/enhanced/settings", { method: "PATCH", token: user.token, body });
    expect(res.status).toBe(422);
    if (field) expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });
});

describe("time passing", () => {
  it("reports the live time left, derived from the clock", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    await startFocus(user);
    clock.tick(10 * MIN + 30_000);
    expect((await focusStateOf(user)).session).toMatchObject({
      elapsed_seconds: 630,
      remaining_seconds: 870,
    });
  });

  it("records the session when its time is up even with nobody asking, and answers the break", async () => {
    const clock = freezeClock();
    const user = await userWithApiToken();
    const started = await startFocus(user);
    clock.tick(27 * MIN);
    const state = await focusStateOf(user);
    expect(state).toMatchObject({
      phase: "break",
      cycle: 1,
      last_session: { end_reason: "time_up", actual_seconds: 1500 },
    });
    expect(state.break?.remaining_seconds).toBe(3 * 60);
    expect((await sessionsOf(user)).map((s) => s.session_id)).toEqual([started.session?.session_id]);
  });
});

describe("analytics", () => {
  it("adds up the user's focus in their own time zone", async () => {
    // 9:00 in New York on a Wednesday.
    const NY = "America/New_York";
    const clock = freezeClock(nextLocal(NY, "09:00", { weekday: 3 }));
    const today = localDateOf(clock.now(), NY);
    const user = await userWithApiToken(NY);
    await startFocus(user);
    clock.tick(25 * MIN);
    await focusStateOf(user);
    await focusAction(user, "skip-break");
    await startFocus(user, { kind: "custom", duration_minutes: 20 });
    await focusAction(user, "interrupt");
    clock.tick(10 * MIN);
    await focusAction(user, "abandon");
    const analytics = await callJson<Record<string, unknown>>("/api/v1/focus/enhanced/analytics", 200, {
      token: user.token,
    });
    expect(analytics).toMatchObject({
      timezone: NY,
      range: { from: addDays(today, -29), to: today },
      today: { date: today, focus_minutes: 35, sessions: 2 },
      week: { starts_on: addDays(today, -2), focus_minutes: 35, sessions: 2 },
      totals: {
        sessions: 2,
        completed_sessions: 1,
        completion_rate: 0.5,
        interruptions: 1,
        average_minutes: 17.5,
      },
      best_hours: [{ hour: 9, focus_minutes: 35, sessions: 2 }],
      streak: { current_days: 1, longest_days: 1, last_focus_date: today },
    });
    const basic = await callJson(`/api/v1/focus/analytics?from=${today}&to=${today}`, 200, {
      token: user.token,
    });
    expect(basic).toMatchObject({ range: { from: today, to: today }, totals: { sessions: 2 } });
  });

  const today = localDateOf(Date.now());
  it.each([
    [`from=${today}&to=${addDays(today, -29)}`, "from"],
    [`from=${addDays(today, -800)}&to=${addDays(today, -30)}`, "from"],
    [`from=${addDays(today, -2000)}`, "from"],
    [`from=${addDays(today, 400)}`, "from"],
    [`from=${today.slice(0, 4)}-02-30`, "from"],
    ["to=9999-12-31", "to"],
    ["from=0099-01-01&to=0099-02-01", "from"],
    ["to=yesterday", "to"],
  ])("refuses ?%s with 422", async (query, field) => {
    const user = await createUser();
    const res = await call(`/api/v1/focus/analytics?${query}`, { token: user.token });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });
});

describe("analytics at the edges of the calendar", () => {
  it("answers a range far in the future with empty figures, not an error", async () => {
    const user = await createUser();
    const res = await callJson<FocusAnalyticsDto>("/api/v1/focus/analytics?to=9998-12-31", 200, {
      token: user.token,
    });
    expect(res).toMatchObject({ range: { from: "9998-12-02", to: "9998-12-31" }, totals: { sessions: 0 } });
  });
});

describe("credentials", () => {
  it("lets a read-only focus token read but not act (403)", async () => {
    const user = await createUser();
    const { token } = await createApiToken(user.token, { name: "watch", scopes: ["focus:read"] });
    expect((await call("/api/v1/focus/enhanced/state", { token })).status).toBe(200);
    const res = await call("/api/v1/focus/enhanced/start", { token, body: {} });
    expect(res.status).toBe(403);
    expect((await focusStateOf(user)).phase).toBe("idle");
  });

  it("keeps agents' own tokens out of focus (403)", async () => {
    const user = await createUser();
    const agent = await registerAgent(user);
    const res = await call("/api/v1/focus/enhanced/state", { token: agent.token });
    expect(res.status).toBe(403);
  });

  it("answers 401 without credentials", async () => {
    expect((await call("/api/v1/focus/current")).status).toBe(401);
  });
});
