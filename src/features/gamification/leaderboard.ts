/**
 * The leaderboards, spread over LEADERBOARD_SHARDS Durable Objects by a hash of the user id (one
 * object serves about a thousand requests a second: sharding keeps writes from queueing behind one).
 * Writes are absolute, versioned copies of D1's user_progress, pushed after each delivery of events;
 * reads merge every shard's best and count each shard's entries above the caller for a rank.
 */
import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { Database } from "../../db";
import { userProgress, users } from "../../db/schema";
import type { Env } from "../../env";
import { chunkList } from "../../lib/chunk";
import { retryingStub } from "../../lib/transient";
import { boardName } from "./board-name";
import { weekStartOf } from "./progress";
import type { Board, ScoreEntry, ShardRow } from "./protocol";

const DEFAULT_SHARDS = 4;
const MAX_SHARDS = 64;

export function shardCount(env: Env): number {
  const n = Number(env.LEADERBOARD_SHARDS);
  return Number.isInteger(n) && n >= 1 && n <= MAX_SHARDS ? n : DEFAULT_SHARDS;
}

/** FNV-1a: a stable spread of user ids over shards. */
export function shardOf(userId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < userId.length; i++) {
    h ^= userId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

// Every shard call is safe to send twice: reads, and upserts and removals that set a state.
const shard = (env: Env, index: number) =>
  retryingStub(env.LEADERBOARD.get(env.LEADERBOARD.idFromName(`leaderboard-shard-${index}`)), () => true);

/** The name shown for a user who did not choose one: never their email. */
export const anonymousName = (userId: string) =>
  `Focuser ${userId.replaceAll("-", "").slice(-4).toUpperCase()}`;

type ProgressRow = typeof userProgress.$inferSelect;

/** The account's display name under the boards' own rule for names; none when it fails that rule. */
function boardSafe(displayName: string | null): string | undefined {
  const result = displayName === null ? undefined : boardName(displayName);
  return result?.ok ? result.name : undefined;
}

function entryOf(row: ProgressRow, displayName: string | null, hidden: boolean): ScoreEntry {
  return {
    user_id: row.userId,
    name: row.leaderboardName ?? boardSafe(displayName) ?? anonymousName(row.userId),
    // The boards rank what counts on them: at most BOARD_XP_PER_DAY a day (see user_progress).
    total_xp: row.boardXp,
    week_start: row.weekStart,
    week_xp: row.boardWeekXp,
    version: row.version,
    hidden,
  };
}

/** Sends entries to their shards, one call per shard. */
export async function sendEntries(env: Env, entries: readonly ScoreEntry[]): Promise<void> {
  const shards = shardCount(env);
  const byShard = new Map<number, ScoreEntry[]>();
  for (const entry of entries) {
    const index = shardOf(entry.user_id, shards);
    byShard.set(index, [...(byShard.get(index) ?? []), entry]);
  }
  await Promise.all([...byShard].map(([index, list]) => shard(env, index).upsert(list)));
}

/** Copies the current standing of these users (those who opted in) to the leaderboards. */
export async function pushScores(env: Env, db: Database, userIds: readonly string[]): Promise<void> {
  const entries: ScoreEntry[] = [];
  for (const ids of chunkList([...new Set(userIds)], 90)) {
    const rows = await db
      .select({ progress: userProgress, displayName: users.displayName })
      .from(userProgress)
      .innerJoin(users, eq(users.id, userProgress.userId))
      .where(and(inArray(userProgress.userId, ids), eq(userProgress.leaderboardOptIn, true)))
      .all();
    entries.push(...rows.map((r) => entryOf(r.progress, r.displayName, false)));
  }
  if (entries.length > 0) await sendEntries(env, entries);
}

/**
 * An opt-out, sent before D1 records it: a tombstone with the version the opt-out will have in D1
 * (`version`), so no update older than the opt-out — late, or racing it — brings the user back.
 */
export async function hideScore(env: Env, row: ProgressRow, version: number): Promise<void> {
  await sendEntries(env, [entryOf({ ...row, version }, null, true)]);
}

/**
 * Erases these accounts from every board of every shard (a user may sit in another shard than today's
 * hash says, after LEADERBOARD_SHARDS changed); late copies of their standing are refused for a while.
 */
export async function eraseFromLeaderboards(env: Env, userIds: readonly string[]): Promise<void> {
  await Promise.all(Array.from({ length: shardCount(env) }, (_, i) => shard(env, i).forget([...userIds])));
}

export interface RankedRow {
  rank: number;
  user_id: string;
  name: string;
  xp: number;
}

const byRank = (a: ShardRow, b: ShardRow) =>
  b.xp - a.xp || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0);

