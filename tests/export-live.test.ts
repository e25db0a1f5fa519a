import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { FocusTimer } from "../durable-objects/focus-timer";
import type { PetState } from "../durable-objects/pet-state";
import { type FocusSnapshot, LIVE_VERSION, type PetSnapshot } from "../src/features/export/format";
import { SETTING_LIMITS } from "../src/features/focus/kinds";
import { nextAttentionAt } from "../src/features/pets/care";
import { call, callJson, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { focusAction, focusStateOf, startFocus, timerOf, userWithApiToken } from "./helpers/focus";
import { eventsOf, settle } from "./helpers/outbox";
import { adoptPet, careFor, giveTreats, type Pet, petObject, petOf, petUser } from "./helpers/pets";
import { createTask } from "./helpers/tasks";

const alarmOf = (stub: DurableObjectStub<FocusTimer> | DurableObjectStub<PetState>) =>
  runInDurableObject(stub as DurableObjectStub<FocusTimer>, (_instance: FocusTimer, state) =>
    state.storage.getAlarm(),
  );

const settingsOf = (user: TestUser) =>
  callJson<Record<string, number>>("/api/v1/focus/enhanced/settings", 200, { token: user.token });

async function focusSnapshotOf(user: TestUser): Promise<FocusSnapshot> {
  const result = await timerOf(user).snapshot(user.id);
  if (!result.ok) throw new Error(`snapshot refused: ${JSON.stringify(result.error)}`);
  return result.value;
}

async function petSnapshotOf(user: TestUser): Promise<PetSnapshot> {
  const result = await petObject(user).snapshot(user.id);
  if (!result.ok) throw new Error(`snapshot refused: ${JSON.stringify(result.error)}`);
  return result.value;
}

describe("the focus timer's snapshot", () => {
  it("restores into another user's timer: the same settings, run and last session, idle, no alarm", async () => {
    const clock = freezeClock();
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    const aliceTask = await createTask(alice, { title: "Write the essay" });
    const bobTask = await createTask(bob, { title: "Write the essay (restored)" });
    await callJson("/api/v1/focus/enhanced/settings", 200, {
      method: "PATCH",
      token: alice.token,
      body: { pomodoro_work_minutes: 35, short_break_minutes: 7, long_break_every: 3 },
    });
    await startFocus(alice, { kind: "pomodoro", task_id: aliceTask.task_id });
    clock.tick(4 * 60_000);
    await focusAction(alice, "interrupt", { note: "doorbell" });
    await focusAction(alice, "finish");
    await focusAction(alice, "skip-break");
    // In a session when the export is taken: it is not restored.
    await startFocus(alice, { kind: "pomodoro", task_id: aliceTask.task_id });
    clock.tick(60_000);

    const snapshot = await focusSnapshotOf(alice);
    expect(snapshot.version).toBe(LIVE_VERSION);
    expect(snapshot.settings).toEqual(await settingsOf(alice));
    expect(snapshot.timer?.work?.task_id).toBe(aliceTask.task_id);
    expect(snapshot.timer?.last_record?.task_id).toBe(aliceTask.task_id);

    const options = { ids: { [aliceTask.task_id]: bobTask.task_id }, ownedIds: [bobTask.task_id] };
    const restored = await timerOf(bob).restoreSnapshot(bob.id, snapshot, options);
    expect(restored.ok).toBe(true);
    expect(await settingsOf(bob)).toEqual(await settingsOf(alice));
    const [a, b] = [await focusStateOf(alice), await focusStateOf(bob)];
    expect({ phase: b.phase, status: b.status, session: b.session, break: b.break }).toEqual({
      phase: "idle",
      status: "idle",
      session: null,
      break: null,
    });
    expect(b.cycle).toBe(a.cycle);
    const { session_id: aliceLast, task_id: _at, ...aliceRest } = a.last_session ?? { session_id: "" };
    const { session_id: bobLast, task_id: bobTaskId, ...bobRest } = b.last_session ?? { session_id: "" };
    expect(bobRest).toEqual(aliceRest);
    expect(bobTaskId).toBe(bobTask.task_id);
    expect(bobLast).not.toBe(aliceLast);
    // Nothing falls due on an idle timer: no alarm.
    expect(await alarmOf(timerOf(bob))).toBeNull();
    // D1 has Bob's settings too (the analytics and a cold timer read them there).
    const row = await env.DB.prepare(
      "SELECT pomodoro_work_minutes AS m, long_break_every AS e FROM focus_settings WHERE user_id = ?",
    )
      .bind(bob.id)
      .first();
    expect(row).toEqual({ m: 35, e: 3 });

    // Restoring the same snapshot again is the same restore.
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot, options)).ok).toBe(true);
    expect((await focusStateOf(bob)).last_session?.session_id).toBe(bobLast);
  });

  it("refuses while the account is in a session of its own, and refuses broken or newer snapshots", async () => {
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    await startFocus(alice, { kind: "short_burst", duration_minutes: 10 });
    const snapshot = await focusSnapshotOf(alice);
    await startFocus(bob, { kind: "custom", duration_minutes: 20 });
    const busy = await timerOf(bob).restoreSnapshot(bob.id, snapshot);
    expect(busy).toMatchObject({ ok: false, error: { status: 409, code: "focus_session_running" } });
    await focusAction(bob, "abandon");
    const newer = await timerOf(bob).restoreSnapshot(bob.id, { ...snapshot, version: LIVE_VERSION + 1 });
    expect(newer).toMatchObject({ ok: false, error: { status: 422, code: "snapshot_too_new" } });
    const broken = await timerOf(bob).restoreSnapshot(bob.id, { ...snapshot, settings: "long" });
    expect(broken).toMatchObject({ ok: false, error: { status: 422, code: "invalid_snapshot" } });
    expect((await focusStateOf(bob)).phase).toBe("idle");
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot)).ok).toBe(true);
    expect((await focusStateOf(bob)).phase).toBe("idle");
  });

  it("never points the restored timer at a task the caller did not vouch for", async () => {
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    const secret = await createTask(alice, { title: "Alice's private task" });
    await startFocus(alice, { kind: "pomodoro", task_id: secret.task_id });
    await focusAction(alice, "abandon");
    const snapshot = await focusSnapshotOf(alice);
    expect(snapshot.timer?.last_record?.task_id).toBe(secret.task_id);
    const lastTask = async () => (await focusStateOf(bob)).last_session?.task_id;
    // No map and no vouching: the id passes nowhere.
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot)).ok).toBe(true);
    expect(await lastTask()).toBeNull();
    // A map whose target the caller did not insert for Bob: dropped too.
    const own = await createTask(bob, { title: "Bob's" });
    const mapped = { ids: { [secret.task_id]: own.task_id } };
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot, mapped)).ok).toBe(true);
    expect(await lastTask()).toBeNull();
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot, { ownedIds: [own.task_id] })).ok).toBe(true);
    expect(await lastTask()).toBeNull();
    // A key the map does not own ("__proto__", "constructor") is no mapping.
    const hostile = structuredClone(snapshot);
    if (hostile.timer?.last_record) hostile.timer.last_record.task_id = "constructor";
    const proto = await timerOf(bob).restoreSnapshot(bob.id, hostile, { ids: {}, ownedIds: [own.task_id] });
    expect(proto.ok).toBe(true);
    expect(await lastTask()).toBeNull();
    expect(
      (await timerOf(bob).restoreSnapshot(bob.id, snapshot, { ...mapped, ownedIds: [own.task_id] })).ok,
    ).toBe(true);
    expect(await lastTask()).toBe(own.task_id);
  });

  it("restores no session in progress: nothing completes, records or pays for time not worked here", async () => {
    const clock = freezeClock();
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    const task = await createTask(bob, { title: "Mine" });
    await startFocus(alice, { kind: "short_burst", duration_minutes: 10 });
    const snapshot = await focusSnapshotOf(alice);
    // A crafted file: a deep-work session "running" since 80 minutes ago on Bob's own task.
    const crafted = structuredClone(snapshot);
    const work = crafted.timer?.work;
    if (!work) throw new Error("no session in the snapshot");
    Object.assign(work, {
      session_id: crypto.randomUUID(),
      kind: "deep_work",
      planned_ms: 60 * 60_000,
      started_at: Date.now() - 80 * 60_000,
      running_since: Date.now() - 80 * 60_000,
      task_id: task.task_id,
    });
    for (const file of [snapshot, crafted]) {
      const restored = await timerOf(bob).restoreSnapshot(bob.id, file, { ownedIds: [task.task_id] });
      expect(restored.ok).toBe(true);
      clock.tick(20 * 60_000);
      await runInDurableObject(timerOf(bob), (instance: FocusTimer) => instance.alarm());
      expect((await focusStateOf(bob)).phase).toBe("idle");
    }
    await settle(bob.id);
    expect(await eventsOf(bob.id, "focus.completed")).toEqual([]);
    const rows = await env.DB.prepare(
      `SELECT (SELECT count(*) FROM focus_sessions WHERE user_id = ?1) AS s,
        (SELECT count(*) FROM xp_ledger WHERE user_id = ?1 AND source_key LIKE 'focus:%') AS x`,
    )
      .bind(bob.id)
      .first();
    expect(rows).toEqual({ s: 0, x: 0 });
  });

  it("restores any settings exactly, and a timer that never ran as idle with no alarm", async () => {
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    await startFocus(bob, { kind: "custom", duration_minutes: 30 });
    await focusAction(bob, "abandon");
    await focusAction(bob, "skip-break").catch(() => undefined);
    const keys = Object.keys(SETTING_LIMITS) as (keyof typeof SETTING_LIMITS)[];
    const settings = fc.record(
      Object.fromEntries(
        keys.map((k) => [k, fc.integer({ min: SETTING_LIMITS[k][0], max: SETTING_LIMITS[k][1] })]),
      ),
    );
    await fc.assert(
      fc.asyncProperty(settings, async (chosen) => {
        await callJson("/api/v1/focus/enhanced/settings", 200, {
          method: "PATCH",
          token: alice.token,
          body: chosen,
        });
        const snapshot = await focusSnapshotOf(alice);
        expect(snapshot.timer).toBeNull();
        expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot)).ok).toBe(true);
        expect(await settingsOf(bob)).toEqual(chosen);
      }),
      { numRuns: 8 },
    );
    expect((await focusStateOf(bob)).phase).toBe("idle");
    expect(await alarmOf(timerOf(bob))).toBeNull();
  });
});

