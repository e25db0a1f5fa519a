import { DurableObject } from "cloudflare:workers";
import type { Env } from "../src/env";
import type { Board, ScoreEntry, ShardNeighbours, ShardRow } from "../src/features/gamification/protocol";
import { sha256Hex } from "../src/lib/ids";
import { SortedBoard } from "./sorted-board";

const SCHEMA_VERSION = 2;
/**
 * How long a deleted account stays refused after its scores are erased: a copy of its standing read
 * from D1 just before the deletion may still be on its way. Only the SHA-256 of its id is kept, and
 * only this long.
 */
export const FORGET_MS = 15 * 60_000;
/** Timings kept per operation for percentiles: the most recent ones. */
const TIMING_WINDOW = 5000;
/** Upserts of more entries than this are bulk loads (a rebuild), timed apart from everyday updates. */
const BULK_UPSERT = 50;

interface OperationTiming {
  count: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
}

/**
 * One shard of the XP leaderboards: the scores of the users whose id hashes to it, in its own SQLite
 * (a weekly score counts only while its `week_start` is the current week, so Monday 00:00 UTC "resets"
 * the board without any job). Updates carry the user's version from D1: an older one arriving late,
 * or the same one twice, changes nothing. Opted-out users stay as hidden tombstones so that no late
 * update brings them back. Reads go through an in-memory copy of each board in rank order (built on
 * first use, kept in step by every update), so a rank is a binary search, not a count of everyone above.
 */
