import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  difficultyFromProfile,
  energyFromProfile,
  workWindow,
} from "../src/features/compat/onboarding-defaults";
import type { OnboardingDto } from "../src/features/compat/onboarding-schemas";
import { isLegacySplit } from "../src/features/compat/split";
import { localClock } from "../src/lib/time";
import { createUser, problemOf, type TestUser } from "./helpers/api";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { type Split, splitTask } from "./helpers/splitting";
import { createTask, getTask } from "./helpers/tasks";

/** The mobile app's onboarding URL: `${API_BASE_URL}/api/v1/users/…` on a base ending in /api/v1. */
const appOnboarding = (userId: string) => `/api/v1/users/${userId}/onboarding`;

const SCHEDULE = {
  preferredStartTime: "09:00",
  preferredEndTime: "17:00",
  timePreference: "morning",
  weeklyAvailability: {
    monday: true,
    tuesday: true,
    wednesday: true,
    thursday: true,
    friday: true,
    saturday: false,
    sunday: false,
  },
  flexibleSchedule: false,
};

async function storedProfile(userId: string) {
  return env.DB.prepare("SELECT * FROM onboarding_profiles WHERE user_id = ?").bind(userId).first();
}

const hhmm = (minute: number) => {
  const m = ((minute % 1440) + 1440) % 1440;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
};

/** A working window that holds the present minute (inside) or lies hours away from it (outside). */
function windowAround(inside: boolean) {
  const now = localClock("UTC", Date.now()).minute;
  return inside
    ? { preferredStartTime: hhmm(now - 120), preferredEndTime: hhmm(now + 120) }
    : { preferredStartTime: hhmm(now + 240), preferredEndTime: hhmm(now + 360) };
}