/** A pet as two users see theirs, apart from what names the pet itself. */
// The owner differs by design; everything else about the pet is the same.
const comparable = ({ pet_id: _id, seq: _seq, image_url: _url, user_id: _user, ...rest }: Pet) => rest;

describe("the pet's snapshot", () => {
  it("restores into another user's object: the same care, growth, cooldowns, personality and picture", async () => {
    const clock = freezeClock();
    const alice = await petUser("Europe/Berlin");
    const bob = await petUser("Europe/Berlin");
    await adoptPet(alice, { species: "dragon", name: "Ember" });
    await giveTreats(alice, 400);
    await careFor(alice, "feed", { xp_amount: 350 });
    clock.tick(3 * 3_600_000);
    await careFor(alice, "play");
    clock.tick(30_000);

    const snapshot = await petSnapshotOf(alice);
    expect(snapshot.pet).toMatchObject({ name: "Ember", species: "dragon", user_id: alice.id });
    const restored = await petObject(bob).restoreSnapshot(bob.id, snapshot);
    if (!restored.ok || !restored.value) throw new Error(JSON.stringify(restored));
    const [a, b] = [await petOf(alice), await petOf(bob)];
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.pet_id).not.toBe(a.pet_id);
    expect(b.level).toBeGreaterThan(1);
    expect(b.play_ready_at).not.toBeNull();
    // The picture is drawn from the pet's own seed: the same creature.
    const [pa, pb] = await Promise.all([
      call(`/api/v1/pets/${a.pet_id}/image.svg`, { token: alice.token }),
      call(`/api/v1/pets/${b.pet_id}/image.svg`, { token: bob.token }),
    ]);
    expect(await pb.text()).toBe(await pa.text());
    const row = await env.DB.prepare("SELECT id, level, total_xp, treats FROM user_pets WHERE user_id = ?")
      .bind(bob.id)
      .first();
    expect(row).toEqual({ id: b.pet_id, level: a.level, total_xp: a.total_xp, treats: a.treats });
    // The one alarm is set for when the restored pet will need attention.
    const expectedAlarm =
      snapshot.pet && nextAttentionAt({ ...snapshot.pet, user_id: bob.id, pet_id: b.pet_id });
    expect(await alarmOf(petObject(bob))).toBe(expectedAlarm);

    const again = await petObject(bob).restoreSnapshot(bob.id, snapshot);
    expect(again.ok && again.value?.pet_id).toBe(b.pet_id);
  });

  it("takes the place of the pet the account already has: one pet per person, one row", async () => {
    const alice = await petUser();
    const bob = await petUser();
    await adoptPet(alice, { species: "cat", name: "Miso" });
    const own = await adoptPet(bob, { species: "dog", name: "Rex" });
    const restored = await petObject(bob).restoreSnapshot(bob.id, await petSnapshotOf(alice));
    expect(restored.ok && restored.value?.pet_id).toBe(own.pet_id);
    expect(await petOf(bob)).toMatchObject({ pet_id: own.pet_id, name: "Miso", species: "cat" });
    const rows = await env.DB.prepare("SELECT id, name FROM user_pets WHERE user_id = ?").bind(bob.id).all();
    expect(rows.results).toEqual([{ id: own.pet_id, name: "Miso" }]);
  });

  it("takes the id of a pet row D1 already holds for the account, and leaves a pet in place for a snapshot without one", async () => {
    const alice = await petUser();
    const bob = await petUser();
    const carol = await petUser();
    await adoptPet(alice, { species: "fox", name: "Sly" });
    // Bob's pet row was written by a restore of the tables, before his object ever saw a pet.
    const rowId = crypto.randomUUID();
    await env.DB.prepare(
      `INSERT INTO user_pets (id, user_id, species, name, seed, hunger, happiness, stats_at, created_at, updated_at)
       VALUES (?1, ?2, 'fox', 'Sly', 'seed', 50, 50, ?3, ?3, ?3)`,
    )
      .bind(rowId, bob.id, new Date().toISOString())
      .run();
    const restored = await petObject(bob).restoreSnapshot(bob.id, await petSnapshotOf(alice));
    expect(restored.ok && restored.value?.pet_id).toBe(rowId);
    const empty = await petSnapshotOf(carol);
    expect(empty).toEqual({ version: LIVE_VERSION, pet: null });
    const kept = await petObject(bob).restoreSnapshot(bob.id, empty);
    expect(kept.ok && kept.value?.name).toBe("Sly");
    expect(await petObject(carol).restoreSnapshot(carol.id, empty)).toEqual({ ok: true, value: null });
    const refused = await petObject(carol).restoreSnapshot(carol.id, { version: 1, pet: { name: "x" } });
    expect(refused).toMatchObject({ ok: false, error: { status: 422, code: "invalid_snapshot" } });
  });
});