/** The top `limit` of a board, merged from every shard's own top `limit`. */
export async function topOf(env: Env, board: Board, limit: number, now = Date.now()): Promise<RankedRow[]> {
  const week = weekStartOf(now);
  const lists = await Promise.all(
    Array.from({ length: shardCount(env) }, (_, i) => shard(env, i).top(board, week, limit)),
  );
  return lists
    .flat()
    .sort(byRank)
    .slice(0, limit)
    .map((row, i) => ({ rank: i + 1, ...row }));
}

/** A user's rank on a board with up to `k` neighbours either side; null when they are not on it. */
export async function standingOf(
  env: Env,
  board: Board,
  userId: string,
  k: number,
  now = Date.now(),
): Promise<{ rank: number; xp: number; above: RankedRow[]; below: RankedRow[] } | null> {
  const week = weekStartOf(now);
  const shards = shardCount(env);
  const mine = await shard(env, shardOf(userId, shards)).score(board, week, userId);
  if (!mine) return null;
  const parts = await Promise.all(
    Array.from({ length: shards }, (_, i) => shard(env, i).around(board, week, mine, k)),
  );
  const rank = 1 + parts.reduce((sum, p) => sum + p.above_count, 0);
  const above = parts
    .flatMap((p) => p.above)
    .sort(byRank)
    .slice(-k)
    .map((row, i, list) => ({ rank: rank - list.length + i, ...row }));
  const below = parts
    .flatMap((p) => p.below)
    .sort(byRank)
    .slice(0, k)
    .map((row, i) => ({ rank: rank + 1 + i, ...row }));
  return { rank, xp: mine.xp, above, below };
}

const REBUILD_PAGE = 500;

/**
 * Copies every opted-in user from D1 to the leaderboards again, after clearing every shard: after
 * losing one, or changing LEADERBOARD_SHARDS (users move between shards). The boards are short while it runs.
 */
export async function rebuildLeaderboards(env: Env, db: Database): Promise<{ users: number }> {
  await Promise.all(Array.from({ length: shardCount(env) }, (_, i) => shard(env, i).clear()));
  let after = "";
  let count = 0;
  for (;;) {
    const rows = await db
      .select({ progress: userProgress, displayName: users.displayName })
      .from(userProgress)
      .innerJoin(users, eq(users.id, userProgress.userId))
      .where(and(eq(userProgress.leaderboardOptIn, true), gt(userProgress.userId, after)))
      .orderBy(asc(userProgress.userId))
      .limit(REBUILD_PAGE)
      .all();
    if (rows.length === 0) break;
    await sendEntries(
      env,
      rows.map((r) => entryOf(r.progress, r.displayName, false)),
    );
    count += rows.length;
    after = rows.at(-1)?.progress.userId ?? after;
    if (rows.length < REBUILD_PAGE) break;
  }
  return { users: count };
}

/** Each shard's timings of its own operations (measured inside the objects). */
export async function leaderboardMetrics(env: Env) {
  return Promise.all(
    Array.from({ length: shardCount(env) }, async (_, i) => ({
      shard: i,
      ...(await shard(env, i).metrics()),
    })),
  );
}