describe("onboarding, as the mobile app calls it (call #8)", () => {
  it("is not started (404), saved in parts, finished or skipped, and forgotten, at the app's doubled path", async () => {
    const user = await createUser();
    const missing = await legacyCall(appOnboarding(user.id), { token: user.token });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).detail).toBe("Onboarding was not found.");

    const first = await legacyJson<OnboardingDto>(appOnboarding(user.id), 200, {
      method: "PUT",
      token: user.token,
      body: {
        work_preference: "Remote",
        adhd_support_level: 7,
        adhd_challenges: ["time_blindness", "task_initiation"],
        daily_schedule: { ...SCHEDULE, somethingElse: "dropped" },
      },
    });
    expect(first).toMatchObject({
      user_id: user.id,
      work_preference: "remote",
      adhd_support_level: 7,
      adhd_challenges: ["time_blindness", "task_initiation"],
      daily_schedule: SCHEDULE,
      productivity_goals: [],
      chatgpt_export_prompt: null,
      chatgpt_exported_at: null,
      onboarding_completed: false,
      onboarding_skipped: false,
      completed_at: null,
      skipped_at: null,
    });
    expect(first.created_at).toMatch(/Z$/);

    // Partial: only what is sent changes.
    const second = await legacyJson<OnboardingDto>(appOnboarding(user.id), 200, {
      method: "PUT",
      token: user.token,
      body: { productivity_goals: ["focus_time", "habit_building"] },
    });
    expect(second).toMatchObject({
      work_preference: "remote",
      adhd_support_level: 7,
      daily_schedule: SCHEDULE,
      productivity_goals: ["focus_time", "habit_building"],
    });
    const row = await storedProfile(user.id);
    expect(row).toMatchObject({ work_preference: "remote", adhd_support_level: 7 });
    expect(JSON.parse(String(row?.daily_schedule))).toEqual(SCHEDULE);

    const skipped = await legacyJson<OnboardingDto>(`${appOnboarding(user.id)}/complete`, 200, {
      method: "POST",
      token: user.token,
      body: { completed: false },
    });
    expect(skipped).toMatchObject({
      onboarding_skipped: true,
      onboarding_completed: false,
      completed_at: null,
    });
    expect(skipped.skipped_at).toMatch(/Z$/);
    const done = await legacyJson<OnboardingDto>(`${appOnboarding(user.id)}/complete`, 200, {
      method: "POST",
      token: user.token,
      body: { completed: true },
    });
    expect(done).toMatchObject({ onboarding_completed: true, onboarding_skipped: false, skipped_at: null });
    expect(await legacyJson<OnboardingDto>(appOnboarding(user.id), 200, { token: user.token })).toEqual(done);

    const gone = await legacyCall(appOnboarding(user.id), { method: "DELETE", token: user.token });
    expect(gone.status).toBe(204);
    expect(await gone.text()).toBe("");
    expect(await storedProfile(user.id)).toBeNull();
    expect((await legacyCall(appOnboarding(user.id), { token: user.token })).status).toBe(404);
    expect((await legacyCall(appOnboarding(user.id), { method: "DELETE", token: user.token })).status).toBe(
      404,
    );
  });

  it("answers at /api/v1 too, for me and the caller's username; skipping first creates the record", async () => {
    const user = await createUser();
    await env.DB.prepare("UPDATE users SET username = ?, username_key = ? WHERE id = ?")
      .bind("Sam_Rivers", `sam_rivers_${user.id.slice(-8)}`, user.id)
      .run();
    const skipped = await legacyJson<OnboardingDto>("/users/me/onboarding/complete", 200, {
      method: "POST",
      token: user.token,
      body: { completed: false, user_id: "user_123" },
    });
    expect(skipped).toMatchObject({ user_id: user.id, onboarding_skipped: true, adhd_challenges: [] });
    const byName = await legacyJson<OnboardingDto>(
      `/users/SAM_RIVERS_${user.id.slice(-8).toUpperCase()}/onboarding`,
      200,
      { token: user.token },
    );
    expect(byName.user_id).toBe(user.id);
  });

  it("never reads or writes someone else's: their id is answered like an id that does not exist", async () => {
    const owner = await createUser();
    const other = await createUser();
    await legacyJson(appOnboarding(owner.id), 200, {
      method: "PUT",
      token: owner.token,
      body: { adhd_support_level: 3 },
    });
    const theirs = await legacyCall(appOnboarding(owner.id), { token: other.token });
    const nobody = await legacyCall(appOnboarding("user_123"), { token: other.token });
    expect(theirs.status).toBe(404);
    expect(nobody.status).toBe(404);
    const same = ({ instance: _i, request_id: _r, ...rest }: Record<string, unknown>) => rest;
    expect(same({ ...(await problemOf(theirs)) })).toEqual(same({ ...(await problemOf(nobody)) }));
    const write = await legacyCall(appOnboarding(owner.id), {
      method: "PUT",
      token: other.token,
      body: { adhd_support_level: 9 },
    });
    expect(write.status).toBe(404);
    expect((await storedProfile(owner.id))?.adhd_support_level).toBe(3);
    expect(await storedProfile(other.id)).toBeNull();
    expect((await legacyCall(appOnboarding(owner.id), {})).status).toBe(401);
  });

  it("answers 422 naming the field for a level out of 1–10, a bad time, a bad preference", async () => {
    const user = await createUser();
    const cases: [Record<string, unknown>, string][] = [
      [{ adhd_support_level: 11 }, "adhd_support_level"],
      [{ adhd_support_level: 0 }, "adhd_support_level"],
      [{ work_preference: "beach" }, "work_preference"],
      [{ daily_schedule: { preferredStartTime: "9am" } }, "daily_schedule.preferredStartTime"],
      [{ daily_schedule: { timePreference: "lunch" } }, "daily_schedule.timePreference"],
      [{ adhd_challenges: ["x".repeat(101)] }, "adhd_challenges.0"],
    ];
    for (const [body, field] of cases) {
      const res = await legacyCall(appOnboarding("me"), { method: "PUT", token: user.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
    }
    const noFlag = await legacyCall(`${appOnboarding("me")}/complete`, {
      method: "POST",
      token: user.token,
      body: {},
    });
    expect(noFlag.status).toBe(422);
    expect(await storedProfile(user.id)).toBeNull();
  });
});

describe("onboarding feeds the splitter", () => {
  async function profiled(body: Record<string, unknown>): Promise<TestUser> {
    const user = await createUser();
    await legacyJson(appOnboarding(user.id), 200, { method: "PUT", token: user.token, body });
    return user;
  }

  it("sizes steps by the support level until a difficulty model exists (difficulty_source profile)", async () => {
    const plain = await createUser();
    const plainTask = await createTask(plain, { title: "Write the quarterly report", estimated_minutes: 40 });
    const before = await splitTask(plain, plainTask.task_id, { splitter: "local" });
    expect(before).toMatchObject({ difficulty: 3, difficulty_source: "prior", energy_level: "medium" });

    for (const [level, difficulty] of [
      [1, 2],
      [5, 3],
      [8, 4],
      [10, 5],
    ] as const) {
      const user = await profiled({ adhd_support_level: level });
      const task = await createTask(user, { title: "Write the quarterly report", estimated_minutes: 40 });
      const split = await splitTask(user, task.task_id, { splitter: "local" });
      expect(split, `level ${level}`).toMatchObject({ difficulty, difficulty_source: "profile" });
    }
    // What the request says still wins.
    const user = await profiled({ adhd_support_level: 10 });
    const task = await createTask(user, { title: "Write the quarterly report", estimated_minutes: 40 });
    expect(await splitTask(user, task.task_id, { splitter: "local", difficulty: 1 })).toMatchObject({
      difficulty: 1,
      difficulty_source: "request",
    });
  });

  it("assumes low energy outside the person's working hours and medium inside them", async () => {
    const outside = await profiled({ daily_schedule: { ...SCHEDULE, ...windowAround(false) } });
    const inside = await profiled({ daily_schedule: { ...SCHEDULE, ...windowAround(true) } });
    const band = await profiled({ daily_schedule: { timePreference: "flexible" } });
    for (const [user, energy] of [
      [outside, "low"],
      [inside, "medium"],
      [band, "medium"],
    ] as const) {
      const task = await createTask(user, { title: "Tidy the garage", estimated_minutes: 30 });
      expect((await splitTask(user, task.task_id, { splitter: "local" })).energy_level).toBe(energy);
      const asked = await splitTask(user, task.task_id, { splitter: "local", energy_level: "high" });
      expect(asked.energy_level).toBe("high");
    }
  });
});

