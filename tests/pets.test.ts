import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PetState } from "../durable-objects/pet-state";
import { xpToNextLevel } from "../src/features/pets/growth";
import { portraitSvg } from "../src/features/pets/portrait";
import type {
  AbilityTableDto,
  DialogueDto,
  GeneratedPersonalityDto,
  LevelStatusDto,
} from "../src/features/pets/schemas";
import type { SocketTicketDto } from "../src/lib/live-socket-routes";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { apiTokenFor, createApiToken, revokeApiTokenOf } from "./helpers/auth";
import { freezeClock, nextUtc } from "./helpers/clock";
import { connect, openSocket } from "./helpers/focus";
import { ledgerOf } from "./helpers/gamification";
import { deliver, eventsOf, settle } from "./helpers/outbox";
import {
  adoptPet,
  careFor,
  giveTreats,
  interactionsOf,
  PET_CHANNEL,
  type Pet,
  type PetOutcome,
  petObject,
  petOf,
  petUser,
} from "./helpers/pets";
import { completeStep, createTask } from "./helpers/tasks";

afterEach(() => {
  vi.restoreAllMocks();
});

const HOUR = 3_600_000;

async function completeFreshStep(user: TestUser, priority = "medium") {
  // Two steps, one completed: a step.completed event, and no task.completed.
  const task = await createTask(user, {
    title: "Tidy desk",
    priority,
    micro_steps: [{ description: "Clear it" }, { description: "Wipe it" }],
  });
  const step = task.micro_steps?.[0];
  if (!step) throw new Error("no step");
  await completeStep(user, task.task_id, step.step_id);
  return { task, step };
}

/** D1's record of the user's pet, once the object has written everything it answered. */
async function petRow(user: TestUser) {
  await petObject(user).flushed();
  return env.DB.prepare("SELECT * FROM user_pets WHERE user_id = ?")
    .bind(user.id)
    .first<Record<string, unknown>>();
}

async function interactionKinds(user: TestUser): Promise<string[]> {
  return (await interactionsOf(user)).map((r) => r.kind);
}