export class LeaderboardShard extends DurableObject<Env> {
  private readonly sql: SqlStorage;
  private readonly timings = new Map<string, number[]>();
  private allTime: SortedBoard | undefined;
  private weekly: { week: string; board: SortedBoard } | undefined;
  /**
   * The accounts this instance erased, until when they are refused: complete (defined) only when the
   * instance started with none remembered, so that every one remembered went through it. Memory only:
   * storage keeps no more than the hashes.
   */
  private erasedHere: Map<string, number> | undefined;

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
        this.sql.exec("CREATE INDEX IF NOT EXISTS scores_week ON scores (week_start)");
        this.sql.exec(
          "CREATE TABLE IF NOT EXISTS forgotten (id_hash TEXT PRIMARY KEY, until INTEGER NOT NULL)",
        );
        this.sql.exec(
          "INSERT INTO meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
          String(SCHEMA_VERSION),
        );
      });
    }
    if (!this.remembersErasures()) this.erasedHere = new Map();
  }

  /** Readiness's probe (GET /health/ready), on an object of its own: reads and writes nothing. */
  ping(): "pong" {
    return "pong";
  }

  /**
   * Applies updates; each only if its version is newer than the stored one, and never for an account
   * erased within FORGET_MS. Returns how many applied.
   */
  async upsert(entries: ScoreEntry[]): Promise<number> {
    // While accounts are remembered as erased, each entry is checked against them: by plain id when
    // this instance saw every erasure still remembered (no hashing, and nothing awaits between the
    // check and the transaction), otherwise — after an eviction lost that memory — by hashing it.
    const hashes =
      this.remembersErasures() && !this.erasedHere
        ? await Promise.all(entries.map((e) => sha256Hex(e.user_id)))
        : undefined;
    const started = performance.now();
    const now = Date.now();
    const applied = this.timed(entries.length > BULK_UPSERT ? "upsert:bulk" : "upsert", () =>
      this.ctx.storage.transactionSync(() =>
        entries.filter(
          (e, i) =>
            !this.erasedRecently(e.user_id, now) &&
            this.sql.exec(
              `INSERT INTO scores (user_id, name, total_xp, week_start, week_xp, version, hidden)
               SELECT ?, ?, ?, ?, ?, ?, ?
               WHERE NOT EXISTS (SELECT 1 FROM forgotten WHERE id_hash = ? AND until >= ?)
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
              hashes?.[i] ?? null,
              now,
            ).rowsWritten > 0,
        ),
      ),
    );
    // Only once the transaction committed: a rolled-back one must leave the boards as they were.
    for (const e of applied) {
      this.allTime?.set(e.user_id, e.hidden ? null : { user_id: e.user_id, name: e.name, xp: e.total_xp });
      if (this.weekly) {
        const onIt = !e.hidden && e.week_start === this.weekly.week;
        this.weekly.board.set(e.user_id, onIt ? { user_id: e.user_id, name: e.name, xp: e.week_xp } : null);
      }
    }
    if (entries.length > 0) this.record("upsert:per_entry", (performance.now() - started) / entries.length);
    return applied.length;
  }

  /**
   * Erases these accounts' scores from every board (their accounts are being deleted), and refuses
   * updates for them for FORGET_MS. Safe to repeat. Returns how many scores it removed.
   */
  async forget(userIds: string[]): Promise<number> {
    const now = Date.now();
    const hashed = await Promise.all(userIds.map(async (id) => ({ id, hash: await sha256Hex(id) })));
    const removed = this.ctx.storage.transactionSync(() => {
      this.sql.exec("DELETE FROM forgotten WHERE until < ?", now);
      let count = 0;
      for (const { id, hash } of hashed) {
        count += this.sql.exec("DELETE FROM scores WHERE user_id = ?", id).rowsWritten;
        this.sql.exec(
          "INSERT INTO forgotten (id_hash, until) VALUES (?, ?) ON CONFLICT(id_hash) DO UPDATE SET until = excluded.until",
          hash,
          now + FORGET_MS,
        );
      }
      return count;
    });
    for (const id of userIds) {
      this.erasedHere?.set(id, now + FORGET_MS);
      this.allTime?.set(id, null);
      this.weekly?.board.set(id, null);
    }
    // The one alarm stays at the earliest moment something is due to be forgotten.
    const alarm = await this.ctx.storage.getAlarm();
    if (alarm === null || alarm > now + FORGET_MS) await this.ctx.storage.setAlarm(now + FORGET_MS);
    return removed;
  }

  /** Forgets the erased accounts whose time is up; none is kept past FORGET_MS (and a little). */
  override async alarm(): Promise<void> {
    const now = Date.now();
    this.sql.exec("DELETE FROM forgotten WHERE until < ?", now);
    for (const [id, until] of this.erasedHere ?? []) if (until < now) this.erasedHere?.delete(id);
    // The next one due (not the last): each is forgotten within moments of its time.
    const next = this.sql
      .exec<{ until: number | null }>("SELECT min(until) AS until FROM forgotten")
      .toArray()[0]?.until;
    if (next !== null && next !== undefined) {
      const alarm = await this.ctx.storage.getAlarm();
      if (alarm === null || alarm > next + 1) await this.ctx.storage.setAlarm(next + 1);
    } else {
      // Nothing remembered: from here on, this instance sees every erasure itself.
      this.erasedHere = new Map();
    }
  }

  private remembersErasures(): boolean {
    return this.sql.exec("SELECT 1 FROM forgotten LIMIT 1").toArray().length > 0;
  }

  /** Whether this instance erased the account within FORGET_MS (plain ids, in memory only). */
  private erasedRecently(userId: string, now: number): boolean {
    const until = this.erasedHere?.get(userId);
    return until !== undefined && until >= now;
  }

  /** Forgets every score (before a rebuild from D1: resharding, or repairing a shard). */
  async clear(): Promise<void> {
    this.sql.exec("DELETE FROM scores");
    this.allTime = undefined;
    this.weekly = undefined;
  }

  /** The shard's best `limit` on a board (ties: lower user id first). */
  async top(board: Board, week: string, limit: number): Promise<ShardRow[]> {
    return this.timed(`top:${board}`, () => this.boardOf(board, week).top(limit));
  }

  /** One user's score on a board, if they are on it. */
  async score(board: Board, week: string, userId: string): Promise<ShardRow | null> {
    return this.timed(`score:${board}`, () => this.boardOf(board, week).get(userId) ?? null);
  }

  /** How many of this shard's entries rank above `at`, and the `k` nearest above and below it. */
  async around(board: Board, week: string, at: ShardRow, k: number): Promise<ShardNeighbours> {
    return this.timed(`around:${board}`, () => {
      const sorted = this.boardOf(board, week);
      return { above_count: sorted.countBefore(at), ...sorted.around(at, k) };
    });
  }

  /** Per operation: calls timed inside this object, and their p50/p99/max in milliseconds. */
  async metrics(): Promise<{ entries: number; operations: Record<string, OperationTiming> }> {
    const operations: Record<string, OperationTiming> = {};
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
    // A count always answers one row.
    const entries = this.sql.exec<{ n: number }>("SELECT count(*) AS n FROM scores WHERE hidden = 0").one().n;
    return { entries, operations };
  }

  /** The in-memory board, built from SQLite the first time (and for each new week). */
  private boardOf(board: Board, week: string): SortedBoard {
    if (board === "all_time") {
      this.allTime ??= this.timed(
        "build:all_time",
        () =>
          new SortedBoard(
            this.sql
              .exec<ShardRow>("SELECT user_id, name, total_xp AS xp FROM scores WHERE hidden = 0")
              .toArray(),
          ),
      );
      return this.allTime;
    }
    if (this.weekly?.week !== week) {
      const board = this.timed(
        "build:weekly",
        () =>
          new SortedBoard(
            this.sql
              .exec<ShardRow>(
                "SELECT user_id, name, week_xp AS xp FROM scores WHERE hidden = 0 AND week_start = ?",
                week,
              )
              .toArray(),
          ),
      );
      this.weekly = { week, board };
    }
    return this.weekly.board;
  }

  private timed<T>(op: string, run: () => T): T {
    const started = performance.now();
    try {
      return run();
    } finally {
      this.record(op, performance.now() - started);
    }
  }

  private record(op: string, ms: number): void {
    const samples = this.timings.get(op) ?? [];
    samples.push(ms);
    if (samples.length > TIMING_WINDOW) samples.splice(0, samples.length - TIMING_WINDOW);
    this.timings.set(op, samples);
  }
}
