import { DurableObject } from "cloudflare:workers";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../src/db";
import type { Env } from "../src/env";
import { loggableError } from "../src/lib/db-errors";
import type { EventData, EventType } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";
import type { IdempotencyContext } from "../src/lib/idempotency";
import { CLOSE_ACCOUNT_DELETED, type ServerMessage } from "../src/lib/live-socket";
import { nowIso } from "../src/lib/time";
import { LiveStorage, type OutboxRow } from "./live-storage";
import { OutboxWriter } from "./outbox-writer";
import { SocketHub } from "./socket-hub";

/** What makes a per-user live object (the focus timer, the pet) its own. */
export interface LiveObjectOptions<S> {
  /** For logs. */
  name: string;
  subprotocol: string;
  actions: readonly [string, ...string[]];
  writeScope: string;
  /** The state's next own moment, for the alarm; null when it has none. */
  nextDueAt: (state: S) => number | null;
  /** D1 statements for the object's own kinds of outbox rows. */
  persist: (db: Database, rows: OutboxRow[]) => BatchItem<"sqlite">[];
}

/** A stored idempotent answer: replayed as it was, or refused when the key came with another request. */
export type StoredAnswer<T> =
  | { ok: true; status: number; value: T }
  | { ok: false; error: { status: 422; code: "idempotency_key_reused"; detail: string } };

/** The parsed bodies of the outbox rows of one kind. */
export const bodiesOf = <T>(rows: readonly OutboxRow[], kind: string): T[] =>
  rows.filter((r) => r.kind === kind).map((r) => JSON.parse(r.body) as T);

/** A domain event as an outbox row: written to D1's outbox, then published, by the writer. */
export function eventRow<T extends EventType>(type: T, userId: string, data: EventData<T>, at: number) {
  const envelope = newEvent(type, userId, data, at);
  return { id: `event:${envelope.id}`, kind: "event", body: JSON.stringify(envelope) };
}

/** One change as the `state` message every socket gets: numbered when it is stored. */
export function stateMessage<S, E extends string>(event: E, at: number, stateAt: (seq: number) => S) {
  return (seq: number) =>
    JSON.stringify({
      type: "state",
      seq,
      event,
      at: nowIso(at),
      state: stateAt(seq),
    } satisfies ServerMessage<S, E>);
}

/**
 * The machinery every per-user live object shares: its storage (state, numbered messages, outbox,
 * idempotency answers, tickets, ids of work done once), its sockets, and its way to D1 with the one
 * alarm. Subclasses bring their rules and their RPC methods.
 */
export abstract class LiveObject<S> extends DurableObject<Env> {
  protected readonly store: LiveStorage<S>;
  protected readonly sockets: SocketHub;
  protected readonly writer: OutboxWriter;
  private readonly liveName: string;

  constructor(ctx: DurableObjectState, env: Env, options: LiveObjectOptions<S>) {
    super(ctx, env);
    this.liveName = options.name;
    this.store = new LiveStorage<S>(ctx.storage);
    this.sockets = new SocketHub(ctx, env, this.store, options);
    this.writer = new OutboxWriter(ctx, env, this.store, {
      name: options.name,
      nextDueAt: () => {
        const state = this.store.state();
        return state ? options.nextDueAt(state) : null;
      },
      persist: options.persist,
      ownerGone: () => this.forgetOwner("its account is gone"),
    });
  }

  /** Readiness's probe (GET /health/ready), on an object of its own: reads and writes nothing. */
  ping(): "pong" {
    return "pong";
  }

  /**
   * Erases everything this object holds for its user, whose account is being deleted: every socket
   * is closed (4003), the alarm dropped and the storage emptied — state, messages, pending D1 writes,
   * idempotency answers. Safe to repeat. Returns how many sockets were open.
   */
  async erase(): Promise<number> {
    return this.forgetOwner("account deletion");
  }

  private async forgetOwner(why: string): Promise<number> {
    const closed = this.sockets.closeAll(CLOSE_ACCOUNT_DELETED, "This account was deleted.");
    await this.store.eraseAll();
    console.log(JSON.stringify({ level: "info", message: `${this.liveName} erased`, why, sockets: closed }));
    return closed;
  }

  /** The answer stored under an idempotency key, if any. */
  protected storedAnswer<T>(idempotency: IdempotencyContext | undefined): StoredAnswer<T> | undefined {
    if (!idempotency) return undefined;
    const stored = this.store.answer(idempotency.key);
    if (!stored) return undefined;
    if (stored.request_hash !== idempotency.requestHash) {
      return {
        ok: false,
        error: {
          status: 422,
          code: "idempotency_key_reused",
          detail: "This Idempotency-Key was already used with a different request body.",
        },
      };
    }
    return { ok: true, status: stored.status, value: JSON.parse(stored.body) as T };
  }

  /**
   * Whether the account was erased: the object then keeps only that (a tombstone, nothing of the
   * person) and answers every call with ACCOUNT_GONE (401), never making state again.
   */
  protected get accountGone(): boolean {
    return this.store.isTombstone();
  }

  /** Closes the sockets opened with a credential just revoked (an API token's id, a login's `sid`). */
  async closeCredential(credentialId: string): Promise<number> {
    if (this.accountGone) return 0;
    return this.sockets.closeCredential(credentialId, Date.now());
  }

  /**
   * Passes a message the Worker built (a new notification) to every open socket. Outside the numbered
   * state log: it changes no state here, and on reconnect the client reads the inbox instead.
   */
  async notify(messages: string[]): Promise<number> {
    if (this.accountGone) return 0;
    const open = this.ctx.getWebSockets().length;
    this.sockets.broadcast(messages, Date.now());
    return open;
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    this.sockets.close(ws, code, reason);
  }

  override webSocketError(_ws: WebSocket, error: unknown): void {
    console.warn(
      JSON.stringify({
        level: "warn",
        message: `${this.liveName} socket error`,
        error: loggableError(error),
      }),
    );
  }
}
