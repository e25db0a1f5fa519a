import { DurableObject } from "cloudflare:workers";
import { createDatabase } from "../src/db";
import type { Env } from "../src/env";
import { isApiTokenActive } from "../src/features/auth/service";
import type { ActResult, FocusCommand } from "../src/features/focus/commands";
import { parseCommand } from "../src/features/focus/commands";
import { resolveFocusTarget } from "../src/features/focus/focus-target";
import { type FocusSettings, normalizeSettings } from "../src/features/focus/kinds";
import {
  type ActionError,
  type FocusAction,
  type FocusRecord,
  initialState,
  nextDueAt,
  type StepResult,
  step,
  type TimerState,
  toView,
} from "../src/features/focus/machine";
import {
  CLOSE_CREDENTIAL_EXPIRED,
  ClientMessageSchema,
  FOCUS_SUBPROTOCOL,
  PING,
  PONG,
  type ServerMessage,
  SOCKET_GRANT_HEADER,
  type SocketGrant,
  SocketGrantSchema,
} from "../src/features/focus/messages";
import { persistStatements, type SettingsWrite } from "../src/features/focus/records";
import type { FocusStateDto } from "../src/features/focus/schemas";
import { getSettings } from "../src/features/focus/settings";
import { PROBLEM_CONTENT_TYPE, problemBody, validationFailed } from "../src/lib/errors";
import type { EventEnvelope } from "../src/lib/events";
import type { IdempotencyContext } from "../src/lib/idempotency";
import { newId, sha256Hex } from "../src/lib/ids";
import { newEvent, publishEvents } from "../src/lib/outbox";
import { nowIso } from "../src/lib/time";
import { type Commit, FocusTimerStorage, OUTBOX_BATCH } from "./focus-timer-storage";

/** What each socket keeps (hibernation-safe): the grant it was opened with. */
type SocketAttachment = Omit<SocketGrant, "ticket" | "subprotocol">;

