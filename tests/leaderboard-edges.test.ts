import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { FORGET_MS, type LeaderboardShard } from "../durable-objects/leaderboard-shard";
import { ranksBefore } from "../durable-objects/sorted-board";
import { weekStartOf } from "../src/features/gamification/progress";
import type { ScoreEntry, ShardRow } from "../src/features/gamification/protocol";
import { addDays } from "../src/lib/time";
import { freezeClock } from "./helpers/clock";

const MINUTE = 60_000;

/** A shard of its own: the app's shards are shared by every test. */
const freshShard = () => env.LEADERBOARD.get(env.LEADERBOARD.idFromName(`edges-${crypto.randomUUID()}`));

const thisWeek = () => weekStartOf(Date.now());

function entry(user_id: string, xp: number, overrides: Partial<ScoreEntry> = {}): ScoreEntry {
  return {
    user_id,
    name: `name-${user_id}`,
    total_xp: xp,
    week_start: thisWeek(),
    week_xp: xp,
    version: 1,
    hidden: false,
    ...overrides,
  };
}

const row = (user_id: string, xp: number): ShardRow => ({ user_id, name: `name-${user_id}`, xp });

const inRankOrder = (rows: ShardRow[]) => [...rows].sort((a, b) => (ranksBefore(a, b) ? -1 : 1));

const alarmOf = (stub: DurableObjectStub<LeaderboardShard>) =>
  runInDurableObject(stub, (_instance: LeaderboardShard, state) => state.storage.getAlarm());

describe("a leaderboard shard", () => {
  // One week throughout each test, whenever it runs (Monday's midnight passing mid-test included).
  beforeEach(() => {
    freezeClock();
  });

  it("ranks anyone first on a board nobody is on yet, with no neighbours", async () => {
    const shard = freshShard();
    for (const board of ["all_time", "weekly"] as const) {
      expect(await shard.around(board, thisWeek(), row("alone", 40), 3)).toEqual({
        above_count: 0,
        above: [],
        below: [],
      });
      expect(await shard.top(board, thisWeek(), 10)).toEqual([]);
    }
  });

  it("keeps a bulk load in rank order on boards already in use, however many rows land in one place", async () => {
    const shard = freshShard();
    // The boards are in memory (built empty), so the load goes through them row by row.
    expect(await shard.top("all_time", thisWeek(), 1)).toEqual([]);
    expect(await shard.top("weekly", thisWeek(), 1)).toEqual([]);
    // 1,200 rows, all arriving at the bottom of one growing block of the board.
    const entries = Array.from({ length: 1200 }, (_, i) =>
      entry(`u${String(i).padStart(4, "0")}`, 5000 - 3 * i - (i % 3)),
    );
    expect(await shard.upsert(entries)).toBe(1200);
    const expected = inRankOrder(entries.map((e) => row(e.user_id, e.total_xp)));
    expect(await shard.top("all_time", thisWeek(), 2000)).toEqual(expected);
    expect(await shard.top("weekly", thisWeek(), 2000)).toEqual(expected);
    for (const i of [0, 511, 512, 513, 1024, 1025, 1199]) {
      const at = expected[i] ?? row("?", 0);
      expect(await shard.around("all_time", thisWeek(), at, 2)).toEqual({
        above_count: i,
        above: expected.slice(Math.max(0, i - 2), i),
        below: expected.slice(i + 1, i + 3),
      });
    }
    // A load of that size is timed apart from everyday updates.
    const { operations } = await shard.metrics();
    expect(operations["upsert:bulk"]?.count).toBe(1);
    expect(operations.upsert).toBeUndefined();
  });

  it("moves users on the boards in use: last week's score takes them off this week's, opting out off both", async () => {
    const shard = freshShard();
    const week = thisWeek();
    await shard.upsert([entry("a", 50), entry("b", 30)]);
    expect(await shard.top("weekly", week, 10)).toEqual([row("a", 50), row("b", 30)]);
    const lastWeek = addDays(week, -7);
    await shard.upsert([
      entry("a", 80, { version: 2, week_start: lastWeek, week_xp: 20 }),
      entry("c", 45, { version: 1 }),
    ]);
    expect(await shard.top("weekly", week, 10)).toEqual([row("c", 45), row("b", 30)]);
    expect(await shard.top("all_time", week, 10)).toEqual([row("a", 80), row("c", 45), row("b", 30)]);
    expect(await shard.top("weekly", lastWeek, 10)).toEqual([row("a", 20)]);
    // Opting out takes a user off the boards in use at once.
    expect(await shard.upsert([entry("c", 45, { version: 2, hidden: true })])).toBe(1);
    expect(await shard.top("all_time", week, 10)).toEqual([row("a", 80), row("b", 30)]);
    expect(await shard.top("weekly", lastWeek, 10)).toEqual([row("a", 20)]);
    expect(await shard.top("weekly", week, 10)).toEqual([row("b", 30)]);
  });

  it("applies an empty update as nothing, and times no entry for it", async () => {
    const shard = freshShard();
    expect(await shard.upsert([])).toBe(0);
    const { entries, operations } = await shard.metrics();
    expect(entries).toBe(0);
    expect(operations.upsert?.count).toBe(1);
    expect(operations["upsert:per_entry"]).toBeUndefined();
  });

  it("keeps the most recent 5,000 timings of an operation", async () => {
    const shard = freshShard();
    await shard.upsert([entry("a", 10)]);
    const operations = await runInDurableObject(shard, async (instance: LeaderboardShard) => {
      for (let i = 0; i < 5003; i++) await instance.score("all_time", thisWeek(), "a");
      return (await instance.metrics()).operations;
    });
    expect(operations["score:all_time"]?.count).toBe(5000);
    expect(operations.upsert?.count).toBe(1);
  });

  it("keeps its scores through an eviction, building its boards again from its own storage", async () => {
    const shard = freshShard();
    const week = thisWeek();
    await shard.upsert([
      entry("a", 70),
      entry("b", 90, { week_start: addDays(week, -7) }),
      entry("hidden", 999, { hidden: true }),
    ]);
    await evictDurableObject(shard);
    expect(await shard.top("all_time", week, 10)).toEqual([row("b", 90), row("a", 70)]);
    expect(await shard.top("weekly", week, 10)).toEqual([row("a", 70)]);
    // An update no newer than the stored one still changes nothing after the eviction.
    expect(await shard.upsert([entry("a", 5)])).toBe(0);
    expect(await shard.score("all_time", week, "a")).toEqual(row("a", 70));
    expect((await shard.metrics()).entries).toBe(2);
  });
});

