import { env } from "cloudflare:workers";
import { Validator } from "@cfworker/json-schema";
import { describe, expect, it, vi } from "vitest";
import { storedEnvelope } from "../durable-objects/outbox-writer";
import { createDatabase } from "../src/db";
import type { EventTypeDto } from "../src/features/events/schemas";
import { RECONCILE_BATCH, reconcileOutbox } from "../src/jobs/outbox-reconciler";
import { SCOPES } from "../src/lib/auth/principal";
import { EVENT_TYPES, type EventType } from "../src/lib/events/catalog";
import { newEvent, parseEvent } from "../src/lib/events/envelope";
import { writeEvent } from "../src/lib/events/outbox";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { apiTokenFor } from "./helpers/auth";
import { freezeClock } from "./helpers/clock";
import { delegate, registerAgent } from "./helpers/delegation";
import { focusAction, focusStateOf, startFocus } from "./helpers/focus";
import { adminToken } from "./helpers/gamification";
import { eventsOf, runEventsQueue, settle } from "./helpers/outbox";
import { adoptPet, careFor, giveTreats } from "./helpers/pets";
import { completeStep, createTask } from "./helpers/tasks";

const MIN = 60_000;

async function catalog(): Promise<EventTypeDto[]> {
  return callJson<EventTypeDto[]>("/api/v1/event-types", 200);
}

describe("GET /api/v1/event-types", () => {
  it("lists every event type with its version, meaning and the JSON Schema of its data, without a credential", async () => {
    const res = await call("/api/v1/event-types");
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toContain("max-age");
    const entries = (await res.json()) as EventTypeDto[];
    expect(entries.map((e) => e.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const entry of entries) {
      expect(entry.version).toBeGreaterThanOrEqual(1);
      expect(entry.description.length).toBeGreaterThan(10);
      expect(entry.schema).toMatchObject({ type: "object", properties: expect.any(Object) });
    }
    const completed = entries.find((e) => e.type === "step.completed");
    expect(completed?.schema.required).toEqual(
      expect.arrayContaining(["task_id", "step_id", "estimated_minutes"]),
    );
  });

  it("answers one type, and 404 as problem+json for a type that does not exist", async () => {
    const one = await callJson<EventTypeDto>("/api/v1/event-types/task.completed", 200);
    expect(one).toMatchObject({ type: "task.completed", version: 1 });
    const missing = await call("/api/v1/event-types/task.exploded");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-type")).toContain("application/problem+json");
    expect((await problemOf(missing)).code).toBe("not_found");
  });
});

describe("every event the platform writes matches the published catalog", () => {
  it("walks a user's whole day in the outbox and validates each row against /event-types", async () => {
    const clock = freezeClock();
    const person = await createUser();
    // A token that outlives the hour the clock moves on, holding what a person's login holds.
    const everyday = SCOPES.filter((scope) => scope !== "admin");
    const user = { ...person, token: (await apiTokenFor(person, [...everyday])).token };
    const agent = await registerAgent(user);
    const validators = new Map(
      (await catalog()).map((e) => [
        e.type,
        { version: e.version, validator: new Validator(e.schema, "2020-12") },
      ]),
    );

    // Tasks and steps: created, completed (steps, then the task), deleted.
    const task = await createTask(user, {
      title: "Morning routine",
      priority: "high",
      estimated_minutes: 20,
      micro_steps: [{ description: "Water" }, { description: "Stretch" }, { description: "Plan the day" }],
    });
    for (const step of task.micro_steps ?? []) await completeStep(user, task.task_id, step.step_id);
    const gone = await createTask(user, { title: "Not needed" });
    await callJson(`/api/v1/tasks/${gone.task_id}`, 204, { method: "DELETE", token: user.token });

    // Delegation: assigned, accepted, started, completed; another rejected; one dropped with DELETE.
    const delegated = await createTask(user, { title: "File the report" });
    const assigned = await delegate(user, { task_id: delegated.task_id, delegation_mode: "DELEGATE" });
    const path = `/api/v1/delegation/assignments/${assigned.assignment?.assignment_id}`;
    await callJson(`${path}/notes`, 201, {
      method: "POST",
      token: agent.token,
      body: { text: "Starting on it." },
    });
    for (const move of ["accept", "start", "complete"])
      await callJson(`${path}/${move}`, 200, { method: "POST", token: agent.token, body: {} });
    const refused = await createTask(user, { title: "Not for an agent" });
    const second = await delegate(user, { task_id: refused.task_id, delegation_mode: "DELEGATE" });
    await callJson(`/api/v1/delegation/assignments/${second.assignment?.assignment_id}/reject`, 200, {
      method: "POST",
      token: agent.token,
      body: { reason: "Needs a person" },
    });
    const dropped = await createTask(user, { title: "Drop it" });
    await delegate(user, { task_id: dropped.task_id, delegation_mode: "DELETE" });

    // Focus: a pomodoro runs out (completed, break due), the break ends; another is abandoned.
    await startFocus(user, { kind: "pomodoro", task_id: task.task_id });
    clock.tick(26 * MIN);
    await focusStateOf(user);
    clock.tick(6 * MIN);
    await focusStateOf(user);
    await startFocus(user, { kind: "short_burst" });
    await focusAction(user, "abandon");

    // The pet: fed, and fed enough to level up and evolve.
    await adoptPet(user, { species: "owl", name: "Hoot" });
    await giveTreats(user, 5000);
    await careFor(user, "feed", { xp_amount: 5000 });

    // An energy check-in.
    await callJson("/api/v1/analytics/energy", 201, { token: user.token, body: { level: "high" } });

    // An administrator's grant: enough on its own for level 5 (660 XP), whose badge (Rising) unlocks an
    // achievement whatever the date — the day's challenges, drawn by date, may not be met by this walk.
    await callJson("/api/v1/gamification/enhanced/xp/grant", 202, {
      token: await adminToken(),
      body: { user_id: user.id, amount: 1000, reason: "Beta tester", key: `beta-${user.id}` },
    });

    // Handling the day's events writes the rewards' own events (level.up, achievement, challenge).
    await vi.waitFor(
      async () => expect((await eventsOf(user.id)).map((e) => e.type)).toContain("pet.evolved"),
      {
        timeout: 10_000,
      },
    );
    await settle(user.id);
    await settle(user.id);

    const seen = new Set<string>();
    for (const event of await eventsOf(user.id)) {
      const published = validators.get(event.type);
      expect(published, `${event.type} is in the catalog`).toBeDefined();
      expect(event.version, event.type).toBe(published?.version);
      const result = published?.validator.validate(event.data);
      expect(result?.errors ?? [], `${event.type} ${JSON.stringify(event.data)}`).toEqual([]);
      expect(parseEvent(event).ok, event.type).toBe(true);
      seen.add(event.type);
    }
    const expected: EventType[] = [
      "task.created",
      "task.completed",
      "task.deleted",
      "step.completed",
      "assignment.created",
      "assignment.accepted",
      "assignment.started",
      "assignment.completed",
      "assignment.rejected",
      "assignment.note_added",
      "focus.started",
      "focus.completed",
      "focus.abandoned",
      "break.due",
      "break.over",
      "xp.manual",
      "level.up",
      "achievement.unlocked",
      "pet.fed",
      "pet.leveled_up",
      "pet.evolved",
      "energy.logged",
    ];
    expect([...seen].sort()).toEqual(expect.arrayContaining(expected));
  });
});

describe("producers and consumers keep to the catalog", () => {
  it("refuses to build an event whose data is off its schema", () => {
    expect(() =>
      newEvent("pet.fed", "u", { pet_id: "p", xp: -1 } as unknown as { pet_id: string; xp: number }),
    ).toThrow();
    expect(newEvent("pet.fed", "u", { pet_id: "p", xp: 3 })).toMatchObject({ type: "pet.fed", version: 1 });
  });

  it("retries (never silently drops) an event of an unknown version or type, and says so", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const good = newEvent("pet.fed", "u", { pet_id: "p", xp: 3 });
    const result = await runEventsQueue([
      { id: "m-v2", body: { ...good, version: 2 } },
      { id: "m-type", body: { ...good, id: "x2", type: "task.exploded" } },
      { id: "m-data", body: { ...good, id: "x3", data: { pet_id: "p" } } },
    ]);
    const logged = errors.mock.calls.map((c) => String(c[0])).join("\n");
    errors.mockRestore();
    expect(result.explicitAcks).toEqual([]);
    expect(result.retryMessages.map((m) => m.msgId).sort()).toEqual(["m-data", "m-type", "m-v2"]);
    expect(logged).toContain("version 2");
    expect(logged).toContain("unknown event type task.exploded");
  });
});