describe("adopting a pet", () => {
  it("gives one companion per person: a baby at level 1, fed, happy, with a personality and a picture", async () => {
    const user = await createUser();
    const pet = await adoptPet(user, { species: "Dragon", name: "  Ember  " });
    expect(pet).toMatchObject({
      species: "dragon",
      name: "Ember",
      level: 1,
      xp: 0,
      xp_to_next_level: 50,
      xp_for_level: 50,
      hunger: 80,
      happiness: 80,
      evolution_stage: 1,
      can_evolve: false,
      needs_attention: false,
      treats: 0,
      image_url: `/api/v1/pets/${pet.pet_id}/image.svg`,
    });
    expect(pet.personality).toMatchObject({ generated_by: "local", temperament: "calm" });
    expect(pet.personality?.traits).toHaveLength(3);

    const second = await call("/api/v1/pets", { token: user.token, body: { species: "cat", name: "Miso" } });
    expect(second.status).toBe(409);
    const problem = await problemOf(second);
    expect(problem).toMatchObject({ code: "pet_exists" });
    expect(problem.detail).toContain("Ember");

    const row = await petRow(user);
    expect(row).toMatchObject({ id: pet.pet_id, species: "dragon", name: "Ember", level: 1, hunger: 80 });
    expect(await interactionKinds(user)).toEqual(["adopt"]);
  });

  it("refuses unknown species, empty or over-long names with 422 naming the field", async () => {
    const user = await createUser();
    for (const [body, field] of [
      [{ species: "hamster", name: "Nib" }, "species"],
      [{ species: "cat", name: "   " }, "name"],
      [{ species: "cat", name: "x".repeat(101) }, "name"],
      [{ species: "cat" }, "name"],
    ] as const) {
      const res = await call("/api/v1/pets", { token: user.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
    }
    expect((await call("/api/v1/pets/me", { token: user.token })).status).toBe(404);
  });

  it("answers 404 before adoption, with `me` or the user's own id, and for anyone else's id", async () => {
    const user = await createUser();
    const none = await call("/api/v1/pets/me", { token: user.token });
    expect(none.status).toBe(404);
    expect((await problemOf(none)).detail).toContain("adopt");
    const pet = await adoptPet(user);
    expect((await callJson<Pet>(`/api/v1/pets/${user.id}`, 200, { token: user.token })).pet_id).toBe(
      pet.pet_id,
    );
    const other = await createUser();
    expect((await call(`/api/v1/pets/${other.id}`, { token: user.token })).status).toBe(404);
  });

  it("needs the pets scopes: a token with tasks scopes only is refused", async () => {
    const user = await createUser();
    const { token } = await createApiToken(user.token, { name: "tasks only", scopes: ["tasks:read"] });
    expect((await call("/api/v1/pets/me", { token })).status).toBe(403);
  });
});

describe("feeding", () => {
  it("spends treats earned by work; without enough it answers 409 and changes nothing", async () => {
    const user = await createUser();
    await adoptPet(user);
    const res = await call("/api/v1/pets/me/feed", { token: user.token, body: { xp_amount: 10 } });
    expect(res.status).toBe(409);
    expect(await problemOf(res)).toMatchObject({ code: "not_enough_treats" });
    expect((await petOf(user)).xp).toBe(0);
    for (const xp_amount of [0, -5, 1.5, 10_001]) {
      const bad = await call("/api/v1/pets/me/feed", { token: user.token, body: { xp_amount } });
      expect(bad.status, String(xp_amount)).toBe(422);
    }
  });

  it("levels up several times in one feed and evolves at level 5, answering {pet, leveled_up, evolved, xp_to_next_level}", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 5000);
    const outcome = await careFor(user, "feed", { xp_amount: 5000 });
    // 50 + 200 + 450 + 800 + 1250 + 1800 = 4550 to reach level 7; 450 into it.
    expect(outcome).toMatchObject({ leveled_up: true, evolved: true, xp_to_next_level: 50 * 49 - 450 });
    expect(outcome.pet).toMatchObject({ level: 7, xp: 450, evolution_stage: 2, treats: 0, total_xp: 5000 });
    expect(outcome.pet.hunger).toBe(100);
    await petObject(user).flushed();
    const events = (await eventsOf(user.id)).map((e) => e.type);
    expect(events.filter((t) => t === "pet.leveled_up")).toHaveLength(1);
    expect(events.filter((t) => t === "pet.evolved")).toHaveLength(1);
    expect(events.filter((t) => t === "pet.fed")).toHaveLength(1);
    expect(await petRow(user)).toMatchObject({ level: 7, xp: 450, evolution_stage: 2, treats: 0 });
    expect(await interactionKinds(user)).toEqual(["evolve", "feed", "nourish:task", "adopt"]);
  });

  it("is retry-safe with an Idempotency-Key: the same answer, treats spent once", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 30);
    const send = () =>
      call("/api/v1/pets/me/feed", {
        token: user.token,
        body: { xp_amount: 20 },
        headers: { "Idempotency-Key": "feed-once" },
      });
    const first = await send();
    const again = await send();
    expect(first.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(await first.json());
    expect((await petOf(user)).treats).toBe(10);
    const reused = await call("/api/v1/pets/me/feed", {
      token: user.token,
      body: { xp_amount: 5 },
      headers: { "Idempotency-Key": "feed-once" },
    });
    expect(reused.status).toBe(422);
  });
});

describe("play and petting", () => {
  it("cheer the pet up, with cooldowns that answer 409 and Retry-After instead of farming XP", async () => {
    const user = await createUser();
    await adoptPet(user);
    const played = await careFor(user, "play");
    expect(played.pet).toMatchObject({ happiness: 95, hunger: 77, xp: 2 });
    const again = await call("/api/v1/pets/me/play", { method: "POST", token: user.token });
    expect(again.status).toBe(409);
    expect(await problemOf(again)).toMatchObject({ code: "cooldown" });
    expect(Number(again.headers.get("Retry-After"))).toBeGreaterThan(500);
    const petted = await careFor(user, "pet");
    expect(petted.pet).toMatchObject({ happiness: 100, xp: 3 });
    const twice = await call("/api/v1/pets/me/pet", { method: "POST", token: user.token });
    expect(twice.status).toBe(409);
    expect((await petOf(user)).xp).toBe(3);
  });
});