describe("splitting, as the original clients call it (call #12)", () => {
  it("the app's {mode: 'adhd'} applies the split and answers the stored steps; a re-split answers the same ids", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the kitchen", estimated_minutes: 45 });
    const split = await legacyJson<Split>(`/tasks/${task.task_id}/split`, 200, {
      method: "POST",
      token: user.token,
      body: { mode: "adhd" },
    });
    expect(split.task_id).toBe(task.task_id);
    expect(split.scope).toBe("MULTI");
    expect(split.applied).toBe(true);
    expect(split.micro_steps.length).toBeGreaterThanOrEqual(1);
    split.micro_steps.forEach((step, i) => {
      expect(step.step_id).toEqual(expect.any(String));
      expect(step.step_order).toBe(i + 1);
      expect(step.step_number).toBe(i + 1);
      expect(step.is_completed).toBe(false);
      expect(["DO", "DELEGATE"]).toContain(step.delegation_mode);
      expect(["DIGITAL", "HUMAN"]).toContain(step.leaf_type);
      expect(step.estimated_minutes).toBeLessThanOrEqual(10);
    });
    expect(split.total_estimated_minutes).toBe(
      split.micro_steps.reduce((sum, s) => sum + s.estimated_minutes, 0),
    );
    expect(split.next_action).toEqual({
      step_id: split.micro_steps[0]?.step_id,
      step_number: 1,
      description: split.micro_steps[0]?.description,
      estimated_minutes: split.micro_steps[0]?.estimated_minutes,
    });
    expect(split.metadata.generation_method).toBe(split.split_method);
    expect(split.metadata.llm_used).toBe(split.split_method === "ai");

    const stored = await getTask(user, task.task_id);
    expect(stored.micro_steps?.map((s) => s.step_id)).toEqual(split.micro_steps.map((s) => s.step_id));

    const again = await legacyJson<Split>(`/tasks/${task.task_id}/split`, 200, {
      method: "POST",
      token: user.token,
      body: {},
    });
    expect(again.split_method).toBe("existing");
    expect(again.micro_steps.map((s) => s.step_id)).toEqual(split.micro_steps.map((s) => s.step_id));
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM micro_steps WHERE task_id = ?")
      .bind(task.task_id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(split.micro_steps.length);
  });

  it("takes the app's {} and the tests' {user_id}, any case of mode, and sends with no body at all", async () => {
    const user = await createUser();
    for (const [body, transport] of [
      [{}, "app"],
      [{ user_id: "user_123" }, "curl"],
      [{ mode: "ADHD" }, "app"],
      [{ mode: "Default" }, "app"],
      [undefined, "app-empty"],
    ] as const) {
      const task = await createTask(user, { title: "Plan the birthday party", estimated_minutes: 60 });
      const split = await legacyJson<Split>(`/tasks/${task.task_id}/split`, 200, {
        method: "POST",
        token: user.token,
        body,
        transport,
      });
      expect(split.applied, JSON.stringify(body)).toBe(true);
      expect(split.micro_steps.length, JSON.stringify(body)).toBeGreaterThanOrEqual(1);
    }
    const bad = await legacyCall(`/tasks/${(await createTask(user, { title: "x" })).task_id}/split`, {
      method: "POST",
      token: user.token,
      body: { mode: "turbo" },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["mode"]);
  });

  it("our own uses keep their meaning: {} on /split/{task_id} and {apply: false} only suggest", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Clean the kitchen", estimated_minutes: 45 });
    const ours = await splitTask(user, task.task_id, {});
    expect(ours.applied).toBe(false);
    expect(ours.micro_steps).toEqual([]);
    expect(ours.next_action).toBeNull();
    const nested = await splitTask(user, task.task_id, { apply: false }, { path: "nested" });
    expect(nested.applied).toBe(false);
    // A stray user_id or the original's mode never turns a request for a suggestion into a write.
    for (const body of [
      { apply: false, user_id: "user_123" },
      { apply: false, mode: "adhd" },
    ]) {
      for (const path of ["nested", "seed"] as const) {
        expect((await splitTask(user, task.task_id, body, { path })).applied).toBe(false);
      }
    }
    expect((await getTask(user, task.task_id)).micro_steps).toEqual([]);
    const applied = await splitTask(
      user,
      task.task_id,
      { apply: true, splitter: "local" },
      { path: "nested" },
    );
    expect(applied.micro_steps.map((s) => s.step_id)).toEqual(
      applied.task?.micro_steps?.map((s) => s.step_id),
    );
  });

  it("a project answers its first sub-task's steps; another user's task is 404; no token is 401", async () => {
    const user = await createUser();
    const project = await createTask(user, { title: "Launch the new website", estimated_minutes: 600 });
    const split = await legacyJson<Split>(`/tasks/${project.task_id}/split`, 200, {
      method: "POST",
      token: user.token,
      body: { mode: "adhd" },
    });
    expect(split.scope).toBe("PROJECT");
    expect(split.subtasks.length).toBeGreaterThan(1);
    const first = split.subtasks[0]?.task_id ?? "";
    const sub = await getTask(user, first);
    expect(split.micro_steps.map((s) => s.step_id)).toEqual(sub.micro_steps?.map((s) => s.step_id));
    expect(split.micro_steps.length).toBeGreaterThanOrEqual(1);
    const again = await legacyJson<Split>(`/tasks/${project.task_id}/split`, 200, {
      method: "POST",
      token: user.token,
      body: {},
    });
    expect(again).toMatchObject({ split_method: "existing", scope: "PROJECT" });
    expect(again.micro_steps.map((s) => s.step_id)).toEqual(split.micro_steps.map((s) => s.step_id));
    const other = await createUser();
    const foreign = await legacyCall(`/tasks/${project.task_id}/split`, {
      method: "POST",
      token: other.token,
      body: { mode: "adhd" },
    });
    expect(foreign.status).toBe(404);
    expect((await legacyCall(`/tasks/${project.task_id}/split`, { method: "POST", body: {} })).status).toBe(
      401,
    );
  });
});

