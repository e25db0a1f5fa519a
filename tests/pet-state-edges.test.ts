import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { PetState } from "../durable-objects/pet-state";
import type { Env } from "../src/env";
import type { PetSnapshot } from "../src/features/export/format";
import { ACCOUNT_GONE } from "../src/lib/live-refusal";
import { SOCKET_GRANT_HEADER, type SocketGrant } from "../src/lib/live-socket";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { freezeClock, nextUtc } from "./helpers/clock";
import { openSocket } from "./helpers/focus";
import { adoptPet, giveTreats, interactionsOf, PET_CHANNEL, petObject, petOf } from "./helpers/pets";
import { beforeStatements } from "./helpers/sql-spy";

const UNAVAILABLE = { status: 503, code: "unavailable" };
const NO_PET = { status: 404, code: "not_found" };

/** A D1 that has lost its connection: every statement fails. */
const unreachableD1 = new Proxy(env.DB, {
  get(target, prop) {
    if (prop === "prepare") {
      return () => {
        throw new Error("D1_ERROR: Network connection lost.");
      };
    }
    const value: unknown = Reflect.get(target, prop);
    return typeof value === "function" ? value.bind(target) : value;
  },
});

/** The real D1, with every answer held back until `release` is called: a slow lookup, held still. */
function heldD1(): { db: D1Database; release: () => void } {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { db: beforeStatements(env.DB, /./, () => gate), release };
}

/** Runs `fn` in the user's pet object while it reaches D1 through `db`; the real D1 again after. */
function withD1<T>(user: TestUser, db: D1Database, fn: (pet: PetState) => Promise<T>): Promise<T> {
  return runInDurableObject(petObject(user), async (instance: PetState) => {
    const object = instance as unknown as { env: Env };
    const real = object.env;
    object.env = { ...real, DB: db };
    try {
      return await fn(instance);
    } finally {
      object.env = real;
    }
  });
}

/** A user whose pet is in D1 but not in its object (an object that lost its storage): the object must ask D1. */
async function petOnlyInD1(name = "Pip"): Promise<TestUser> {
  const user = await createUser();
  await adoptPet(user, { species: "owl", name });
  await runInDurableObject(petObject(user), (_instance: PetState, state) => state.storage.deleteAll());
  await evictDurableObject(petObject(user));
  return user;
}

/** The upgrade the Worker forwards once it has authenticated the user. */
function forwardedUpgrade(user: TestUser): Request {
  const grant: SocketGrant = {
    user_id: user.id,
    can_write: true,
    expires_at: Date.now() + 60_000,
    credential: { kind: "session", id: `session-${crypto.randomUUID()}` },
    subprotocol: false,
  };
  return new Request("https://pets.test/api/v1/pets/ws", {
    headers: { upgrade: "websocket", [SOCKET_GRANT_HEADER]: JSON.stringify(grant) },
  });
}

const work = (source = crypto.randomUUID(), xp = 12) => ({
  source_key: `task:${source}`,
  kind: "task" as const,
  xp,
  occurred_at: Date.now(),
});

const PET = { type: "pet" } as const;

async function exportedPet(user: TestUser): Promise<PetSnapshot> {
  const snapshot = await petObject(user).snapshot(user.id);
  if (!snapshot.ok) throw new Error(`no snapshot: ${snapshot.error.detail}`);
  return snapshot.value;
}