describe("the care loop", () => {
  it("fades with time, raises needs_attention once (the alarm run twice: one event), and never goes below the floor", async () => {
    const morning = nextUtc("08:00");
    const clock = freezeClock(morning);
    const user = await petUser("UTC");
    await adoptPet(user);
    const alarmAt = await runInDurableObject(petObject(user), (_i: PetState, state) =>
      state.storage.getAlarm(),
    );
    // Fullness 80 → 30 at 4/hour: 12.5 hours, before the night starts at 22:00.
    expect(alarmAt).toBeGreaterThan(morning + 12.5 * HOUR - 1000);
    expect(alarmAt).toBeLessThan(morning + 12.5 * HOUR + 1000);

    clock.tick(6 * HOUR);
    expect(await petOf(user)).toMatchObject({ hunger: 56, happiness: 68, needs_attention: false });

    clock.tick(7 * HOUR);
    expect(await runDurableObjectAlarm(petObject(user))).toBe(true);
    await runInDurableObject(petObject(user), (instance: PetState) => instance.alarm());
    const attention = await eventsOf(user.id, "pet.needs_attention");
    expect(attention).toHaveLength(1);
    expect(attention[0]?.data).toMatchObject({ fullness: 28 });
    const pet = await petOf(user);
    expect(pet).toMatchObject({ hunger: 28, needs_attention: true, mood: "hungry" });

    // A week away: sad, at the floor, glad to see them; never dead, never a level lost.
    clock.tick(7 * 24 * HOUR);
    const back = await petOf(user);
    expect(back).toMatchObject({ hunger: 10, happiness: 10, level: 1, needs_attention: true, mood: "sad" });
    expect(await eventsOf(user.id, "pet.needs_attention")).toHaveLength(1);
    const petted = await careFor(user, "pet");
    expect(petted.pet.happiness).toBe(15);
  });

  it("survives eviction, and an object that lost its storage comes back from D1's record", async () => {
    const user = await createUser();
    const pet = await adoptPet(user, { species: "owl", name: "Hoot" });
    await giveTreats(user, 60);
    await careFor(user, "feed", { xp_amount: 60 });
    await evictDurableObject(petObject(user));
    expect(await petOf(user)).toMatchObject({ pet_id: pet.pet_id, level: 2, xp: 10 });
    await runInDurableObject(petObject(user), (_i: PetState, state) => state.storage.deleteAll());
    await evictDurableObject(petObject(user));
    const restored = await petOf(user);
    expect(restored).toMatchObject({ pet_id: pet.pet_id, name: "Hoot", species: "owl", level: 2, xp: 10 });
    const again = await call("/api/v1/pets", { token: user.token, body: { species: "cat", name: "Two" } });
    expect(again.status).toBe(409);
  });

  it("follows the user's time zone: a move makes its night fall at the new local hours", async () => {
    freezeClock(nextUtc("23:00"));
    const user = await createUser({ timezone: "UTC" });
    await adoptPet(user);
    expect((await petOf(user)).mood).toBe("sleepy");
    await callJson("/api/v1/auth/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { timezone: "Asia/Tokyo" },
    });
    expect((await petOf(user)).mood).toBe("playful");
  });
});

