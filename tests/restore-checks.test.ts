/** The restore's preflight and id rules, as pure functions. */
import { describe, expect, it } from "vitest";
import { EXPORTED_TABLES } from "../src/features/export/format";
import { derivedId } from "../src/features/export/live";
import { checksOf, keysOf, rowProblem, ruleOf } from "../src/features/imports/restore/checks";
import { derivedIdSync, idMapper, mapSourceKey } from "../src/features/imports/restore/ids";
import { CLASHING_TABLES } from "../src/features/imports/restore/move";
import { sha256HexSync } from "../src/features/imports/restore/sha256";
import { groupsOf } from "../src/features/imports/restore/write";
import { sha256Hex } from "../src/lib/ids";

describe("the preflight of a row", () => {
  it("understands every CHECK constraint of every exported table (a new form fails here)", () => {
    const checks = EXPORTED_TABLES.flatMap((t) => checksOf(t.table).map((c) => ({ table: t.name, ...c })));
    expect(checks.length).toBeGreaterThan(5);
    for (const check of checks)
      expect({ ...check, rule: ruleOf(check.sql) !== null }).toMatchObject({ rule: true });
  });

  it("applies IN lists and BETWEEN ranges as SQLite does (NULL passes)", () => {
    const step = { estimated_minutes: 5, status: "pending" };
    expect(rowProblem("micro_steps", step)).toBeNull();
    expect(rowProblem("micro_steps", { ...step, estimated_minutes: 11 })).toMatch(/estimated_minutes/);
    expect(rowProblem("micro_steps", { ...step, estimated_minutes: 0 })).toMatch(/estimated_minutes/);
    expect(rowProblem("micro_steps", { ...step, estimated_minutes: null })).toBeNull();
    expect(rowProblem("tasks", { priority: "urgent" })).toMatch(/priority/);
    expect(rowProblem("tasks", { priority: "high", status: "completed" })).toBeNull();
  });

  it("parses JSON columns and checks a share's snapshot against the social feature's schema", () => {
    expect(rowProblem("xp_ledger", { breakdown: "{" })).toMatch(/breakdown is not JSON/);
    expect(rowProblem("xp_ledger", { breakdown: '{"base":5}' })).toBeNull();
    expect(rowProblem("social_shares", { snapshot: '{"kind":"level"}' })).toMatch(/snapshot/);
  });

  it("applies the API's field rules: timestamps, dates, lengths, JSON shapes (review3 M3)", () => {
    const now = new Date().toISOString();
    expect(rowProblem("tasks", { title: "ok", due_at: now, tags: '["a"]' })).toBeNull();
    // Offsets and seconds-only forms are times too, as IsoTimestamp reads them.
    expect(rowProblem("tasks", { due_at: `${now.slice(0, 19)}+02:00` })).toBeNull();
    expect(rowProblem("tasks", { due_at: `${now.slice(0, 16)}garbage` })).toMatch(
      /due_at is not an ISO-8601 time/,
    );
    expect(rowProblem("tasks", { due_at: null, description: null })).toBeNull();
    expect(rowProblem("tasks", { title: "  " })).toMatch(/title is not what the API accepts/);
    expect(rowProblem("tasks", { tags: '["not a tag!"]' })).toMatch(
      /tags is not what the API accepts \(at 0\)/,
    );
    expect(rowProblem("user_progress", { week_start: "", board_day: "" })).toBeNull();
    expect(rowProblem("activity_days", { day: "" })).toMatch(/day is not a date/);
    expect(rowProblem("activity_days", { day: now.slice(0, 10) })).toBeNull();
    expect(
      rowProblem("notification_preferences", { kinds: '{"reminder":{"in_app":true,"push":false}}' }),
    ).toBeNull();
    expect(rowProblem("notification_preferences", { due_soon_minutes: "[5,5]" })).toMatch(/due_soon_minutes/);
    // A JSON column that does not parse is said as such (not as a shape).
    expect(rowProblem("tasks", { tags: "[" })).toMatch(/tags is not JSON/);
  });

  it("names a row's key set independently of key order", () => {
    expect(keysOf({ b: 1, a: 2 })).toBe(keysOf({ a: 1, b: 2 }));
    expect(keysOf({ a: 1 })).not.toBe(keysOf({ a: 1, b: 2 }));
  });
});

describe("restored ids", () => {
  it("derives the same ids as the export's derivedId, and the same SHA-256 as crypto.subtle", async () => {
    const inputs = [
      "",
      "a",
      "abc",
      "é🙂\u0000x",
      "x".repeat(55),
      "y".repeat(56),
      "z".repeat(64),
      "w".repeat(200),
    ];
    for (let i = 0; i < 40; i++) inputs.push(crypto.randomUUID() + "é".repeat(i));
    for (const text of inputs) expect(sha256HexSync(text)).toBe(await sha256Hex(text));
    for (const old of [
      crypto.randomUUID(),
      "0190f0e6-0000-7000-8000-000000000001",
      "not-a-uuid",
      "__proto__",
    ])
      expect(derivedIdSync("user-1", old)).toBe(await derivedId("user-1", old));
  });

  it("maps the work inside every XP source key, bonus and pet shares included", async () => {
    const mapper = idMapper("user-x", false);
    const old = "0190f0e6-0000-7000-8000-000000000001";
    const id = await mapper.map(old);
    expect(id).not.toBe(old);
    for (const prefix of ["step", "task", "focus", "bonus:step", "pet:step", "bonus:task", "pet:focus"])
      expect(await mapSourceKey(mapper, `${prefix}:${old}`)).toBe(`${prefix}:${id}`);
    expect(await mapSourceKey(mapper, "manual:abc")).toBe("manual:abc");
    expect(await mapSourceKey(mapper, "challenge:daily-steps")).toBe("challenge:daily-steps");
  });

  it("keeps ids only when told the file is the account's own export", async () => {
    expect(await idMapper("u", true).map("abc")).toBe("abc");
    expect(await idMapper("u", false).map("abc")).not.toBe("abc");
  });
});

describe("statement groups", () => {
  it("measures rows in UTF-8 bytes, not characters", () => {
    const row = { text: "é".repeat(300) };
    // 300 characters but 600 bytes: a 1,000-byte group holds one row, not three.
    expect(groupsOf([row, row, row], 1_000)).toHaveLength(3);
    expect(groupsOf([row, row, row], 10_000)).toHaveLength(1);
  });
});

describe("which tables a merge's move must guard against the account's keys", () => {
  it("guards the tables whose keys hold user_id, and moves the rest in one plain UPDATE", () => {
    for (const table of [
      "xp_ledger",
      "activity_days",
      "user_badges",
      "notification_preferences",
      "user_pets",
    ])
      expect(CLASHING_TABLES.has(table)).toBe(true);
    for (const table of ["tasks", "micro_steps", "task_dependencies", "focus_sessions"])
      expect(CLASHING_TABLES.has(table)).toBe(false);
  });
});