const MIN = 60_000;
/** Numbers a hostile file might hold where a count, duration or time belongs. */
const wildNumber = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom(-1, 0, 1e12, 8.64e15, 9e15, 2 ** 53, Number.MAX_VALUE, 0.5),
  fc.integer(),
);
/** Mostly plausible, sometimes wild. */
const numberOr = (plausible: fc.Arbitrary<number>) =>
  fc.oneof({ weight: 4, arbitrary: plausible }, { weight: 1, arbitrary: wildNumber });
const aTime = () => numberOr(fc.integer({ min: Date.now() - 30 * 24 * 60 * MIN, max: Date.now() }));
const wildText = fc.oneof(
  { weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 12 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "__proto__", "constructor", "x".repeat(3000)) },
);
const settingsArb = fc.record(
  Object.fromEntries(
    (Object.keys(SETTING_LIMITS) as (keyof typeof SETTING_LIMITS)[]).map((k) => [
      k,
      numberOr(fc.integer({ min: SETTING_LIMITS[k][0] - 2, max: SETTING_LIMITS[k][1] + 2 })),
    ]),
  ),
);
const kindArb = fc.constantFrom("pomodoro", "deep_work", "short_burst", "flowtime", "custom");
const isoArb = aTime().map((ms) => {
  const date = new Date(Math.abs(ms) % 8.64e15);
  return Number.isNaN(date.getTime()) ? new Date(0).toISOString() : date.toISOString();
});
const workArb = fc.record({
  session_id: wildText,
  kind: kindArb,
  planned_ms: fc.option(numberOr(fc.integer({ min: 0, max: 240 * MIN }))),
  extended_ms: numberOr(fc.integer({ min: 0, max: 60 * MIN })),
  started_at: aTime(),
  running_since: fc.option(aTime()),
  banked_ms: numberOr(fc.integer({ min: 0, max: 240 * MIN })),
  paused_at: fc.option(aTime()),
  pauses: numberOr(fc.nat(20)),
  paused_ms: numberOr(fc.integer({ min: 0, max: 120 * MIN })),
  interruptions: numberOr(fc.nat(60)),
  interruption_log: fc.array(fc.record({ at: aTime(), note: fc.option(wildText) }), { maxLength: 52 }),
  task_id: fc.option(wildText),
  step_id: fc.option(wildText),
});
const recordArb = fc.record({
  session_id: wildText,
  user_id: wildText,
  kind: kindArb,
  planned_minutes: fc.option(numberOr(fc.nat(240))),
  actual_seconds: numberOr(fc.nat(240 * 60)),
  completed: fc.boolean(),
  end_reason: fc.constantFrom("finished", "time_up", "abandoned", "pause_timeout", "flowtime_cap"),
  interruptions: numberOr(fc.nat(60)),
  interruption_log: fc.array(fc.record({ at: isoArb, note: fc.option(wildText) }), { maxLength: 3 }),
  pauses: numberOr(fc.nat(10)),
  paused_seconds: numberOr(fc.nat(3600)),
  extended_minutes: numberOr(fc.nat(60)),
  cycle: numberOr(fc.nat(10)),
  task_id: fc.option(wildText),
  step_id: fc.option(wildText),
  started_at: isoArb,
  ended_at: isoArb,
});
const focusSnapshotArb = fc.record({
  version: numberOr(fc.constant(LIVE_VERSION)),
  settings: settingsArb,
  timer: fc.option(
    fc.record({
      user_id: wildText,
      work: fc.option(workArb),
      break: fc.option(
        fc.record({
          kind: fc.constantFrom("short", "long"),
          planned_ms: numberOr(fc.integer({ min: 0, max: 60 * MIN })),
          started_at: aTime(),
          after_session_id: wildText,
        }),
      ),
      run_count: numberOr(fc.nat(10)),
      run_kind: fc.option(kindArb),
      last_ended_at: fc.option(aTime()),
      settings: settingsArb,
      last_record: fc.option(recordArb),
    }),
  ),
});
const petSnapshotArb = fc.record({
  version: numberOr(fc.constant(LIVE_VERSION)),
  pet: fc.record({
    pet_id: wildText,
    user_id: wildText,
    species: fc.constantFrom("dog", "cat", "dragon", "owl", "fox"),
    name: wildText,
    seed: wildText,
    timezone: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom("UTC", "Europe/Berlin", "Pacific/Kiritimati") },
      { weight: 1, arbitrary: fc.constantFrom("Mars/Olympus_Mons", "", "x".repeat(200)) },
    ),
    level: numberOr(fc.integer({ min: 1, max: 50 })),
    xp: numberOr(fc.nat(200_000)),
    total_xp: numberOr(fc.nat(3_000_000)),
    stage: fc.constantFrom(1, 2, 3),
    auto_evolve: fc.boolean(),
    fullness: numberOr(fc.integer({ min: 0, max: 100 })),
    happiness: numberOr(fc.integer({ min: 0, max: 100 })),
    stats_at: aTime(),
    treats: numberOr(fc.nat(100_000)),
    needs_attention: fc.boolean(),
    play_ready_at: aTime(),
    pet_ready_at: aTime(),
    fed_event_ready_at: aTime(),
    personality: fc.option(
      fc.record({
        name_suggestion: wildText,
        temperament: fc.constantFrom("energetic", "calm", "patient"),
        traits: fc.array(wildText, { maxLength: 4 }),
        dialogue_style: wildText,
        backstory: wildText,
        generated_by: fc.constantFrom("ai", "local"),
      }),
    ),
    created_at: aTime(),
  }),
});

