import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PetDto } from "../src/features/pets/protocol";
import type { ProblemBody } from "../src/lib/errors";
import { createUser, problemOf, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { userWithApiToken } from "./helpers/focus";
import { legacyCall, legacyJson } from "./helpers/legacy-client";
import { settle } from "./helpers/outbox";
import { petObject } from "./helpers/pets";
import { completeStep, createTask } from "./helpers/tasks";

interface FeedAnswer {
  pet: PetDto;
  leveled_up: boolean;
  evolved: boolean;
  xp_to_next_level: number | null;
  xp_gained: number;
  hunger_restored: number;
  happiness_gained: number;
}

interface LegacySession {
  session_id: string;
  user_id: string;
  step_id: string | null;
  started_at: string;
  ended_at: string | null;
  duration_minutes: number | null;
  completed: boolean;
  interruptions: number;
  created_at: string;
  actual_minutes: number;
}

interface LegacyAnalytics {
  total_sessions: number;
  completed_sessions: number;
  completion_rate: number;
  total_focus_minutes: number;
  average_duration_minutes: number;
}

/** Finishes one step of a fresh task and lets the events queue feed the pet its treats. */
async function earnTreats(user: TestUser, priority = "high") {
  const task = await createTask(user, {
    title: "Tidy desk",
    priority,
    micro_steps: [{ description: "Clear it", estimated_minutes: 10 }, { description: "Wipe it" }],
  });
  await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
  await settle(user.id);
}

const createPet = (user: TestUser, body: Record<string, unknown> = { species: "dog", name: "Rex" }) =>
  legacyJson<PetDto>("/pets/create", 201, { token: user.token, body: { user_id: "user_123", ...body } });

describe("pets as the original clients call them (calls 22–23)", () => {
  it("adopts by POST /pets/create (user_id ignored) and reads it back at GET /pets/{user_id}", async () => {
    const user = await createUser();
    const other = await createUser();
    const pet = await createPet(user, { user_id: other.id, species: "DRAGON", name: " Ember " });
    expect(pet).toMatchObject({ user_id: user.id, species: "dragon", name: "Ember", level: 1, xp: 0 });
    expect(pet.evolution_stage).toBe(1);
    expect(pet.last_fed_at).toBeNull();
    expect(pet.created_at).toMatch(/Z$/);
    expect(typeof pet.hunger).toBe("number");
    expect(typeof pet.happiness).toBe("number");
    // The other user got no pet: the body's user_id named them, and was ignored.
    expect((await legacyCall(`/pets/${other.id}`, { token: other.token })).status).toBe(404);
    for (const id of [user.id, "me"]) {
      const read = await legacyJson<PetDto>(`/pets/${id}`, 200, { token: user.token });
      expect(read).toMatchObject({ pet_id: pet.pet_id, user_id: user.id, last_fed_at: null });
    }
  });

  it("answers a second pet with 409 and a detail, and a bad species with 422 naming it", async () => {
    const user = await createUser();
    await createPet(user);
    const again = await legacyCall("/pets/create", {
      token: user.token,
      body: { species: "cat", name: "Tom" },
    });
    expect(again.status).toBe(409);
    expect((await problemOf(again)).detail).toMatch(/already have a pet/);
    const bad = await legacyCall("/pets/create", {
      token: user.token,
      body: { species: "robot", name: "R2" },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["species"]);
  });

  it("refuses to feed before any work (409 not_enough_treats): a query string mints no XP", async () => {
    const user = await createUser();
    await createPet(user);
    const res = await legacyCall("/pets/feed?user_id=user_123&task_priority=high&task_estimated_minutes=30", {
      method: "POST",
      token: user.token,
    });
    expect(res.status).toBe(409);
    expect((await problemOf(res)).code).toBe("not_enough_treats");
    const pet = await legacyJson<PetDto>("/pets/me", 200, { token: user.token });
    expect(pet).toMatchObject({ total_xp: 0, last_fed_at: null });
  });

  it("feeds the step formula's XP from treats earned by work, with the fields the original answered", async () => {
    const clock = freezeClock();
    const user = await createUser();
    await createPet(user);
    await earnTreats(user);
    const before = await legacyJson<PetDto>("/pets/me", 200, { token: user.token });
    expect(before.treats).toBeGreaterThanOrEqual(17);
    // 10 + 5 (high) + min(30 / 5, 10) = 21 wanted; the treats may be fewer.
    for (const transport of ["app", "app-empty", "curl"] as const) {
      const res = await legacyCall(
        "/pets/feed?user_id=user_123&task_priority=HIGH&task_estimated_minutes=30",
        {
          method: "POST",
          token: user.token,
          transport,
        },
      );
      if (transport !== "app") {
        // The first feed spent every treat.
        expect(res.status).toBe(409);
        await res.body?.cancel();
        continue;
      }
      expect(res.status).toBe(200);
      const fed = await res.json<FeedAnswer>();
      const xp = Math.min(21, before.treats);
      expect(fed.xp_gained).toBe(xp);
      expect(fed.hunger_restored).toBe(Math.min(40, 10 + Math.floor(xp / 5)));
      expect(fed.happiness_gained).toBe(Math.min(20, 5 + Math.floor(xp / 10)));
      expect(fed.leveled_up).toBe(false);
      expect(fed.evolved).toBe(false);
      expect(fed.xp_to_next_level).toBe(fed.pet.xp_to_next_level);
      expect(fed.pet).toMatchObject({ user_id: user.id, total_xp: xp, treats: before.treats - xp });
      expect(fed.pet.last_fed_at).toBe(new Date(clock.now()).toISOString());
    }
  });

  it("feeds medium for an unknown priority word, and the treats it has when they are fewer", async () => {
    const user = await createUser();
    await createPet(user);
    await petObject(user).nourish(user.id, {
      source_key: "step:x",
      kind: "step",
      xp: 100,
      occurred_at: Date.now(),
    });
    const fed = await legacyJson<FeedAnswer>(
      "/pets/feed?task_priority=urgent&task_estimated_minutes=7",
      200,
      {
        method: "POST",
        token: user.token,
      },
    );
    expect(fed.xp_gained).toBe(10 + 3 + 1);
    const small = await createUser();
    await createPet(small);
    await petObject(small).nourish(small.id, {
      source_key: "step:y",
      kind: "step",
      xp: 4,
      occurred_at: Date.now(),
    });
    const few = await legacyJson<FeedAnswer>("/pets/feed", 200, { method: "POST", token: small.token });
    expect(few.xp_gained).toBe(4);
  });

  it("answers 404 without a pet, 422 naming a bad minutes value, 401 without a token", async () => {
    const user = await createUser();
    const none = await legacyCall("/pets/feed", { method: "POST", token: user.token });
    expect(none.status).toBe(404);
    await none.body?.cancel();
    const bad = await legacyCall("/pets/feed?task_estimated_minutes=lots", {
      method: "POST",
      token: user.token,
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["task_estimated_minutes"]);
    for (const [path, method] of [
      ["/pets/feed", "POST"],
      ["/pets/create", "POST"],
    ] as const) {
      const res = await legacyCall(path, { method });
      expect(res.status).toBe(401);
      await res.body?.cancel();
    }
  });
});

describe("focus sessions as the original clients call them (calls 24–25)", () => {
  const start = (
    user: TestUser,
    body: Record<string, unknown> = { user_id: "user_123", duration_minutes: 25 },
  ) => legacyJson<LegacySession & { phase: string }>("/focus/sessions", 201, { token: user.token, body });

  it("starts with the original's top-level fields beside our state", async () => {
    const user = await createUser();
    const started = await start(user);
    expect(started).toMatchObject({
      user_id: user.id,
      step_id: null,
      ended_at: null,
      duration_minutes: 25,
      completed: false,
      interruptions: 0,
      phase: "work",
    });
    expect(started.session_id).toBeTruthy();
    expect(started.created_at).toBe(started.started_at);
    expect(started.started_at).toMatch(/Z$/);
  });

  it("updates interruptions, then completes: 200 the session, as the original answered", async () => {
    const user = await createUser();
    const { session_id } = await start(user);
    const interrupted = await legacyJson<LegacySession>(`/focus/sessions/${session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { interruptions: 2 },
    });
    expect(interrupted).toMatchObject({ session_id, interruptions: 2, completed: false, ended_at: null });
    const done = await legacyJson<LegacySession>(`/focus/sessions/${session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { completed: true },
    });
    expect(done).toMatchObject({
      session_id,
      user_id: user.id,
      completed: true,
      interruptions: 2,
      duration_minutes: 25,
    });
    expect(done.ended_at).toMatch(/Z$/);
    const row = await env.DB.prepare("SELECT completed, interruptions FROM focus_sessions WHERE id = ?")
      .bind(session_id)
      .first<{ completed: number; interruptions: number }>();
    expect(row).toEqual({ completed: 1, interruptions: 2 });
    // No break was started: the original had none.
    const state = await legacyJson<{ phase: string }>("/focus/current", 200, { token: user.token });
    expect(state.phase).toBe("idle");
    // Sent again: the same answer. A change to an ended session: 409.
    const again = await legacyJson<LegacySession>(`/focus/sessions/${session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { completed: true, interruptions: 2 },
    });
    expect(again).toEqual(done);
    const change = await legacyCall(`/focus/sessions/${session_id}`, {
      method: "PUT",
      token: user.token,
      body: { completed: false },
    });
    expect(change.status).toBe(409);
    expect((await problemOf(change)).detail).toBe("This focus session has ended; it cannot change.");
  });

  it("abandons with completed: false and ended_at", async () => {
    const user = await createUser();
    const { session_id } = await start(user);
    const ended = await legacyJson<LegacySession>(`/focus/sessions/${session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { completed: false, ended_at: new Date().toISOString() },
    });
    expect(ended).toMatchObject({ session_id, completed: false });
    expect(ended.ended_at).not.toBeNull();
  });

  it("answers 404 for someone else's session and an unknown one, and 422 naming a bad field", async () => {
    const owner = await createUser();
    const other = await createUser();
    const { session_id } = await start(owner);
    for (const id of [session_id, "no-such-session"]) {
      const res = await legacyCall(`/focus/sessions/${id}`, {
        method: "PUT",
        token: other.token,
        body: { completed: true },
      });
      expect(res.status).toBe(404);
      expect((await res.json<ProblemBody>()).detail).toBe("Focus session was not found.");
    }
    const state = await legacyJson<{ phase: string }>("/focus/current", 200, { token: owner.token });
    expect(state.phase).toBe("work");
    const bad = await legacyCall(`/focus/sessions/${session_id}`, {
      method: "PUT",
      token: owner.token,
      body: { interruptions: -1 },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["interruptions"]);
    const tooMany = await legacyCall(`/focus/sessions/${session_id}`, {
      method: "PUT",
      token: owner.token,
      body: { interruptions: 21 },
    });
    expect(tooMany.status).toBe(422);
    expect((await problemOf(tooMany)).errors?.map((e) => e.field)).toEqual(["interruptions"]);
  });

  it("answers analytics at /focus/sessions/analytics/{user_id}: zeros for none, then the totals", async () => {
    const user = await userWithApiToken();
    const zeros = await legacyJson<LegacyAnalytics>(`/focus/sessions/analytics/${user.id}`, 200, {
      token: user.token,
    });
    expect(zeros).toMatchObject({
      total_sessions: 0,
      completed_sessions: 0,
      completion_rate: 0,
      total_focus_minutes: 0,
      average_duration_minutes: 0,
    });
    const clock = freezeClock();
    const { session_id } = await start(user);
    clock.tick(20 * 60_000);
    await legacyJson(`/focus/sessions/${session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { completed: true },
    });
    const second = await start(user);
    clock.tick(6 * 60_000);
    await legacyJson(`/focus/sessions/${second.session_id}`, 200, {
      method: "PUT",
      token: user.token,
      body: { completed: false, ended_at: new Date(clock.now()).toISOString() },
    });
    const totals = await legacyJson<LegacyAnalytics>("/focus/sessions/analytics/me", 200, {
      token: user.token,
    });
    expect(totals).toMatchObject({ total_sessions: 2, completed_sessions: 1, completion_rate: 0.5 });
    expect(totals.total_focus_minutes).toBeCloseTo(26, 0);
    expect(totals.average_duration_minutes).toBeCloseTo(13, 0);
    const list = await legacyJson<LegacySession[]>(`/focus/sessions/user/${user.id}?limit=1`, 200, {
      token: user.token,
    });
    expect(list.map((s) => s.session_id)).toEqual([second.session_id]);
  });

  it("answers another user's id in the analytics path with 404, like an id that does not exist", async () => {
    const user = await createUser();
    const other = await createUser();
    const theirs = await legacyCall(`/focus/sessions/analytics/${other.id}`, { token: user.token });
    const missing = await legacyCall("/focus/sessions/analytics/user_123", { token: user.token });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect((await theirs.json<ProblemBody>()).detail).toBe((await missing.json<ProblemBody>()).detail);
  });
});
