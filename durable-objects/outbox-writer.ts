import type { BatchItem } from "drizzle-orm/batch";
import { createDatabase, type Database } from "../src/db";
import type { Env } from "../src/env";
import { abortIfAccountGone, accountExists } from "../src/lib/auth/account";
import { isGuardAbort } from "../src/lib/batch";
import { loggableError } from "../src/lib/db-errors";
import type { Envelope } from "../src/lib/events/catalog";
import { writeEvent } from "../src/lib/events/outbox";
import { publishEvents } from "../src/lib/events/queue";
import { type LiveStorage, OUTBOX_BATCH, type OutboxRow } from "./live-storage";

/** An event the object stored; those stored before events had versions are version 1. */
export function storedEnvelope(body: string): Envelope {
  const stored = JSON.parse(body) as Omit<Envelope, "version"> & { version?: number };
  return { ...stored, version: stored.version ?? 1 };
}

/** The accounts pending rows belong to: every kind of row carries its `user_id`. */
export function ownersOf(rows: readonly OutboxRow[]): string[] {
  const owners = new Set<string>();
  for (const row of rows) {
    const owner = (JSON.parse(row.body) as { user_id?: unknown }).user_id;
    if (typeof owner === "string") owners.add(owner);
  }
  return [...owners];
}

/**
 * A live object's way to D1: the rows its outbox holds go to D1 in one batch per round (domain events —
 * kind "event" — into D1's outbox, then to the queue; the owner's kinds through `persist`). A failed
 * write stays in the object and the alarm retries it. The same alarm serves the owner's own due moment.
 */
export class OutboxWriter {
  private flushes: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: Env,
    private readonly store: LiveStorage<unknown>,
    private readonly hooks: {
      /** D1 statements for the owner's own kinds of rows (inserts that ignore rows already there). */
      persist: (db: Database, rows: OutboxRow[]) => BatchItem<"sqlite">[];
      /** The owner's next due moment, if any. */
      nextDueAt: () => number | null;
      /** For logs. */
      name: string;
      /** The account the rows belong to is gone (checked): the owner forgets everything it holds. */
      ownerGone: () => Promise<unknown>;
    },
  ) {}

  /**
   * Arms the alarm, makes the pending D1 writes, then arms it again for what is left. `wait`: answer
   * only once the writes are made (clients will read them back); otherwise they finish after the
   * answer, and a failed one is retried by the alarm.
   */
  async settle(wait: boolean): Promise<void> {
    const forOutbox = await this.armAlarm();
    // Once every write is made, an alarm armed for the owner's own moment is already right.
    const written = this.flush().then(async (clean) => {
      if (!clean || forOutbox) await this.armAlarm();
    });
    if (wait) return written;
    this.ctx.waitUntil(
      written.catch((error) =>
        console.error(
          JSON.stringify({
            level: "error",
            message: `${this.hooks.name} settle failed`,
            error: loggableError(error),
          }),
        ),
      ),
    );
  }

  /**
   * The one alarm, at the earliest of: the owner's next due moment, and a retry of a D1 write that
   * failed. Writes not yet tried are about to be; they only set the alarm when the owner has no moment
   * of its own, so that an object lost mid-write still wakes to retry. True when it waits on the outbox
   * (then it must be armed again once the writes are made).
   */
  async armAlarm(): Promise<boolean> {
    const outbox = this.store.outboxMoments();
    const own = this.hooks.nextDueAt();
    const due = own ?? outbox.next;
    const candidates = [due, outbox.retry].filter((t): t is number => t !== null);
    const forOutbox = (own === null && outbox.next !== null) || outbox.retry !== null;
    const current = await this.ctx.storage.getAlarm();
    if (candidates.length === 0) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return forOutbox;
    }
    // An alarm set for now or the past is dropped locally: at least 1 ms ahead.
    const at = Math.max(Math.min(...candidates), Date.now() + 1);
    if (current !== at) await this.ctx.storage.setAlarm(at);
    return forOutbox;
  }

  /**
   * Writes pending rows to D1, one flush at a time (a failed write is held back to retry). True when
   * every row was written; false when one is held back or the owner turned out to be gone.
   */
  flush(): Promise<boolean> {
    const run = this.flushes.then(() => this.flushPending());
    this.flushes = run.catch(() => undefined);
    return run;
  }

  /** Whether an account the rows belong to is gone, read on the primary (a failed read says no). */
  private async anyOwnerGone(rows: readonly OutboxRow[]): Promise<boolean> {
    try {
      const db = createDatabase(this.env.DB.withSession("first-primary"));
      const exists = await Promise.all(ownersOf(rows).map((owner) => accountExists(db, owner)));
      return exists.includes(false);
    } catch {
      return false;
    }
  }

  private async flushPending(): Promise<boolean> {
    for (;;) {
      const now = Date.now();
      const rows = this.store.pendingOutbox();
      if (rows.length === 0) return true;
      const envelopes = rows.filter((r) => r.kind === "event").map((r) => storedEnvelope(r.body));
      try {
        const db = createDatabase(this.env.DB);
        const [first, ...rest] = [
          // The account may have been deleted since these rows were stored: then nothing is written.
          ...abortIfAccountGone(db, ownersOf(rows)),
          ...this.hooks.persist(
            db,
            rows.filter((r) => r.kind !== "event"),
          ),
          // Written before, by a write whose answer was lost: the event id makes this one do nothing.
          ...envelopes.map((e) => writeEvent(db, e)),
        ];
        if (first) await db.batch([first, ...rest]);
      } catch (error) {
        // The guard aborted: an owner is gone, unless something else tripped it. Only a gone account,
        // asked again, lets the object forget everything; otherwise the rows wait for the next try.
        if (isGuardAbort(error) && (await this.anyOwnerGone(rows))) {
          await this.hooks.ownerGone();
          return false;
        }
        this.store.deferOutbox(rows, now);
        console.warn(
          JSON.stringify({
            level: "warn",
            message: `${this.hooks.name} D1 write failed; will retry`,
            error: loggableError(error),
          }),
        );
        return false;
      }
      this.store.removeOutbox(rows.map((r) => r.id));
      await publishEvents(this.env.EVENTS_QUEUE, envelopes);
      if (rows.length < OUTBOX_BATCH) return true;
    }
  }
}
