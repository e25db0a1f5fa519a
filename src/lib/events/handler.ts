import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import type { Env } from "../../env";
import type { DomainEvent, EventType } from "./catalog";

/** What a handler does for one event: D1 statements, and the ids of any events they may write. */
export interface HandlerEffects {
  statements: BatchItem<"sqlite">[];
  /** Events the statements write when their guards hold; the dispatcher publishes those written. */
  emits?: string[];
  /**
   * Nothing to write and nothing to guard (e.g. no webhook wants the event): no receipt either, so an
   * event that concerns no one costs no write.
   */
  noReceipt?: true;
}

/**
 * A consumer of domain events: how a feature joins the bus. It names the event types it wants and
 * gets them parsed through the catalog (typed `data`, known versions only).
 *
 * `prepare` reads what the handler needs for a whole delivery at once (at most one round trip; none
 * for most handlers) and returns the builder of each event's effects. The dispatcher runs those
 * statements in one batch with the handler's receipt row, so a redelivered event can never apply an
 * effect twice (the receipt's primary key refuses the second batch whole). `after` runs once the batch
 * committed, for effects outside D1; it must be idempotent by event id, because a redelivery runs it
 * again.
 */
export interface EventHandler {
  name: string;
  types: readonly EventType[];
  /** D1 effects, written with a receipt so they happen once. Absent for handlers that only act `after`. */
  prepare?: (db: Database, events: readonly DomainEvent[]) => Promise<(event: DomainEvent) => HandlerEffects>;
  after?: (env: Env, events: readonly DomainEvent[]) => Promise<void>;
}

/** Whether `handler` wants events of this type. */
export const handles = (handler: EventHandler, type: EventType) => handler.types.includes(type);

/** A handler that needs no reads: its statements come from the event alone. */
export function statementHandler(
  name: string,
  types: readonly EventType[],
  statements: (db: Database, event: DomainEvent) => BatchItem<"sqlite">[],
): EventHandler {
  return { name, types, prepare: async (db) => (event) => ({ statements: statements(db, event) }) };
}
