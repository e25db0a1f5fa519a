/** Bumped with every change to the tables below; `migrate` brings older objects forward. */
const SCHEMA_VERSION = 4;
/** Messages kept at least, for clients that reconnect with `?since=`: enough for a phone asleep a while. */
export const MESSAGE_LOG_SIZE = 100;
/** The log is cut back to its size once every this many messages, not on every change (a statement). */
const MESSAGE_LOG_TRIM_EVERY = 20;
/** Idempotency keys are remembered this long, like the HTTP API's D1-backed ones. */
const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * A D1 write is made right after the change that needs it; if that does not happen (a failure, an
 * eviction), the alarm retries it after 5 s, then 10 s, 20 s … at most 5 minutes apart.
 */
const FIRST_RETRY_MS = 5000;
const MAX_RETRY_DELAY_MS = 5 * 60 * 1000;
export const OUTBOX_BATCH = 50;
/** The one meta key an erased object keeps (besides its schema version). */
export const TOMBSTONE = "account_gone";

export interface OutboxRow {
  id: string;
  /** "event" rows are domain events (written to D1's outbox and published); the owner defines the rest. */
  kind: string;
  body: string;
  attempts: number;
}

export interface StoredAnswer {
  request_hash: string;
  status: number;
  body: string;
}

/** A change to commit atomically: the new state, the messages it broadcasts, what D1 must get. */
export interface Commit<S> {
  state?: S;
  /** Other values the object keeps beside its state (JSON-encoded). */
  meta?: Record<string, unknown>;
  /** Ids of work done once (say, events already applied), remembered for a week. */
  seen?: string[];
  /** Message bodies, each given the next sequence number. */
  messages: ((seq: number) => string)[];
  outbox: { id: string; kind: OutboxRow["kind"]; body: string }[];
  answer?: { key: string; request_hash: string; status: number; body: (seq: number) => string };
}

/**
 * How long ids of work done once are remembered (a redelivery comes within minutes, a retry within
 * days). Work older than this must be refused by the owner, or a late copy would be done again.
 */
export const SEEN_TTL_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * A live object's own SQLite storage (the FocusTimer's, a PetState's): its state, its numbered message
 * log, its outbox of D1 writes, idempotency answers, used socket tickets, revoked credentials, ids of
 * work already done.
 * Everything a change touches is written in one `transactionSync`, so the object never holds a state
 * whose messages or D1 writes were lost.
 */
export class LiveStorage<S> {
  /**
   * The whole meta table, read in one statement when first needed (a key it lacks is absent). Only this
   * class writes the table, and the copy is updated in the same synchronous step as each statement
   * (calls interleave only at awaits), so it stays true. Every change reads `seq` and the state, and a
   * SQLite statement costs far more than a map lookup. Dropped whenever a transaction fails.
   */
  private metaCopy: Map<string, string> | undefined;

  constructor(private readonly storage: DurableObjectStorage) {
    this.migrate();
  }

  /**
   * Forgets everything (the account is being deleted): the alarm, then every table. What is left is a
   * tombstone — one flag, nothing of the person — by which the object refuses every later call
   * instead of starting afresh. Safe to repeat.
   */
  async eraseAll(): Promise<void> {
    await this.storage.deleteAlarm();
    this.forgetMeta();
    await this.storage.deleteAll();
    this.forgetMeta();
    this.migrate();
    this.setMeta(TOMBSTONE, "1");
  }

  /** Whether the account was erased (then the object holds nothing and refuses everything). */
  isTombstone(): boolean {
    return this.meta(TOMBSTONE) !== undefined;
  }

  private get sql() {
    return this.storage.sql;
  }

  /**
   * Brings the tables to this version. An object already there makes one read, of the meta table (no
   * schema statement: one that could write would make every wake-up a write).
   */
  private migrate(): void {
    if (this.readMeta() && Number(this.meta("schema_version") ?? 0) >= SCHEMA_VERSION) return;
    this.transaction(() => {
      this.sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      this.sql.exec(`CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, body TEXT NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS outbox (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at INTEGER NOT NULL)`);
      this.sql.exec(`CREATE TABLE IF NOT EXISTS idempotency (
        key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL,
        created_at INTEGER NOT NULL)`);
      this.sql.exec(
        `CREATE TABLE IF NOT EXISTS used_tickets (jti TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)`,
      );
      this.sql.exec(`CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at INTEGER NOT NULL)`);
      this.sql.exec(
        `CREATE TABLE IF NOT EXISTS revoked_credentials (id TEXT PRIMARY KEY, until INTEGER NOT NULL)`,
      );
      this.setMeta("schema_version", String(SCHEMA_VERSION));
    });
    // Read again rather than trusted: a migration step may have written meta by SQL of its own.
    this.readMeta();
  }