describe("finished work", () => {
  it("feeds the pet through the events queue: treats worth the XP and a little care, each source once", async () => {
    const user = await createUser();
    await adoptPet(user);
    await completeFreshStep(user, "high");
    await settle(user.id);
    const [grant] = (await ledgerOf(user)).filter((e) => e.source === "step");
    // A high-priority step earns 10 + 5 + its time bonus.
    expect(grant?.amount).toBeGreaterThanOrEqual(15);
    const fed = await petOf(user);
    expect(fed).toMatchObject({ treats: grant?.amount, hunger: 84, happiness: 82 });
    const [event] = await eventsOf(user.id, "step.completed");
    if (!event) throw new Error("no step.completed event");
    await deliver([event]);
    await deliver([{ ...event, id: crypto.randomUUID() }]);
    expect((await petOf(user)).treats).toBe(grant?.amount);
    expect(await interactionKinds(user)).toEqual(["nourish:step", "adopt"]);
    // Feeding writes nothing in D1 through the consumer, so it leaves no receipt rows either.
    const receipts = await env.DB.prepare(
      "SELECT count(*) AS n FROM event_receipts WHERE event_id = ? AND handler = 'pet-care'",
    )
      .bind(event.id)
      .first<{ n: number }>();
    expect(receipts?.n).toBe(0);
  });

  it("is not fed again by work older than its week of memory, redelivered after that week", async () => {
    const clock = freezeClock();
    const user = await petUser();
    await adoptPet(user);
    await completeFreshStep(user);
    await settle(user.id);
    const treats = (await petOf(user)).treats;
    expect(treats).toBeGreaterThan(0);
    const [event] = await eventsOf(user.id, "step.completed");
    if (!event) throw new Error("no step.completed event");
    // Eight days on, newer work makes the object forget sources older than a week …
    clock.tick(8 * 24 * HOUR);
    await giveTreats(user, 7);
    // … and the old step arrives again (a redelivery, the outbox reconciler): the ledger paid it once,
    // so the pet must not count it twice either.
    await deliver([event]);
    expect((await petOf(user)).treats).toBe(treats + 7);
  });

  it("does nothing for a user without a pet", async () => {
    const user = await createUser();
    await completeFreshStep(user);
    await settle(user.id);
    expect((await call("/api/v1/pets/me", { token: user.token })).status).toBe(404);
  });

  it("earns more XP with a level-10 pet (Focus Buddy: +5%, its own ledger row)", async () => {
    const user = await createUser();
    await adoptPet(user);
    // Level 10 takes 50 × (1 + 4 + … + 81) = 14,250 XP.
    await giveTreats(user, 14_250);
    await careFor(user, "feed", { xp_amount: 10_000 });
    const outcome = await careFor(user, "feed", { xp_amount: 4_250 });
    expect(outcome.pet).toMatchObject({ level: 10, evolution_stage: 3 });
    // The level reaches D1 right after the answer; the next delivery of events reads it there.
    await petObject(user).flushed();
    await completeFreshStep(user, "high");
    await settle(user.id);
    const ledger = await ledgerOf(user);
    const bonus = ledger.find((e) => e.source === "pet_bonus");
    expect(bonus).toMatchObject({ amount: 1 });
    const status = await callJson<LevelStatusDto>("/api/v1/pets/level/me/status", 200, {
      token: user.token,
    });
    expect(status.perks.xp_boost_percent).toBe(5);
  });
});

describe("leveling (BE-11)", () => {
  it("reports status with abilities unlocked, and lists the whole table with the curve", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 250);
    await careFor(user, "feed", { xp_amount: 250 });
    const status = await callJson<Record<string, unknown>>("/api/v1/pets/level/me/status", 200, {
      token: user.token,
    });
    expect(status).toMatchObject({
      level: 3,
      xp: 0,
      xp_to_next_level: xpToNextLevel(3),
      evolution_stage: 1,
      can_evolve: false,
      needs_attention: false,
      next_ability: { id: "hearty", unlocks_at_level: 5 },
      perks: { xp_boost_percent: 0, max_streak_freezes: 2, stat_floor: 10, happiness_decay_per_hour: 1.5 },
    });
    expect((status.abilities as { id: string }[]).map((a) => a.id)).toEqual(["companion", "sunny"]);
    const table = await callJson<AbilityTableDto>("/api/v1/pets/level/abilities", 200, { token: user.token });
    expect(table.abilities.map((a) => a.id)).toContain("streak_shield");
    expect(table.stages).toHaveLength(3);
    expect(table.curve).toContain("50 × L²");
  });

  it("evolves on request when auto-evolution is off, and refuses when it cannot", async () => {
    const user = await createUser();
    await adoptPet(user);
    const early = await call("/api/v1/pets/level/me/evolve", { method: "POST", token: user.token });
    expect(early.status).toBe(409);
    expect(await problemOf(early)).toMatchObject({ code: "cannot_evolve" });
    const patched = await callJson<Pet>("/api/v1/pets/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { auto_evolve: false, name: "Pip" },
    });
    expect(patched).toMatchObject({ auto_evolve: false, name: "Pip" });
    await giveTreats(user, 1500);
    const fed = await careFor(user, "feed", { xp_amount: 1500 });
    expect(fed).toMatchObject({ leveled_up: true, evolved: false });
    expect(fed.pet).toMatchObject({ level: 5, evolution_stage: 1, can_evolve: true });
    const evolved = await callJson<PetOutcome>("/api/v1/pets/level/me/evolve", 200, {
      method: "POST",
      token: user.token,
    });
    expect(evolved).toMatchObject({ evolved: true, leveled_up: false });
    expect(evolved.pet).toMatchObject({ evolution_stage: 2, can_evolve: false });
    expect(await petRow(user)).toMatchObject({ name: "Pip", evolution_stage: 2, auto_evolve: 0 });
  });

  it("refuses an empty or unknown patch", async () => {
    const user = await createUser();
    await adoptPet(user);
    for (const body of [{}, { colour: "red" }, { name: "" }]) {
      const res = await call("/api/v1/pets/me", { method: "PATCH", token: user.token, body });
      expect(res.status, JSON.stringify(body)).toBe(422);
    }
  });
});

