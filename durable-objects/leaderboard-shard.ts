import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type {
  Board,
  ScoreEntry,
  ShardNeighbours,
  ShardRow,
} from "../src/features/gamification/leaderboard-types";

const SCHEMA_VERSION = 1;
/** Timings kept per operation for percentiles: the most recent ones. */
const TIMING_WINDOW = 5000;

/**
 * One shard of the XP leaderboards: the scores of the users whose id hashes to it, in its own SQLite,
 * indexed for the all-time board and for each week's board (a weekly score counts only while its
 * `week_start` is the current week, so Monday 00:00 UTC "resets" the board without any job).
 * Updates carry the user's version from D1: an older one arriving late, or the same one twice,
 * changes nothing. Opted-out users stay as hidden tombstones so that no late update brings them back.
 */
export class LeaderboardShard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timings = new Map<string, number[]>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sql = ctx.storage.sql;
    this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    const version = this.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'schema_version'")
      .toArray()[0];
    if (Number(version?.value ?? 0) < SCHEMA_VERSION) {
      ctx.storage.transactionSync(() => {
        this.sql.exec(`CREATE TABLE IF NOT EXISTS scores (
          user_id TEXT PRIMARY KEY, name TEXT NOT NULL, total_xp INTEGER NOT NULL,
          week_start TEXT NOT NULL, week_xp INTEGER NOT NULL, version INTEGER NOT NULL,
          hidden INTEGER NOT NULL DEFAULT 0)`);
        this.sql.exec(
          "CREATE INDEX IF NOT EXISTS scores_all_time ON scores (hidden, total_xp DESC, user_id)",
        );
        this.sql.exec(
          "CREATE INDEX IF NOT EXISTS scores_weekly ON scores (hidden, week_start, week_xp DESC, user_id)",
        );
        this.sql.exec(
          "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          String(SCHEMA_VERSION),
        );
      });
    }
  }

  /** Applies updates; each only if its version is newer than the stored one. Returns how many applied. */
  async upsert(entries: ScoreEntry[]): Promise<number> {
    return this.timed("upsert", () =>
      this.ctx.storage.transactionSync(() => {
        let applied = 0;
        for (const e of entries) {
          const cursor = this.sql.exec(
            `INSERT INTO scores (user_id, name, total_xp, week_start, week_xp, version, hidden)
             VALUES (?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT(user_id) DO UPDATE SET name = excluded.name, total_xp = excluded.total_xp,
               week_start = excluded.week_start, week_xp = excluded.week_xp, version = excluded.version,
               hidden = excluded.hidden
             WHERE excluded.version > scores.version`,
            e.user_id,
            e.name,
            e.total_xp,
            e.week_start,
            e.week_xp,
            e.version,
            e.hidden ? 1 : 0,
          );
          applied += cursor.rowsWritten > 0 ? 1 : 0;
        }
        return applied;
      }),
    );
  }

  /** The shard's best `limit` on a board (ties: lower user id first). */
  async top(board: Board, week: string, limit: number): Promise<ShardRow[]> {
    return this.timed(`top:${board}`, () =>
      board === "all_time"
        ? this.sql
            .exec<ShardRow>(
              `SELECT user_id, name, total_xp AS xp FROM scores WHERE hidden = 0
               ORDER BY total_xp DESC, user_id LIMIT ?`,
              limit,
            )
            .toArray()
        : this.sql
            .exec<ShardRow>(
              `SELECT user_id, name, week_xp AS xp FROM scores WHERE hidden = 0 AND week_start = ?
               ORDER BY week_xp DESC, user_id LIMIT ?`,
              week,
              limit,
            )
            .toArray(),
    );
  }

  /** One user's score on a board, if they are on it. */
  async score(board: Board, week: string, userId: string): Promise<ShardRow | null> {
    return this.timed(`score:${board}`, () => {
      const row = this.sql
        .exec<{ user_id: string; name: string; total_xp: number; week_start: string; week_xp: number }>(
          "SELECT user_id, name, total_xp, week_start, week_xp FROM scores WHERE user_id = ? AND hidden = 0",
          userId,
        )
        .toArray()[0];
      if (!row) return null;
      if (board === "weekly" && row.week_start !== week) return null;
      return { user_id: row.user_id, name: row.name, xp: board === "all_time" ? row.total_xp : row.week_xp };
    });
  }

  /** How many of this shard's entries rank above `at`, and the `k` nearest above and below it. */
  async around(board: Board, week: string, at: ShardRow, k: number): Promise<ShardNeighbours> {
    return this.timed(`around:${board}`, () => {
      const xp = board === "all_time" ? "total_xp" : "week_xp";
      const scope = board === "all_time" ? "hidden = 0" : "hidden = 0 AND week_start = ?";
      const args = board === "all_time" ? [] : [week];
      const above = `(${xp} > ? OR (${xp} = ? AND user_id < ?))`;
      const below = `(${xp} < ? OR (${xp} = ? AND user_id > ?))`;
      const count = this.sql
        .exec<{ n: number }>(
          `SELECT count(*) AS n FROM scores WHERE ${scope} AND ${above}`,
          ...args,
          at.xp,
          at.xp,
          at.user_id,
        )
        .toArray()[0];
      const nearestAbove = this.sql
        .exec<ShardRow>(
          `SELECT user_id, name, ${xp} AS xp FROM scores WHERE ${scope} AND ${above}
           ORDER BY ${xp} ASC, user_id DESC LIMIT ?`,
          ...args,
          at.xp,
          at.xp,
          at.user_id,
          k,
        )
        .toArray();
      const nearestBelow = this.sql
        .exec<ShardRow>(
          `SELECT user_id, name, ${xp} AS xp FROM scores WHERE ${scope} AND ${below}
           ORDER BY ${xp} DESC, user_id ASC LIMIT ?`,
          ...args,
          at.xp,
          at.xp,
          at.user_id,
          k,
        )
        .toArray();
      return { above_count: count?.n ?? 0, above: nearestAbove, below: nearestBelow };
    });
  }

  /** Per operation: calls timed inside this object, and their p50/p99/max in milliseconds. */
  async metrics(): Promise<{
    entries: number;
    operations: Record<string, { count: number; p50_ms: number; p99_ms: number; max_ms: number }>;
  }> {
    const operations: Record<string, { count: number; p50_ms: number; p99_ms: number; max_ms: number }> = {};
    for (const [op, samples] of this.timings) {
      const sorted = [...samples].sort((a, b) => a - b);
      const pick = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0;
      operations[op] = {
        count: samples.length,
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
        max_ms: sorted.at(-1) ?? 0,
      };
    }
    const entries =
      this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM scores WHERE hidden = 0").toArray()[0]?.n ?? 0;
    return { entries, operations };
  }

  private timed<T>(op: string, run: () => T): T {
    const started = performance.now();
    try {
      return run();
    } finally {
      const samples = this.timings.get(op) ?? [];
      samples.push(performance.now() - started);
      if (samples.length > TIMING_WINDOW) samples.splice(0, samples.length - TIMING_WINDOW);
      this.timings.set(op, samples);
    }
  }
}
