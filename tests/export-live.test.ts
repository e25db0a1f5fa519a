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
  it("restores into another user's timer: the same settings, the same session, its alarm armed", async () => {
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
    clock.tick(60_000);

    const snapshot = await focusSnapshotOf(alice);
    expect(snapshot.version).toBe(LIVE_VERSION);
    expect(snapshot.settings).toEqual(await settingsOf(alice));
    expect(snapshot.timer?.work?.task_id).toBe(aliceTask.task_id);

    const restored = await timerOf(bob).restoreSnapshot(bob.id, snapshot, {
      ids: { [aliceTask.task_id]: bobTask.task_id },
    });
    expect(restored.ok).toBe(true);
    expect(await settingsOf(bob)).toEqual(await settingsOf(alice));
    const [a, b] = [await focusStateOf(alice), await focusStateOf(bob)];
    const {
      session_id: aliceSession,
      task_id: _at,
      ...aliceRest
    } = a.session ?? { session_id: "", task_id: null };
    const {
      session_id: bobSession,
      task_id: bobTaskId,
      ...bobRest
    } = b.session ?? { session_id: "", task_id: null };
    expect(bobRest).toEqual(aliceRest);
    expect(bobTaskId).toBe(bobTask.task_id);
    expect(bobSession).not.toBe(aliceSession);
    expect({ phase: b.phase, status: b.status }).toEqual({ phase: a.phase, status: a.status });
    // The one alarm wakes Bob's timer when the restored work is over.
    expect(await alarmOf(timerOf(bob))).toBe(Date.parse(b.session?.ends_at ?? ""));
    // D1 has Bob's settings too (the analytics and a cold timer read them there).
    const row = await env.DB.prepare(
      "SELECT pomodoro_work_minutes AS m, long_break_every AS e FROM focus_settings WHERE user_id = ?",
    )
      .bind(bob.id)
      .first();
    expect(row).toEqual({ m: 35, e: 3 });

    // Restoring the same snapshot again is the same restore.
    const again = await timerOf(bob).restoreSnapshot(bob.id, snapshot, {
      ids: { [aliceTask.task_id]: bobTask.task_id },
    });
    expect(again.ok).toBe(true);
    expect((await focusStateOf(bob)).session?.session_id).toBe(bobSession);
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
    // Without an ids map the task ids stay as they were (a restore into the same ids).
    expect((await timerOf(bob).restoreSnapshot(bob.id, snapshot)).ok).toBe(true);
    expect((await focusStateOf(bob)).session?.kind).toBe("short_burst");
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
const comparable = ({ pet_id: _id, seq: _seq, image_url: _url, ...rest }: Pet) => rest;

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
