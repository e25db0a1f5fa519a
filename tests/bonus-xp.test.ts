import { createExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it } from "vitest";
import type { AcceptedDto, BonusEventDto, CalculatedXpDto } from "../src/features/gamification/schemas";
import worker from "../src/index";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { adminToken, ledgerOf, profileOf } from "./helpers/gamification";
import { eventsOf, settle } from "./helpers/outbox";
import { completeStep, createTask } from "./helpers/tasks";

// Bonus windows are global: this file keeps them to itself and cancels each one after its test.
const created: string[] = [];
let admin: string | undefined;
const adminOnce = async () => {
  admin ??= await adminToken();
  return admin;
};

afterEach(async () => {
  const token = await adminOnce();
  for (const id of created.splice(0)) {
    await (
      await call(`/api/v1/gamification/enhanced/bonus-events/${id}`, { method: "DELETE", token })
    ).text();
  }
});

async function window(multiplier: number, from = -3_600_000, to = 3_600_000) {
  const now = Date.now();
  const body = await callJson<BonusEventDto>("/api/v1/gamification/enhanced/bonus-events", 201, {
    token: await adminOnce(),
    body: {
      name: `${multiplier}x`,
      multiplier,
      starts_at: new Date(now + from).toISOString(),
      ends_at: new Date(now + to).toISOString(),
    },
  });
  created.push(body.id);
  return body;
}

const calculate = (token: string, body: Record<string, unknown> = {}) =>
  callJson<CalculatedXpDto>("/api/v1/gamification/enhanced/xp/calculate", 200, {
    token,
    body: { kind: "step", priority: "medium", estimated_minutes: 2, ...body },
  });

describe("admin tokens", () => {
  it("are refused to anyone not listed in ADMIN_EMAILS, and login sessions never hold the admin scope", async () => {
    const user = await createUser();
    const mint = await call("/api/v1/auth/tokens", {
      token: user.token,
      body: { name: "x", scopes: ["admin"] },
    });
    expect(mint.status).toBe(403);
    expect((await problemOf(mint)).detail).toContain("administrators");
    const create = await call("/api/v1/gamification/enhanced/bonus-events", {
      token: user.token,
      body: {
        name: "sneaky",
        multiplier: 2,
        starts_at: new Date().toISOString(),
        ends_at: new Date(Date.now() + 1000).toISOString(),
      },
    });
    expect(create.status).toBe(403);
  });
});

describe("an administrator who is no longer one", () => {
  it("finds their admin token refused at once", async () => {
    const token = await adminOnce();
    const list = { authorization: `Bearer ${token}` };
    const metrics = (adminEmails: string) =>
      worker.fetch(
        new Request("https://api.test/api/v1/gamification/enhanced/leaderboard/metrics", { headers: list }),
        { ...env, ADMIN_EMAILS: adminEmails },
        createExecutionContext(),
      );
    expect((await metrics("admin@example.com")).status).toBe(200);
    const revoked = await metrics("someone-else@example.com");
    expect(revoked.status).toBe(403);
    expect(await revoked.text()).toContain("no longer an administrator");
  });
});