describe("the AI creature (BE-12)", () => {
  it("writes a personality with Workers AI when it answers well", async () => {
    const user = await createUser();
    await adoptPet(user, { species: "cat" });
    const ai = env.AI;
    if (!ai) throw new Error("the AI binding is missing");
    const run = vi.spyOn(ai, "run").mockResolvedValue({
      response: {
        name_suggestion: "Nimbus",
        traits: ["gentle", "curious", "steady"],
        dialogue_style: "Soft and unhurried, always kind",
        backstory: "Nimbus drifted in on a rainy afternoon and decided to stay by your desk.",
      },
    } as never);
    const body = await callJson<GeneratedPersonalityDto>("/api/v1/pets/generate/me/personality", 200, {
      token: user.token,
      body: { pattern: "LOW_ENERGY" },
    });
    expect(run).toHaveBeenCalledTimes(1);
    expect(body).toMatchObject({
      pattern: "low_energy",
      personality: { generated_by: "ai", name_suggestion: "Nimbus" },
    });
    expect((await petOf(user)).personality).toMatchObject({ name_suggestion: "Nimbus", temperament: "calm" });
  });

  it("falls back to the local writer when the model answers nonsense twice (or is not there)", async () => {
    const user = await createUser();
    const pet = await adoptPet(user, { species: "fox" });
    const ai = env.AI;
    if (!ai) throw new Error("the AI binding is missing");
    const run = vi.spyOn(ai, "run").mockResolvedValue({ response: "I am a fox!" } as never);
    const body = await callJson<GeneratedPersonalityDto>("/api/v1/pets/generate/me/personality", 200, {
      token: user.token,
      body: { pattern: "irregular" },
    });
    expect(run).toHaveBeenCalledTimes(2);
    expect(body.personality).toMatchObject({ generated_by: "local", temperament: "patient" });
    expect(body.personality).not.toEqual(pet.personality);
  });

  it("talks from its mood and the user's day", async () => {
    const user = await createUser();
    await adoptPet(user);
    await completeFreshStep(user);
    await settle(user.id);
    const said = await callJson<DialogueDto>("/api/v1/pets/generate/me/dialogue", 200, { token: user.token });
    const [grant] = (await ledgerOf(user)).filter((e) => e.source === "step");
    expect(said.context).toMatchObject({ steps_today: 1, treats: grant?.amount });
    expect(said.line.length).toBeGreaterThan(5);
    const again = await callJson<DialogueDto>("/api/v1/pets/generate/me/dialogue", 200, {
      token: user.token,
    });
    expect(again.line).toBe(said.line);
  });
});