describe("a pet whose account was erased", () => {
  it("answers every call as gone, feeds nothing, restores nothing and never comes back", async () => {
    const user = await createUser();
    const pet = await adoptPet(user, { name: "Gone" });
    const exported = await exportedPet(user);
    const stub = petObject(user);
    await stub.erase();

    const adopted = await stub.adopt({
      pet_id: crypto.randomUUID(),
      user_id: user.id,
      species: "cat",
      name: "Again",
      timezone: "UTC",
      personality: null,
    });
    expect(adopted).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(await stub.view(user.id)).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(await stub.act(user.id, PET)).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(await stub.update(user.id, { name: "Renamed" })).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(await stub.snapshot(user.id)).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(await stub.restoreSnapshot(user.id, exported)).toEqual({ ok: false, error: ACCOUNT_GONE });
    // Work finished just before the deletion is taken (nothing to retry) and feeds nothing.
    expect(await stub.nourish(user.id, work())).toBe(true);
    await stub.setTimezone(user.id, "Asia/Tokyo");
    await stub.flushed();
    const upgrade = await stub.fetch(forwardedUpgrade(user));
    expect(upgrade.status).toBe(401);
    expect((await problemOf(upgrade)).detail).toMatch(/no longer exists/);

    // Its alarm, run anyway, stores and arms nothing: the object stays an empty tombstone.
    const after = await runInDurableObject(stub, async (instance: PetState, state) => {
      await instance.alarm();
      return { alarm: await state.storage.getAlarm(), view: await instance.view(user.id) };
    });
    expect(after).toEqual({ alarm: null, view: { ok: false, error: ACCOUNT_GONE } });
    // D1's pet row is the account deletion's to remove; the object wrote nothing more to it.
    const row = await env.DB.prepare("SELECT name FROM user_pets WHERE id = ?")
      .bind(pet.pet_id)
      .first<{ name: string }>();
    expect(row?.name).toBe("Gone");
  });

  it("answers gone to calls that were reading the pet back from D1 when the erasure came", async () => {
    const user = await petOnlyInD1();
    const d1 = heldD1();
    const answers = await withD1(user, d1.db, async (pet) => {
      // Each is waiting on D1 when the account's erasure runs; D1 answers only after it.
      const acting = pet.act(user.id, PET, { key: "k-gone", requestHash: "h" });
      const feeding = pet.nourish(user.id, work());
      const opening = pet.fetch(forwardedUpgrade(user));
      await pet.erase();
      d1.release();
      const upgrade = await opening;
      return {
        acted: await acting,
        fed: await feeding,
        upgrade: { status: upgrade.status, body: await upgrade.json<{ detail: string }>() },
        view: await pet.view(user.id),
      };
    });
    expect(answers.acted).toEqual({ ok: false, error: ACCOUNT_GONE });
    expect(answers.fed).toBe(true);
    expect(answers.upgrade).toMatchObject({ status: 401, body: { detail: ACCOUNT_GONE.detail } });
    // The pet D1 answered with was not brought back into the erased object.
    expect(answers.view).toEqual({ ok: false, error: ACCOUNT_GONE });
  });
});

describe("a pet object that cannot reach D1 the first time it needs its pet", () => {
  it("answers 503 to every call, and finds the pet once D1 is back", async () => {
    const user = await petOnlyInD1("Hoot");
    const answers = await withD1(user, unreachableD1, async (pet) => {
      const upgrade = await pet.fetch(forwardedUpgrade(user));
      return {
        adopted: await pet.adopt({
          pet_id: crypto.randomUUID(),
          user_id: user.id,
          species: "cat",
          name: "Second",
          timezone: "UTC",
          personality: null,
        }),
        viewed: await pet.view(user.id),
        acted: await pet.act(user.id, PET),
        updated: await pet.update(user.id, { name: "Renamed" }),
        snapshot: await pet.snapshot(user.id),
        restored: await pet.restoreSnapshot(user.id, { version: 1, pet: null }),
        // The events queue is asked to deliver the work again later.
        fed: await pet.nourish(user.id, work()).then(
          () => "fed",
          (error: unknown) => String(error),
        ),
        upgrade: { status: upgrade.status, code: (await upgrade.json<{ code: string }>()).code },
      };
    });
    for (const refused of [answers.adopted, answers.viewed, answers.acted, answers.updated]) {
      expect(refused).toMatchObject({ ok: false, error: UNAVAILABLE });
    }
    expect(answers.snapshot).toMatchObject({ ok: false, error: UNAVAILABLE });
    expect(answers.restored).toMatchObject({ ok: false, error: UNAVAILABLE });
    expect(answers.fed).toMatch(/pet lookup failed/);
    expect(answers.upgrade).toEqual({ status: 503, code: "unavailable" });

    // The outage was not taken for "no pet": the next call finds it in D1, unchanged.
    expect(await petOf(user)).toMatchObject({ name: "Hoot", species: "owl", treats: 0 });
    expect((await interactionsOf(user)).map((i) => i.kind)).toEqual(["adopt"]);
  });
});