function readGrant(header: string | null): SocketGrant | undefined {
  if (!header) return undefined;
  try {
    const parsed = SocketGrantSchema.safeParse(JSON.parse(header));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function closeSocket(ws: WebSocket, reason: string): void {
  try {
    ws.close(CLOSE_CREDENTIAL_EXPIRED, reason);
  } catch {
    // already closing
  }
}

/** A change that ended a session: its record must be in D1 before the answer, for clients that read it back. */
const endsSession = (result: StepResult) => result.effects.some((e) => e.type === "record");

export type SettingsResult = { ok: true; settings: FocusSettings } | { ok: false; error: ActionError };

const UNAVAILABLE: ActionError = {
  status: 503,
  code: "unavailable",
  detail: "The focus service is unavailable; try again.",
};

function problem(status: number, code: string, detail: string): Response {
  return new Response(JSON.stringify(problemBody(status, code, detail)), {
    status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE },
  });
}

function toAction(command: Exclude<FocusCommand, { type: "start" }>): FocusAction {
  switch (command.type) {
    case "interrupt":
      return { type: "interrupt", note: command.note, pause: command.pause };
    case "extend":
      return { type: "extend", minutes: command.minutes };
    case "finish":
      return { type: "finish", take_break: command.take_break };
    default:
      return { type: command.type };
  }
}

/**
 * One per user (`idFromName(userId)`): the single source of truth for the user's running focus
 * session. State lives in the object's SQLite, so it survives eviction and restarts; time left is
 * derived from timestamps; one alarm wakes it at the next due moment (work over, break over, a
 * forgotten pause) or to retry a D1 write. Every change is broadcast to all of the user's sockets
 * (hibernatable) with a sequence number, and ended sessions and events are written back to D1.
 */
export class FocusTimer extends DurableObject<Env> {
  private readonly store: FocusTimerStorage;
  private flushes: Promise<void> = Promise.resolve();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new FocusTimerStorage(ctx.storage);
    // Keep-alive pings are answered by the runtime without waking a hibernated object.
    ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair(PING, PONG));
  }

  /** The current state, after recording anything that fell due. */
  async current(userId: string): Promise<FocusStateDto> {
    const now = Date.now();
    const result = step(this.load(userId), null, now);
    const seq = this.apply(userId, result, now);
    await this.settle(endsSession(result));
    return this.dto(result.state, now, seq);
  }

  async readSettings(userId: string): Promise<SettingsResult> {
    try {
      return { ok: true, settings: await this.settingsFor(userId) };
    } catch (error) {
      return this.unavailable("focus settings lookup failed", error);
    }
  }

  /**
   * The user's settings live here, beside the timer that uses them, so a start needs no D1 read;
   * D1 gets each change through the outbox, in order.
   */
  async changeSettings(userId: string, patch: Partial<FocusSettings>): Promise<SettingsResult> {
    let current: FocusSettings;
    try {
      current = await this.settingsFor(userId);
    } catch (error) {
      return this.unavailable("focus settings lookup failed", error);
    }
    const settings = normalizeSettings({ ...current, ...patch });
    const write: SettingsWrite = { user_id: userId, settings, updated_at: nowIso(Date.now()) };
    this.store.commit(
      {
        settings,
        messages: [],
        outbox: [{ id: `settings:${newId()}`, kind: "settings", body: JSON.stringify(write) }],
      },
      Date.now(),
    );
    await this.settle(true);
    return { ok: true, settings };
  }

  async act(userId: string, command: FocusCommand, idempotency?: IdempotencyContext): Promise<ActResult> {
    const stored = this.replay(idempotency);
    if (stored) return stored;
    let action: FocusAction;
    if (command.type === "start") {
      const context = await this.startContext(userId, command);
      if (!context.ok) return context;
      // Reading D1 let other requests in: one may have answered this key meanwhile.
      const raced = this.replay(idempotency);
      if (raced) return raced;
      action = {
        type: "start",
        session_id: newId(),
        kind: command.kind,
        duration_minutes: command.duration_minutes,
        task_id: context.task_id,
        step_id: context.step_id,
        settings: context.settings,
      };
    } else {
      action = toAction(command);
    }
    const now = Date.now();
    const guard = "session_id" in command ? command.session_id : undefined;
    const result = step(this.load(userId), action, now, guard);
    if (result.error) {
      this.apply(userId, result, now);
      await this.settle(endsSession(result));
      return { ok: false, error: result.error };
    }
    const status = command.type === "start" ? 201 : 200;
    const answer = idempotency && {
      key: idempotency.key,
      request_hash: idempotency.requestHash,
      status,
      body: (seq: number) => JSON.stringify(this.dto(result.state, now, seq)),
    };
    const seq = this.apply(userId, result, now, answer);
    await this.settle(endsSession(result));
    return { ok: true, status, state: this.dto(result.state, now, seq), replayed: false };
  }

  override async alarm(): Promise<void> {
    const state = this.store.state();
    if (state) {
      const now = Date.now();
      this.apply(state.user_id, step(state, null, now), now);
    }
    // Also with no timer state yet: a settings change may be waiting for its D1 write.
    await this.settle(true);
  }

  /** The WebSocket upgrade; the Worker has authenticated the user before forwarding it here. */
  override async fetch(request: Request): Promise<Response> {
    const grant = readGrant(request.headers.get(SOCKET_GRANT_HEADER));
    if (!grant || request.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return problem(426, "upgrade_required", "Connect with a WebSocket upgrade request.");
    }
    const now = Date.now();
    if (grant.ticket && !this.store.useTicket(grant.ticket.jti, grant.ticket.expires_at, now)) {
      return problem(401, "unauthorized", "This ticket was already used; ask for a new one.");
    }
    const sinceText = new URL(request.url).searchParams.get("since");
    const since = sinceText !== null && /^\d{1,15}$/.test(sinceText) ? Number(sinceText) : null;
    const userId = grant.user_id;

    const result = step(this.load(userId), null, now);
    const seq = this.apply(userId, result, now);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server);
    const { ticket: _ticket, subprotocol, ...kept } = grant;
    server.serializeAttachment(kept satisfies SocketAttachment);
    let replayed = 0;
    let gap = false;
    if (since !== null && since !== seq) {
      const missed = since < seq ? this.store.messagesAfter(since) : [];
      if (since < seq && missed.length === seq - since) {
        for (const message of missed) server.send(message);
        replayed = missed.length;
      } else {
        gap = true;
      }
    }
    const hello: ServerMessage = {
      type: "hello",
      seq,
      state: this.dto(result.state, now, seq),
      replayed,
      gap,
    };
    server.send(JSON.stringify(hello));
    await this.settle(endsSession(result));
    const headers = new Headers();
    if (subprotocol) headers.set("Sec-WebSocket-Protocol", FOCUS_SUBPROTOCOL);
    return new Response(null, { status: 101, webSocket: client, headers });
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const send = (message: ServerMessage) => ws.send(JSON.stringify(message));
    const refuse = (status: number, code: string, detail: string, requestId: string | null = null) =>
      send({ type: "error", request_id: requestId, status, code, detail });
    const grant = this.liveGrant(ws, Date.now());
    if (!grant) return;
    if (typeof raw !== "string") return refuse(400, "bad_message", "Messages are JSON text.");
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return refuse(400, "malformed_json", "The message is not valid JSON.");
    }
    const parsed = ClientMessageSchema.safeParse(json);
    if (!parsed.success) {
      return refuse(422, "validation_failed", 'Send {"type":"action","action":"pause"} or {"type":"ping"}.');
    }
    const message = parsed.data;
    if (message.type === "ping") return send({ type: "pong" });
    const { type: _type, action, request_id, ...params } = message;
    const requestId = request_id ?? null;
    const command = parseCommand(action, params);
    if (!command.ok)
      return refuse(422, "validation_failed", validationFailed(command.errors).message, requestId);
    if (!grant.can_write) {
      return refuse(403, "forbidden", 'This socket was opened without the "focus:write" scope.', requestId);
    }
    if (grant.credential.kind === "api_token") {
      const active = await this.tokenStillActive(grant);
      if (active === undefined) return refuse(503, UNAVAILABLE.code, UNAVAILABLE.detail, requestId);
      if (!active)
        return closeSocket(ws, "The API token that opened this socket was revoked or has expired.");
    }
    // A request_id sent again (say, after a reconnect) gets the first answer instead of acting twice.
    const idempotency = requestId
      ? { key: `socket:${requestId}`, requestHash: await sha256Hex(JSON.stringify(command.command)) }
      : undefined;
    const result = await this.act(grant.user_id, command.command, idempotency);
    if (result.ok) return send({ type: "ack", request_id: requestId, seq: result.state.seq });
    refuse(result.error.status, result.error.code, result.error.detail, requestId);
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    // Completes the close the client started; 1005 and 1006 are not codes one may send back.
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // already closed
    }
  }

  override webSocketError(_ws: WebSocket, error: unknown): void {
    console.warn(JSON.stringify({ level: "warn", message: "focus socket error", error: String(error) }));
  }

  /** The socket's grant while it holds; past its expiry the socket is closed and undefined returned. */
  private liveGrant(ws: WebSocket, now: number): SocketAttachment | undefined {
    const grant = ws.deserializeAttachment() as SocketAttachment | null;
    if (grant && grant.expires_at > now) return grant;
    closeSocket(ws, "The credential that opened this socket has expired; reconnect with a fresh one.");
    return undefined;
  }

  /** Whether the socket's API token still holds (HTTP checks that on every request); undefined: D1 is unreachable. */
  private async tokenStillActive(grant: SocketAttachment): Promise<boolean | undefined> {
    try {
      return await isApiTokenActive(createDatabase(this.env.DB), grant.user_id, grant.credential.id);
    } catch (error) {
      this.unavailable("focus socket token check failed", error);
      return undefined;
    }
  }

  private load(userId: string): TimerState {
    return this.store.state() ?? initialState(userId);
  }

  private dto(state: TimerState, now: number, seq: number): FocusStateDto {
    return { seq, ...toView(state, now) };
  }

  private replay(idempotency: IdempotencyContext | undefined): ActResult | undefined {
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
    return {
      ok: true,
      status: stored.status === 201 ? 201 : 200,
      state: JSON.parse(stored.body) as FocusStateDto,
      replayed: true,
    };
  }

  private async startContext(userId: string, command: Extract<FocusCommand, { type: "start" }>) {
    try {
      const target = await resolveFocusTarget(createDatabase(this.env.DB), userId, command);
      if (!target.ok) return target;
      return { ...target, settings: await this.settingsFor(userId) };
    } catch (error) {
      return this.unavailable("focus start lookup failed", error);
    }
  }

  /** The cached settings; the first time ever, D1's copy (or the defaults). */
  private async settingsFor(userId: string): Promise<FocusSettings> {
    const cached = this.store.settings();
    if (cached) return cached;
    const stored = await getSettings(createDatabase(this.env.DB), userId);
    this.store.cacheSettings(stored);
    return this.store.settings() ?? stored;
  }

  private unavailable(message: string, error: unknown): { ok: false; error: ActionError } {
    console.error(JSON.stringify({ level: "error", message, error: String(error) }));
    return { ok: false, error: UNAVAILABLE };
  }

  /**
   * Stores the step's result in one transaction — state, numbered messages, D1 writes to make — then
   * sends the messages to every socket. Returns the sequence number after it.
   */
  private apply(userId: string, result: StepResult, now: number, answer?: Commit["answer"]): number {
    if (result.effects.length === 0 && !answer) return this.store.seq();
    const change: Commit = { state: result.state, messages: [], outbox: [] };
    if (answer) change.answer = answer;
    for (const effect of result.effects) {
      if (effect.type === "signal") {
        change.messages.push((seq) =>
          JSON.stringify({
            type: "state",
            seq,
            event: effect.signal,
            at: nowIso(effect.at),
            state: this.dto(result.state, now, seq),
          } satisfies ServerMessage),
        );
      } else if (effect.type === "record") {
        change.outbox.push({
          id: `record:${effect.record.session_id}`,
          kind: "record",
          body: JSON.stringify(effect.record),
        });
      } else {
        const envelope = newEvent(effect.event_type, userId, effect.data, effect.at);
        change.outbox.push({ id: `event:${envelope.id}`, kind: "event", body: JSON.stringify(envelope) });
      }
    }
    const { messages } = this.store.commit(change, now);
    for (const socket of this.ctx.getWebSockets()) {
      if (!this.liveGrant(socket, now)) continue;
      for (const message of messages) {
        try {
          socket.send(message);
        } catch {
          // A socket closing right now misses it; on reconnect its hello (and ?since=) catch up.
        }
      }
    }
    return this.store.seq();
  }

  /**
   * Arms the alarm, makes the pending D1 writes, then arms it again for what is left. `wait`: answer
   * only once the writes are made (a session ended: clients read its record back); otherwise they
   * finish after the answer, and a failed one is retried by the alarm.
   */
  private async settle(wait: boolean): Promise<void> {
    await this.armAlarm();
    const written = this.flush().then(() => this.armAlarm());
    if (wait) return written;
    this.ctx.waitUntil(
      written.catch((error) =>
        console.error(
          JSON.stringify({ level: "error", message: "focus settle failed", error: String(error) }),
        ),
      ),
    );
  }

  /**
   * The one alarm, at the earliest of: the timer's next due moment, and a retry of a D1 write that
   * failed. Writes not yet tried are about to be; they only set the alarm when the timer has no moment
   * of its own, so that an object lost mid-write still wakes to retry.
   */
  private async armAlarm(): Promise<void> {
    const state = this.store.state();
    const due = (state ? nextDueAt(state) : null) ?? this.store.nextOutboxAttempt(false) ?? null;
    const retry = this.store.nextOutboxAttempt(true) ?? null;
    const candidates = [due, retry].filter((t): t is number => t !== null);
    const current = await this.ctx.storage.getAlarm();
    if (candidates.length === 0) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    // An alarm set for now or the past is dropped locally: at least 1 ms ahead.
    const at = Math.max(Math.min(...candidates), Date.now() + 1);
    if (current !== at) await this.ctx.storage.setAlarm(at);
  }

  /** Writes pending outbox rows to D1, one flush at a time (a failed write is held back to retry). */
  private flush(): Promise<void> {
    const run = this.flushes.then(() => this.flushPending());
    this.flushes = run.catch(() => undefined);
    return run;
  }

  private async flushPending(): Promise<void> {
    for (;;) {
      const now = Date.now();
      const rows = this.store.pendingOutbox();
      if (rows.length === 0) return;
      const pending = {
        records: [] as FocusRecord[],
        events: [] as EventEnvelope[],
        settings: [] as SettingsWrite[],
      };
      for (const row of rows) {
        if (row.kind === "record") pending.records.push(JSON.parse(row.body) as FocusRecord);
        else if (row.kind === "event") pending.events.push(JSON.parse(row.body) as EventEnvelope);
        else pending.settings.push(JSON.parse(row.body) as SettingsWrite);
      }
      try {
        const db = createDatabase(this.env.DB);
        const [first, ...rest] = persistStatements(db, pending);
        if (first) await db.batch([first, ...rest]);
      } catch (error) {
        this.store.deferOutbox(rows, now);
        console.warn(
          JSON.stringify({
            level: "warn",
            message: "focus D1 write failed; will retry",
            error: String(error),
          }),
        );
        return;
      }
      this.store.removeOutbox(rows.map((r) => r.id));
      await publishEvents(this.env, pending.events);
      if (rows.length < OUTBOX_BATCH) return;
    }
  }
}