describe("a leaderboard shard's memory of erased accounts", () => {
  it("still refuses an erased account's late copies after an eviction, until its time is up", async () => {
    const clock = freezeClock();
    const shard = freshShard();
    const week = thisWeek();
    await shard.upsert([entry("gone", 40), entry("kept", 20)]);
    expect(await shard.forget(["gone"])).toBe(1);
    expect(await alarmOf(shard)).toBe(clock.now() + FORGET_MS);
    // The instance that saw the erasure is gone: only the stored hash is left to refuse by.
    await evictDurableObject(shard);
    expect(await shard.upsert([entry("gone", 50, { version: 2 }), entry("late", 10)])).toBe(1);
    expect(await shard.score("all_time", week, "gone")).toBeNull();
    expect(await shard.top("all_time", week, 10)).toEqual([row("kept", 20), row("late", 10)]);

    clock.tick(FORGET_MS + 1000);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    // Nothing is remembered, and nothing is due.
    expect(await alarmOf(shard)).toBeNull();
    const remembered = await runInDurableObject(
      shard,
      (_instance: LeaderboardShard, state) =>
        state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM forgotten").one().n,
    );
    expect(remembered).toBe(0);
    expect(await shard.upsert([entry("gone", 60, { version: 3 })])).toBe(1);
    expect(await shard.score("all_time", week, "gone")).toEqual(row("gone", 60));
  });

  it("forgets each erased account when its own time is up, refusing the others until theirs", async () => {
    const clock = freezeClock();
    const start = clock.now();
    const shard = freshShard();
    await shard.forget(["first"]);
    clock.tick(10 * MINUTE);
    await shard.forget(["second"]);
    expect(await alarmOf(shard)).toBe(start + FORGET_MS);
    clock.tick(FORGET_MS - 10 * MINUTE + 1000);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    // The first may come back; the second is refused, and the alarm waits for its moment.
    expect(await shard.upsert([entry("first", 10), entry("second", 20)])).toBe(1);
    expect(await shard.score("all_time", thisWeek(), "second")).toBeNull();
    expect(await alarmOf(shard)).toBe(start + 10 * MINUTE + FORGET_MS + 1);
    clock.tick(10 * MINUTE);
    expect(await runDurableObjectAlarm(shard)).toBe(true);
    expect(await alarmOf(shard)).toBeNull();
    expect(await shard.upsert([entry("second", 20)])).toBe(1);
    expect(await shard.top("all_time", thisWeek(), 10)).toEqual([row("second", 20), row("first", 10)]);
  });
});