describe("the pure rules", () => {
  it("tells the original's split from ours by its fields and path", () => {
    expect(isLegacySplit(true, {})).toBe(true);
    expect(isLegacySplit(true, undefined)).toBe(true);
    expect(isLegacySplit(false, {})).toBe(false);
    expect(isLegacySplit(false, { mode: "ADHD" })).toBe(true);
    expect(isLegacySplit(false, { mode: "default" })).toBe(true);
    expect(isLegacySplit(false, { user_id: "user_123" })).toBe(true);
    expect(isLegacySplit(true, { mode: "replace" })).toBe(false);
    expect(isLegacySplit(true, { apply: false })).toBe(false);
    expect(isLegacySplit(true, { splitter: "local" })).toBe(false);
    expect(isLegacySplit(true, { apply: true, mode: "adhd" })).toBe(true);
    // Asking for a suggestion is never overridden by a stray user_id or mode.
    expect(isLegacySplit(false, { user_id: "user_123", apply: false })).toBe(false);
    expect(isLegacySplit(true, { mode: "adhd", apply: false })).toBe(false);
  });

  it("reads a working window from either spelling, or the time preference's band", () => {
    expect(workWindow({ preferredStartTime: "09:00", preferredEndTime: "17:30" })).toEqual([540, 1050]);
    expect(workWindow({ preferred_start_time: "22:00", preferred_end_time: "02:00" })).toEqual([1320, 120]);
    expect(workWindow({ timePreference: "Evening" })).toEqual([1020, 1260]);
    expect(workWindow({ timePreference: "flexible" })).toBeUndefined();
    expect(workWindow({ preferredStartTime: "09:00" })).toBeUndefined();
    expect(workWindow(null)).toBeUndefined();
  });

  it("maps the support level to a difficulty and the hours to an energy (windows may wrap midnight)", () => {
    const levels = [1, 2, 3, 6, 7, 8, 9, 10].map((adhd_support_level) =>
      difficultyFromProfile({ adhd_support_level, daily_schedule: null }),
    );
    expect(levels).toEqual([2, 2, 3, 3, 4, 4, 5, 5]);
    expect(difficultyFromProfile({ adhd_support_level: null, daily_schedule: null })).toBeUndefined();
    expect(difficultyFromProfile(undefined)).toBeUndefined();
    const night = { adhd_support_level: null, daily_schedule: { timePreference: "night" } };
    const startOfToday = Date.now() - (Date.now() % 86_400_000);
    expect(energyFromProfile(night, "UTC", startOfToday + 60 * 60_000)).toBe("medium");
    expect(energyFromProfile(night, "UTC", startOfToday + 13 * 60 * 60_000)).toBe("low");
    expect(energyFromProfile(undefined, "UTC", Date.now())).toBeUndefined();
  });
});