describe("a pet object reading its pet back from D1", () => {
  it("answers a keyed action sent twice at once one time, replaying that answer to the copy", async () => {
    const user = await petOnlyInD1();
    const key = { key: "k-twice", requestHash: "h-twice" };
    const [first, second] = await withD1(user, env.DB, (pet) =>
      Promise.all([pet.act(user.id, PET, key), pet.act(user.id, PET, key)]),
    );
    expect(first).toMatchObject({ ok: true, replayed: false, value: { pet: { name: "Pip" } } });
    expect(second).toMatchObject({ ok: true, replayed: true });
    if (!first.ok || !second.ok) throw new Error("refused");
    expect(second.value).toEqual(first.value);
    expect((await interactionsOf(user)).map((i) => i.kind)).toEqual(["pet", "adopt"]);
  });

  it("feeds work reported twice at once one time", async () => {
    const user = await petOnlyInD1();
    const once = work("twice", 30);
    const fed = await withD1(user, env.DB, (pet) =>
      Promise.all([pet.nourish(user.id, once), pet.nourish(user.id, once)]),
    );
    expect(fed).toEqual([true, true]);
    expect((await petOf(user)).treats).toBe(30);
    expect((await interactionsOf(user)).map((i) => i.kind)).toEqual(["nourish:task", "adopt"]);
  });

  it("takes a time zone moved to while it held no pet from D1's record of the user", async () => {
    freezeClock(nextUtc("23:00"));
    const user = await createUser({ timezone: "UTC" });
    await adoptPet(user);
    expect((await petOf(user)).mood).toBe("sleepy");
    await runInDurableObject(petObject(user), (_instance: PetState, state) => state.storage.deleteAll());
    await evictDurableObject(petObject(user));
    await callJson("/api/v1/auth/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { timezone: "Asia/Tokyo" },
    });
    // Morning in Tokyo: awake.
    expect((await petOf(user)).mood).toBe("playful");
  });
});

describe("before adoption", () => {
  it("refuses care and changes with 404, feeds nothing, and a zone move makes no pet", async () => {
    const user = await createUser();
    for (const [path, method, body] of [
      ["/api/v1/pets/me/play", "POST", undefined],
      ["/api/v1/pets/me", "PATCH", { name: "Nobody" }],
    ] as const) {
      const res = await call(path, { method, token: user.token, body });
      expect(res.status, path).toBe(404);
      expect((await problemOf(res)).detail).toContain("adopt");
    }
    expect(await petObject(user).nourish(user.id, work())).toBe(false);
    await petObject(user).setTimezone(user.id, "Asia/Tokyo");
    expect(await petObject(user).view(user.id)).toMatchObject({ ok: false, error: NO_PET });
    // Nothing was held against the adoption that follows.
    expect((await adoptPet(user, { name: "First" })).name).toBe("First");
  });
});

describe("changing the pet", () => {
  it("switches automatic evolution alone, keeping its name", async () => {
    const user = await createUser();
    await adoptPet(user, { name: "Keeps" });
    const updated = await callJson<{ name: string; auto_evolve: boolean }>("/api/v1/pets/me", 200, {
      method: "PATCH",
      token: user.token,
      body: { auto_evolve: false },
    });
    expect(updated).toMatchObject({ name: "Keeps", auto_evolve: false });
    expect(await petOf(user)).toMatchObject({ name: "Keeps", auto_evolve: false });
  });
});

describe("the live pet socket", () => {
  it("feeds over the socket, answers a refused action and a malformed message as errors, and stays open", async () => {
    const user = await createUser();
    await adoptPet(user);
    await giveTreats(user, 30);
    const socket = await openSocket({ token: user.token, channel: PET_CHANNEL });
    await socket.waitFor(1);
    socket.ws.send("{not json");
    const [, malformed] = await socket.waitFor(2);
    expect(malformed).toMatchObject({ type: "error", status: 400, code: "malformed_json" });

    socket.ws.send(JSON.stringify({ type: "action", action: "feed", xp_amount: 20, request_id: "f-1" }));
    const fedMessages = await socket.waitFor(4);
    expect(fedMessages.find((m) => m.request_id === "f-1")).toMatchObject({ type: "ack" });
    expect(fedMessages.find((m) => m.type === "state")).toMatchObject({
      event: "fed",
      state: { treats: 10 },
    });

    socket.ws.send(JSON.stringify({ type: "action", action: "feed", xp_amount: 20, request_id: "f-2" }));
    const refused = (await socket.waitFor(5)).find((m) => m.request_id === "f-2");
    expect(refused).toMatchObject({
      type: "error",
      request_id: "f-2",
      status: 409,
      code: "not_enough_treats",
    });
    expect(await petOf(user)).toMatchObject({ treats: 10, xp: 20 });
    socket.close();
  });
});