describe("events written by an earlier release", () => {
  it("a live object's stored event without a version is written as version 1", async () => {
    const user = await createUser();
    const { version: _version, ...old } = newEvent("pet.fed", user.id, { pet_id: "p", xp: 2 });
    const stored = storedEnvelope(JSON.stringify(old));
    expect(stored.version).toBe(1);
    const db = createDatabase(env.DB);
    await db.batch([writeEvent(db, stored)]);
    const row = await env.DB.prepare("SELECT type, version FROM events WHERE id = ?").bind(old.id).first();
    expect(row).toEqual({ type: "pet.fed", version: 1 });
  });

  it("a task.completed whose is_meta_task is 0 or 1 still parses as version 1", () => {
    const completed = newEvent("task.completed", "u", {
      task_id: "t",
      title: "Old",
      priority: "low",
      estimated_minutes: null,
      actual_minutes: null,
      is_meta_task: false,
      created_at: new Date().toISOString(),
      completed_steps: 0,
    });
    for (const is_meta_task of [0, 1])
      expect(parseEvent({ ...completed, data: { ...completed.data, is_meta_task } }).ok).toBe(true);
    expect(parseEvent({ ...completed, data: { ...completed.data, is_meta_task: 2 } }).ok).toBe(false);
  });

  it("the reconciler re-sends a backlog of 100 stale rows, marking each within D1's parameter limit", async () => {
    const user = await createUser();
    const old = new Date(Date.now() - 60 * 60_000).toISOString();
    const ids = Array.from(
      { length: RECONCILE_BATCH },
      () => newEvent("pet.fed", user.id, { pet_id: "p", xp: 1 }).id,
    );
    await env.DB.batch(
      ids.map((id) =>
        env.DB.prepare(
          "INSERT INTO events (id, user_id, type, version, data, occurred_at) VALUES (?, ?, 'pet.fed', 1, ?, ?)",
        ).bind(id, user.id, JSON.stringify({ pet_id: "p", xp: 1 }), old),
      ),
    );
    expect(await reconcileOutbox(env)).toBe(RECONCILE_BATCH);
    const marked = await env.DB.prepare(
      "SELECT count(*) AS n FROM events WHERE user_id = ? AND send_attempts = 1",
    )
      .bind(user.id)
      .first<{ n: number }>();
    expect(marked?.n).toBe(RECONCILE_BATCH);
  });
});