describe("bonus XP windows", () => {
  it("multiply grants inside the window, as a ledger row of their own", async () => {
    const bonus = await window(2);
    expect(bonus).toMatchObject({ active: true, multiplier: 2 });
    const user = await createUser();
    const task = await createTask(user, {
      title: "Double",
      micro_steps: [{ description: "x", estimated_minutes: 2 }, { description: "y" }],
    });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await settle(user.id);
    const rows = await ledgerOf(user);
    const stepKey = `step:${task.micro_steps?.[0]?.step_id}`;
    expect(rows.filter((r) => r.source_key.endsWith(stepKey))).toEqual([
      { source: "step", source_key: stepKey, amount: 13 },
      { source: "event_bonus", source_key: `bonus:${stepKey}`, amount: 13 },
    ]);
    expect((await profileOf(user)).total_xp).toBe(rows.reduce((s, r) => s + r.amount, 0));
  });

  it("stack when they overlap, but never past 3×", async () => {
    const user = await createUser();
    expect(await calculate(user.token)).toMatchObject({ amount: 13, multiplier: 1, bonus: 0 });
    const a = await window(2);
    const b = await window(1.5);
    expect(await calculate(user.token)).toMatchObject({
      amount: 33,
      subtotal: 13,
      multiplier: 2.5,
      bonus: 20,
    });
    await window(2);
    const capped = await calculate(user.token);
    expect(capped).toMatchObject({ amount: 39, multiplier: 3, bonus: 26 });
    expect(capped.bonus_events).toEqual(expect.arrayContaining([a.id, b.id]));
  });

  it("do not apply outside their window, nor once cancelled", async () => {
    const user = await createUser();
    const later = await window(2, 3_600_000, 7_200_000);
    expect(later.active).toBe(false);
    expect((await calculate(user.token)).multiplier).toBe(1);
    expect(
      (await calculate(user.token, { at: new Date(Date.now() + 5_000_000).toISOString() })).multiplier,
    ).toBe(2);
    const now = await window(2);
    await callJson(`/api/v1/gamification/enhanced/bonus-events/${now.id}`, 204, {
      method: "DELETE",
      token: await adminOnce(),
    });
    created.splice(created.indexOf(now.id), 1);
    expect((await calculate(user.token)).multiplier).toBe(1);
    const listed = await callJson<BonusEventDto[]>("/api/v1/gamification/enhanced/bonus-events", 200, {
      token: user.token,
    });
    expect(listed.map((e) => e.id)).toContain(later.id);
    expect(listed.map((e) => e.id)).not.toContain(now.id);
  });

  it.each([
    [{ multiplier: 1 }, "multiplier"],
    [{ multiplier: 4 }, "multiplier"],
    [{ ends_at: new Date(Date.now() - 86_400_000).toISOString() }, "ends_at"],
    [{ ends_at: new Date(Date.now() + 30 * 86_400_000).toISOString() }, "ends_at"],
  ])("refuses %j with 422", async (patch, field) => {
    const res = await call("/api/v1/gamification/enhanced/bonus-events", {
      token: await adminOnce(),
      body: {
        name: "bad",
        multiplier: 2,
        starts_at: new Date().toISOString(),
        ends_at: new Date(Date.now() + 3_600_000).toISOString(),
        ...patch,
      },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });
});

describe("XP calculation", () => {
  it("explains an amount without granting anything", async () => {
    const user = await createUser();
    expect(
      await calculate(user.token, { kind: "task", priority: "critical", estimated_minutes: 120 }),
    ).toMatchObject({
      amount: 42,
      subtotal: 42,
    });
    expect(await calculate(user.token, { kind: "focus", actual_minutes: 25 })).toMatchObject({ amount: 17 });
    expect(await ledgerOf(user)).toEqual([]);
    const bad = await call("/api/v1/gamification/enhanced/xp/calculate", {
      token: user.token,
      body: { kind: "nap" },
    });
    expect(bad.status).toBe(422);
  });
});

describe("manual grants", () => {
  it("grant through the event bus once per key, leveling up as far as the XP goes", async () => {
    const user = await createUser();
    const token = await adminOnce();
    const body = { user_id: user.id, amount: 500, reason: "Beta tester thank-you", key: "beta-2026" };
    const first = await callJson<AcceptedDto>("/api/v1/gamification/enhanced/xp/grant", 202, { token, body });
    expect(first.status).toBe("accepted");
    await callJson("/api/v1/gamification/enhanced/xp/grant", 202, { token, body });
    await settle(user.id);
    expect(await ledgerOf(user)).toEqual([{ source: "manual", source_key: "manual:beta-2026", amount: 500 }]);
    expect(await profileOf(user)).toMatchObject({ total_xp: 500, level: 4 });
    expect((await eventsOf(user.id, "level.up")).map((e) => e.data)).toEqual([
      { level: 4, previous_level: 1, total_xp: 500 },
    ]);
    const missing = await call("/api/v1/gamification/enhanced/xp/grant", {
      token,
      body: { ...body, user_id: crypto.randomUUID() },
    });
    expect(missing.status).toBe(404);
    const notAdmin = await call("/api/v1/gamification/enhanced/xp/grant", { token: user.token, body });
    expect(notAdmin.status).toBe(403);
  });
});