const runAlarm = (stub: DurableObjectStub<FocusTimer> | DurableObjectStub<PetState>) =>
  runInDurableObject(stub as DurableObjectStub<FocusTimer>, (instance: FocusTimer) => instance.alarm());

describe("a hostile snapshot", () => {
  it("is refused with a sentence or restored, and the timer works afterwards either way", async () => {
    const bob = await userWithApiToken();
    await fc.assert(
      fc.asyncProperty(focusSnapshotArb, async (snapshot) => {
        // As a file would bring it: plain JSON (the generator's objects have no prototype).
        const file = JSON.parse(JSON.stringify(snapshot)) as unknown;
        const result = await timerOf(bob).restoreSnapshot(bob.id, file, { ownedIds: ["x"] });
        if (!result.ok) {
          expect(result.error.status).toBe(422);
          expect(result.error.detail).toMatch(/^The focus snapshot .+\.$/);
        }
        await timerOf(bob).current(bob.id);
        await runAlarm(timerOf(bob));
        const state = await focusStateOf(bob);
        if (result.ok) expect(state.phase).toBe("idle");
        expect(await settingsOf(bob)).toBeDefined();
      }),
      { numRuns: 40 },
    );
  });

  it("is refused with a sentence or restored, and the pet works afterwards either way", async () => {
    const bob = await petUser();
    await fc.assert(
      fc.asyncProperty(petSnapshotArb, async (snapshot) => {
        const file = JSON.parse(JSON.stringify(snapshot)) as unknown;
        const result = await petObject(bob).restoreSnapshot(bob.id, file);
        if (!result.ok) {
          expect(result.error.status).toBe(422);
          expect(result.error.detail).toMatch(/^The pet snapshot .+\.$/);
        }
        const view = await petObject(bob).view(bob.id);
        expect(view.ok || view.error.status === 404).toBe(true);
        await runAlarm(petObject(bob));
        if (view.ok) {
          const pet = await petOf(bob);
          expect(pet.level).toBeGreaterThanOrEqual(1);
          expect(pet.xp).toBeLessThan(pet.xp_for_level ?? 1);
        }
      }),
      { numRuns: 40 },
    );
  });

  it("cannot set a pet's growth past what its total XP earns, nor times far ahead, nor a zone that is not one", async () => {
    const clock = freezeClock();
    const alice = await petUser();
    const bob = await petUser();
    await adoptPet(alice, { species: "cat", name: "Miso" });
    const base = await petSnapshotOf(alice);
    const pet = base.pet;
    if (!pet) throw new Error("no pet");
    const restore = (change: Partial<typeof pet>) =>
      petObject(bob).restoreSnapshot(bob.id, { ...base, pet: { ...pet, ...change } });
    const refused = async (change: Partial<typeof pet>, where: RegExp) => {
      const result = await restore(change);
      expect(result).toMatchObject({ ok: false, error: { status: 422, code: "invalid_snapshot" } });
      if (!result.ok) expect(result.error.detail).toMatch(where);
    };
    await refused({ stats_at: 8.64e15 }, /stats_at/);
    await refused({ created_at: Date.now() + 2 * 3_600_000 }, /created_at/);
    await refused({ timezone: "Mars/Olympus_Mons" }, /timezone/);
    await refused({ name: "n".repeat(101) }, /name/);
    await refused({ treats: 1e12 }, /treats/);
    await refused({ total_xp: 2 ** 53 }, /total_xp/);
    const personality = pet.personality ?? {
      name_suggestion: "Miso",
      temperament: "calm" as const,
      traits: ["calm"],
      dialogue_style: "soft",
      backstory: "A cat.",
      generated_by: "local" as const,
    };
    await refused({ personality: { ...personality, backstory: "b".repeat(601) } }, /backstory/);
    await refused({ personality: { ...personality, traits: ["a", "b", "c", "d"] } }, /traits/);
    // Nothing was stored by the refusals.
    expect((await petObject(bob).view(bob.id)).ok).toBe(false);

    // Level 50 with no XP to show for it: the level follows the total XP.
    const inflated = await restore({ level: 50, xp: 0, total_xp: 300, stage: 3, treats: 40 });
    expect(inflated.ok).toBe(true);
    // 50 XP to level 2, 200 more to level 3: 300 is level 3 and 50 into it.
    expect(await petOf(bob)).toMatchObject({
      level: 3,
      xp: 50,
      total_xp: 300,
      evolution_stage: 1,
      treats: 40,
    });
    // A cooldown within the margin is kept no further ahead than the rules set one.
    expect((await restore({ play_ready_at: Date.now() + 50 * MIN })).ok).toBe(true);
    expect(Date.parse((await petOf(bob)).play_ready_at ?? "")).toBeLessThanOrEqual(Date.now() + 15 * MIN);
    clock.tick(16 * MIN);
    expect((await petOf(bob)).play_ready_at).toBeNull();
  });

  it("cannot hold a timer both working and on a break, times far ahead, or more than the API takes", async () => {
    const alice = await userWithApiToken();
    const bob = await userWithApiToken();
    await startFocus(alice, { kind: "pomodoro" });
    await focusAction(alice, "interrupt", { note: "a" });
    const base = await focusSnapshotOf(alice);
    const timer = base.timer;
    const work = timer?.work;
    if (!timer || !work) throw new Error("no session");
    const refused = async (change: Partial<typeof timer>, where: RegExp) => {
      const result = await timerOf(bob).restoreSnapshot(bob.id, { ...base, timer: { ...timer, ...change } });
      expect(result).toMatchObject({ ok: false, error: { status: 422, code: "invalid_snapshot" } });
      if (!result.ok) expect(result.error.detail).toMatch(where);
    };
    await refused(
      { break: { kind: "short", planned_ms: 5 * MIN, started_at: Date.now(), after_session_id: "s" } },
      /break/,
    );
    await refused({ work: { ...work, started_at: 9e15 } }, /work\.started_at/);
    await refused({ work: { ...work, planned_ms: 1e12 } }, /work\.planned_ms/);
    await refused({ last_ended_at: Date.now() + 3 * 3_600_000 }, /last_ended_at/);
    await refused(
      { work: { ...work, interruption_log: [{ at: Date.now(), note: "n".repeat(501) }] } },
      /note/,
    );
    const many = Array.from({ length: 51 }, () => ({ at: Date.now(), note: null }));
    await refused({ work: { ...work, interruption_log: many } }, /interruption_log/);
    // Settings out of range (the timer's own too) are restored as the defaults, as PATCH would refuse them.
    const wild = { ...base.settings, short_break_minutes: 1e12 };
    const restored = await timerOf(bob).restoreSnapshot(bob.id, {
      ...base,
      settings: wild,
      timer: { ...timer, settings: wild },
    });
    expect(restored.ok).toBe(true);
    expect((await settingsOf(bob)).short_break_minutes).toBe(5);
    await startFocus(bob, { kind: "pomodoro", duration_minutes: 5 });
    await focusAction(bob, "finish");
    expect((await focusStateOf(bob)).break?.planned_minutes).toBe(5);
  });
});