describe("the picture", () => {
  it("is safe SVG, identical every time for the creature, different for another, with ETag and 304", async () => {
    const a = await createUser();
    const b = await createUser();
    const petA = await adoptPet(a, { species: "dragon" });
    const petB = await adoptPet(b, { species: "dragon" });
    const first = await call(petA.image_url, { token: a.token });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toContain("image/svg+xml");
    const svg = await first.text();
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).not.toMatch(/<script|on\w+=|href=["'](?!#)/i);
    expect(svg).toBe(
      portraitSvg({ seed: `${a.id}:${petA.pet_id}`, species: "dragon", stage: 1, mood: petA.mood }),
    );
    const etag = first.headers.get("etag") ?? "";
    const second = await call(petA.image_url, { token: a.token, headers: { "If-None-Match": etag } });
    expect(second.status).toBe(304);
    const other = await (await call(petB.image_url, { token: b.token })).text();
    expect(other).not.toBe(svg);
    expect((await call(petB.image_url, { token: a.token })).status).toBe(404);
  });
});

describe("the live pet socket", () => {
  it("greets with the pet, pushes every change to the user's devices, and takes actions", async () => {
    const user = await createUser();
    const refused = await call("/api/v1/pets/ws", {
      headers: { upgrade: "websocket", "sec-websocket-protocol": `pap.pet.v1, bearer.${user.token}` },
    });
    expect(refused.status).toBe(404);
    await refused.text();
    await adoptPet(user);
    const phone = await openSocket({ token: user.token, channel: PET_CHANNEL });
    const laptop = await openSocket({ token: user.token, channel: PET_CHANNEL });
    const [hello] = await phone.waitFor(1);
    expect(hello).toMatchObject({ type: "hello", state: { level: 1, hunger: 80 } });
    await careFor(user, "play");
    const [, played] = await laptop.waitFor(2);
    expect(played).toMatchObject({ type: "state", event: "played", state: { happiness: 95 } });
    phone.ws.send(JSON.stringify({ type: "action", action: "feed", xp_amount: 0, request_id: "r1" }));
    phone.ws.send(JSON.stringify({ type: "action", action: "pet", request_id: "r2" }));
    const messages = await phone.waitFor(5);
    expect(messages.find((m) => m.request_id === "r1")).toMatchObject({ type: "error", status: 422 });
    expect(messages.find((m) => m.request_id === "r2")).toMatchObject({ type: "ack" });
    expect(messages.some((m) => m.type === "state" && m.event === "petted")).toBe(true);
    phone.close();
    laptop.close();
  });

  it("closes the sockets of a revoked API token with 4001 at once, and sends them no further change", async () => {
    const user = await createUser();
    await adoptPet(user);
    const reader = await apiTokenFor(user, ["pets:read"]);
    const writer = await apiTokenFor(user, ["pets:read", "pets:write"]);
    const readOnly = await openSocket({ token: reader.token, channel: PET_CHANNEL });
    const readWrite = await openSocket({ token: writer.token, channel: PET_CHANNEL });
    const login = await openSocket({ token: user.token, channel: PET_CHANNEL });
    await Promise.all([readOnly.waitFor(1), readWrite.waitFor(1), login.waitFor(1)]);

    await revokeApiTokenOf(user, reader.id);
    await revokeApiTokenOf(user, writer.id);
    await careFor(user, "pet");
    expect((await login.waitFor(2))[1]).toMatchObject({ type: "state", event: "petted" });
    for (const socket of [readOnly, readWrite]) {
      expect(socket.messages.map((m) => m.type)).toEqual(["hello"]);
      expect(await socket.closedSoon()).toMatchObject({ code: 4001 });
      socket.close();
    }
    login.close();
  });

  it("keeps a ticket unused when it finds no pet, so it opens the socket once the pet is adopted", async () => {
    const user = await createUser();
    const { ticket } = await callJson<SocketTicketDto>("/api/v1/pets/ws-ticket", 201, {
      method: "POST",
      token: user.token,
    });
    const early = await connect({ ticket, channel: PET_CHANNEL });
    expect(early.status).toBe(404);
    expect((await problemOf(early)).code).toBe("not_found");
    await adoptPet(user);
    const socket = await openSocket({ ticket, channel: PET_CHANNEL });
    expect((await socket.waitFor(1))[0]).toMatchObject({ type: "hello", state: { name: "Sorrel" } });
    socket.close();
    const again = await connect({ ticket, channel: PET_CHANNEL });
    expect(again.status).toBe(401);
    await again.text();
  });

  it("replays the first answer to a retried action that differs only in letter case", async () => {
    const user = await createUser();
    await adoptPet(user);
    const socket = await openSocket({ token: user.token, channel: PET_CHANNEL });
    await socket.waitFor(1);
    socket.ws.send(JSON.stringify({ type: "action", action: "pet", request_id: "p-1" }));
    await socket.waitFor(3);
    socket.ws.send(JSON.stringify({ type: "action", action: "PET", request_id: "p-1" }));
    const answers = (await socket.waitFor(4)).filter((m) => m.request_id === "p-1");
    expect(answers).toEqual([
      { type: "ack", request_id: "p-1", seq: answers[0]?.seq },
      { type: "ack", request_id: "p-1", seq: answers[0]?.seq },
    ]);
    expect(await interactionKinds(user)).toEqual(["pet", "adopt"]);
    socket.close();
  });
});