  /** Reads the whole meta table into the copy; false when the object has none yet (never used). */
  private readMeta(): boolean {
    this.metaCopy = undefined;
    let rows: { key: string; value: string }[];
    try {
      rows = this.sql.exec<{ key: string; value: string }>("SELECT key, value FROM meta").toArray();
    } catch (error) {
      if (error instanceof Error && error.message.includes("no such table: meta")) return false;
      throw error;
    }
    this.metaCopy = new Map(rows.map((row) => [row.key, row.value]));
    return true;
  }

  private forgetMeta(): void {
    this.metaCopy = undefined;
  }

  private meta(key: string): string | undefined {
    if (!this.metaCopy) this.readMeta();
    return this.metaCopy?.get(key);
  }

  /** Writes a meta value; one the copy shows already there is not written again. */
  private setMeta(key: string, value: string): void {
    if (this.metaCopy?.get(key) === value) return;
    this.sql.exec(
      "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
    this.metaCopy?.set(key, value);
  }

  /** `transactionSync`, forgetting the meta copy when it fails: the rolled-back writes are in it. */
  private transaction<T>(work: () => T): T {
    try {
      return this.storage.transactionSync(work);
    } catch (error) {
      this.forgetMeta();
      throw error;
    }
  }

  state(): S | undefined {
    return this.json<S>("state");
  }

  /** Whether a value is kept under `key` (without parsing it). */
  has(key: string): boolean {
    return this.meta(key) !== undefined;
  }

  /** A JSON value kept beside the state. */
  json<T>(key: string): T | undefined {
    const raw = this.meta(key);
    return raw === undefined ? undefined : (JSON.parse(raw) as T);
  }

  /** Keeps a JSON value unless one is there already (a value read elsewhere, cached). */
  cacheJson(key: string, value: unknown): void {
    if (this.meta(key) === undefined) this.setMeta(key, JSON.stringify(value));
  }

  /** Whether this id of work done once was seen within the last week. */
  hasSeen(id: string): boolean {
    return this.sql.exec("SELECT 1 FROM seen WHERE id = ?", id).toArray().length > 0;
  }

  seq(): number {
    return Number(this.meta("seq") ?? 0);
  }

  /** Writes the change; returns the sent message bodies and the stored answer's body. */
  commit(change: Commit<S>, now: number): { messages: string[]; answer: string | undefined } {
    return this.transaction(() => {
      const before = this.seq();
      let seq = before;
      const messages = change.messages.map((message) => {
        seq += 1;
        const body = message(seq);
        this.sql.exec("INSERT INTO messages (seq, body) VALUES (?, ?)", seq, body);
        return body;
      });
      if (Math.floor(seq / MESSAGE_LOG_TRIM_EVERY) > Math.floor(before / MESSAGE_LOG_TRIM_EVERY)) {
        this.sql.exec("DELETE FROM messages WHERE seq <= ?", seq - MESSAGE_LOG_SIZE);
      }
      for (const row of change.outbox) {
        this.sql.exec(
          "INSERT INTO outbox (id, kind, body, next_attempt_at) VALUES (?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
          row.id,
          row.kind,
          row.body,
          now + FIRST_RETRY_MS,
        );
      }
      let answer: string | undefined;
      if (change.answer) {
        answer = change.answer.body(seq);
        this.sql.exec(
          "INSERT INTO idempotency (key, request_hash, status, body, created_at) VALUES (?, ?, ?, ?, ?)",
          change.answer.key,
          change.answer.request_hash,
          change.answer.status,
          answer,
          now,
        );
        this.sql.exec("DELETE FROM idempotency WHERE created_at < ?", now - IDEMPOTENCY_TTL_MS);
      }
      if (change.state) this.setMeta("state", JSON.stringify(change.state));
      for (const [key, value] of Object.entries(change.meta ?? {})) this.setMeta(key, JSON.stringify(value));
      if (change.seen?.length) {
        for (const id of change.seen) {
          this.sql.exec("INSERT INTO seen (id, at) VALUES (?, ?) ON CONFLICT(id) DO NOTHING", id, now);
        }
        this.sql.exec("DELETE FROM seen WHERE at < ?", now - SEEN_TTL_MS);
      }
      this.setMeta("seq", String(seq));
      return { messages, answer };
    });
  }

  /**
   * Forgets the logged messages before `seq` (they show someone whose account is gone): a client that
   * reconnects from before it is told of the gap and trusts its hello instead.
   */
  forgetMessagesBefore(seq: number): void {
    this.sql.exec("DELETE FROM messages WHERE seq < ?", seq);
  }

  /** The logged messages after `since`, oldest first. */
  messagesAfter(since: number): string[] {
    return this.sql
      .exec<{ body: string }>("SELECT body FROM messages WHERE seq > ? ORDER BY seq", since)
      .toArray()
      .map((r) => r.body);
  }

  answer(key: string): StoredAnswer | undefined {
    return this.sql
      .exec<{ request_hash: string; status: number; body: string }>(
        "SELECT request_hash, status, body FROM idempotency WHERE key = ?",
        key,
      )
      .toArray()[0];
  }

  /** Marks a WebSocket ticket used; false when it already was (a ticket opens one connection). */
  useTicket(jti: string, expiresAt: number, now: number): boolean {
    this.sql.exec("DELETE FROM used_tickets WHERE expires_at < ?", now);
    const cursor = this.sql.exec(
      "INSERT INTO used_tickets (jti, expires_at) VALUES (?, ?) ON CONFLICT(jti) DO NOTHING",
      jti,
      expiresAt,
    );
    return cursor.rowsWritten > 0;
  }

  /** Remembers a revoked credential until `until` (when no socket it opened could still be served). */
  revokeCredential(id: string, until: number, now: number): void {
    this.sql.exec("DELETE FROM revoked_credentials WHERE until < ?", now);
    this.sql.exec(
      "INSERT INTO revoked_credentials (id, until) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET until = excluded.until",
      id,
      until,
    );
  }

  isRevoked(id: string, now: number): boolean {
    return (
      this.sql.exec("SELECT 1 FROM revoked_credentials WHERE id = ? AND until >= ?", id, now).toArray()
        .length > 0
    );
  }

  /** The oldest pending D1 writes, due or not: any wake-up is a good moment to try them. */
  pendingOutbox(): OutboxRow[] {
    return this.sql
      .exec<{ id: string; kind: OutboxRow["kind"]; body: string; attempts: number }>(
        "SELECT id, kind, body, attempts FROM outbox ORDER BY rowid LIMIT ?",
        OUTBOX_BATCH,
      )
      .toArray();
  }

  /**
   * When pending D1 writes are next due (`next`: any; `retry`: only writes already tried and failed),
   * null when there are none: one statement, since every change asks for both.
   */
  outboxMoments(): { next: number | null; retry: number | null } {
    const row = this.sql
      .exec<{ next: number | null; retry: number | null }>(
        "SELECT min(next_attempt_at) AS next, min(CASE WHEN attempts > 0 THEN next_attempt_at END) AS retry FROM outbox",
      )
      .toArray()[0];
    return { next: row?.next ?? null, retry: row?.retry ?? null };
  }

  removeOutbox(ids: string[]): void {
    this.storage.transactionSync(() => {
      for (const id of ids) this.sql.exec("DELETE FROM outbox WHERE id = ?", id);
    });
  }

  /** Holds rows back after a failed write, each longer than the last time. */
  deferOutbox(rows: OutboxRow[], now: number): void {
    this.storage.transactionSync(() => {
      for (const row of rows) {
        const delay = Math.min(MAX_RETRY_DELAY_MS, FIRST_RETRY_MS * 2 ** (row.attempts + 1));
        this.sql.exec(
          "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?",
          now + delay,
          row.id,
        );
      }
    });
  }
}
