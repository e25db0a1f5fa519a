import { createDatabase } from "../src/db";
import type { Env } from "../src/env";
import type { FocusSnapshot } from "../src/features/export/format";
import {
  dryRun,
  focusSnapshot,
  type LiveResult,
  parseFocusSnapshot,
  type RestoreOptions,
  restoredTimer,
} from "../src/features/export/live";
import { type FocusSettings, normalizeSettings, type SessionKind } from "../src/features/focus/kinds";
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
  type ActResult,
  COMMAND_TYPES,
  type CommandType,
  FOCUS_SUBPROTOCOL,
  type FocusCommand,
  type FocusStateDto,
  getSettings,
  parseCommand,
  persistStatements,
  resolveFocusTarget,
  type SettingsWrite,
} from "../src/features/focus/protocol";
import {
  type FocusPush,
  focusPushOf,
  type RoomRound,
  type TaskLabel,
} from "../src/features/rooms/member-focus";
import { loggableError } from "../src/lib/db-errors";
import { validationFailed } from "../src/lib/errors";
import { type IdempotencyContext, socketIdempotency } from "../src/lib/idempotency";
import { newId } from "../src/lib/ids";
import { ACCOUNT_GONE } from "../src/lib/live-refusal";
import { nowIso } from "../src/lib/time";
import { bodiesOf, eventRow, LiveObject, stateMessage } from "./live-object";
import type { Commit } from "./live-storage";

/** A change that ended a session: its record must be in D1 before the answer, for clients that read it back. */
const endsSession = (result: StepResult) => result.effects.some((e) => e.type === "record");

export type LinkResult = { ok: true; focus: FocusPush } | { ok: false; error: ActionError };

/** A synchronised round a room asks this timer to join: the same kind and length as its starter's. */
export interface RoomRoundStart {
  room_id: string;
  /** The starter's session id: a round is started at most once per timer, however often it is asked. */
  round_id: string;
  kind: SessionKind;
  duration_minutes: number | null;
}

/** Rooms one timer tells of its changes, at most (a person may be in 10 open rooms). */
const MAX_LINKED_ROOMS = 32;

export type SettingsResult = { ok: true; settings: FocusSettings } | { ok: false; error: ActionError };
export type CurrentResult = { ok: true; state: FocusStateDto } | { ok: false; error: ActionError };

const UNAVAILABLE: ActionError = {
  status: 503,
  code: "unavailable",
  detail: "The focus service is unavailable; try again.",
};

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
 * (hibernatable) with a sequence number, and ended sessions, events and settings are written to D1.
 */
export class FocusTimer extends LiveObject<TimerState> {
  /** The settings' D1 read in flight, if any: whoever needs them meanwhile waits for the same read. */
  private settingsRead: Promise<FocusSettings> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env, {
      name: "focus",
      subprotocol: FOCUS_SUBPROTOCOL,
      actions: COMMAND_TYPES,
      writeScope: "focus:write",
      nextDueAt,
      persist: (db, rows) =>
        persistStatements(db, {
          records: bodiesOf<FocusRecord>(rows, "record"),
          settings: bodiesOf<SettingsWrite>(rows, "settings"),
        }),
    });
  }

  /** The current state, after recording anything that fell due. */
  async current(userId: string): Promise<CurrentResult> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    const now = Date.now();
    const result = step(this.load(userId), null, now);
    const seq = this.apply(userId, result, now);
    await this.writer.settle(endsSession(result));
    return { ok: true, state: this.dto(result.state, now, seq) };
  }

  async readSettings(userId: string): Promise<SettingsResult> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
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
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    let current: FocusSettings;
    try {
      current = await this.settingsFor(userId);
    } catch (error) {
      return this.unavailable("focus settings lookup failed", error);
    }
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    const settings = normalizeSettings({ ...this.newestSettings(current), ...patch });
    const write: SettingsWrite = { user_id: userId, settings, updated_at: nowIso(Date.now()) };
    this.store.commit(
      {
        meta: { settings },
        messages: [],
        outbox: [{ id: `settings:${newId()}`, kind: "settings", body: JSON.stringify(write) }],
      },
      Date.now(),
    );
    await this.writer.settle(true);
    return { ok: true, settings };
  }

  async act(userId: string, command: FocusCommand, idempotency?: IdempotencyContext): Promise<ActResult> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    const stored = this.replay(idempotency);
    if (stored) return stored;
    let action: FocusAction;
    let taskTitle: string | null = null;
    if (command.type === "start") {
      const context = await this.startContext(userId, command);
      if (!context.ok) return context;
      // Reading D1 let other requests in: one may have answered this key, or erased the timer.
      if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
      const raced = this.replay(idempotency);
      if (raced) return raced;
      taskTitle = context.task_title;
      action = {
        type: "start",
        session_id: newId(),
        kind: command.kind,
        duration_minutes: command.duration_minutes,
        task_id: context.task_id,
        step_id: context.step_id,
        settings: this.newestSettings(context.settings),
      };
    } else {
      action = toAction(command);
    }
    const now = Date.now();
    const guard = "session_id" in command ? command.session_id : undefined;
    const result = step(this.load(userId), action, now, guard);
    if (result.error) {
      this.apply(userId, result, now);
      await this.writer.settle(endsSession(result));
      return { ok: false, error: result.error };
    }
    const status = command.type === "start" ? 201 : 200;
    const answer = idempotency && {
      key: idempotency.key,
      request_hash: idempotency.requestHash,
      status,
      body: (seq: number) => JSON.stringify(this.dto(result.state, now, seq)),
    };
    const meta =
      action.type === "start"
        ? { task_label: this.labelOf(action.session_id, action.task_id ?? null, taskTitle) }
        : undefined;
    const seq = this.apply(userId, result, now, answer, meta && { meta });
    await this.writer.settle(endsSession(result));
    return { ok: true, status, state: this.dto(result.state, now, seq), replayed: false };
  }

  /**
   * Tells this timer that its user is in a room: from now on every change is sent to it. Returns the
   * member's focus now, for the room to show until the next change.
   */
  async linkRoom(userId: string, roomId: string): Promise<LinkResult> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    this.prefetchSettings(userId);
    const now = Date.now();
    const result = step(this.load(userId), null, now);
    const seq = this.apply(userId, result, now);
    const rooms = this.linkedRooms();
    if (!rooms.includes(roomId)) {
      this.store.commit(
        { meta: { rooms: [...rooms, roomId].slice(-MAX_LINKED_ROOMS) }, messages: [], outbox: [] },
        now,
      );
    }
    await this.writer.settle(endsSession(result));
    return { ok: true, focus: this.focusPush(result.state, seq, now) };
  }

  /** The user left the room (or was removed): its changes go there no more. */
  async unlinkRoom(_userId: string, roomId: string): Promise<void> {
    if (this.accountGone) return;
    const rooms = this.linkedRooms();
    if (!rooms.includes(roomId)) return;
    this.store.commit(
      { meta: { rooms: rooms.filter((r) => r !== roomId) }, messages: [], outbox: [] },
      Date.now(),
    );
  }

  /**
   * A room's synchronised round: starts the same kind and length when this timer is idle (never
   * interrupting a session or a break), marked as the room's so that it starts no round itself.
   * Once per round: asked again, it starts nothing. Returns whether it started.
   */
  async joinRound(userId: string, round: RoomRoundStart): Promise<boolean> {
    if (this.accountGone) return false;
    const seenId = `round:${round.round_id}`;
    if (this.store.hasSeen(seenId)) return false;
    const now = Date.now();
    const current = step(this.load(userId), null, now);
    if (current.state.work || current.state.break) {
      this.apply(userId, current, now);
      await this.writer.settle(endsSession(current));
      return false;
    }
    let settings: FocusSettings;
    try {
      settings = await this.settingsFor(userId);
    } catch (error) {
      this.unavailable("focus round settings lookup failed", error);
      return false;
    }
    if (this.accountGone || this.store.hasSeen(seenId)) return false;
    const sessionId = newId();
    const action: FocusAction = {
      type: "start",
      session_id: sessionId,
      kind: round.kind,
      duration_minutes: round.duration_minutes ?? undefined,
      settings: this.newestSettings(settings),
    };
    const started = Date.now();
    const result = step(this.load(userId), action, started);
    if (result.error || !result.state.work) {
      this.apply(userId, result, started);
      await this.writer.settle(endsSession(result));
      return false;
    }
    const mark: RoomRound = { session_id: sessionId, room_id: round.room_id, round_id: round.round_id };
    this.apply(userId, result, started, undefined, {
      meta: { task_label: null, room_round: mark },
      seen: [seenId],
    });
    await this.writer.settle(endsSession(result));
    return true;
  }

  /**
   * Everything this object holds for the user (settings, the timer), for an account export. What fell
   * due is recorded first and every pending D1 write made, so D1's history agrees with the snapshot.
   */
  async snapshot(userId: string): Promise<LiveResult<FocusSnapshot>> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    try {
      const now = Date.now();
      const result = step(this.load(userId), null, now);
      this.apply(userId, result, now);
      await this.writer.settle(true);
      const settings = this.newestSettings(await this.settingsFor(userId));
      return { ok: true, value: focusSnapshot(settings, this.store.state() ?? null) };
    } catch (error) {
      return this.unavailable("focus snapshot failed", error);
    }
  }

  /**
   * Puts an exported snapshot in place for this user (a restore): the settings (D1 gets them too) and
   * the timer, idle — a session or break in progress in the file is not restored (live.ts
   * restoredTimer) — with the run and the last session, their ids the user's (task and step ids only
   * when `options.ownedIds` vouches for them). The restored state is run through the machine (a step,
   * the view, the alarm's moment) before anything is stored: a snapshot that would break the timer is
   * refused (422), as is one that is not valid or newer than this server; (409) while the user is in a
   * work session of their own, which a restore must not end silently. Restoring the same snapshot
   * again gives the same state; the one alarm is armed for what the restored state needs.
   */
  async restoreSnapshot(
    userId: string,
    input: unknown,
    options: RestoreOptions = {},
  ): Promise<LiveResult<FocusStateDto>> {
    if (this.accountGone) return { ok: false, error: ACCOUNT_GONE };
    const parsed = parseFocusSnapshot(input);
    if (!parsed.ok) return parsed;
    const snapshot = parsed.value;
    const timer = await restoredTimer(snapshot.timer, userId, options);
    const settings = normalizeSettings(snapshot.settings);
    const now = Date.now();
    const checked = dryRun("focus", () => {
      const result = step(timer, null, now);
      toView(result.state, now);
      nextDueAt(result.state);
      JSON.stringify(result.state);
    });
    if (!checked.ok) return checked;
    const current = step(this.load(userId), null, now);
    this.apply(userId, current, now);
    if (current.state.work) {
      return {
        ok: false,
        error: {
          status: 409,
          code: "focus_session_running",
          detail: "A focus session is running on this account; finish or abandon it before restoring.",
        },
      };
    }
    const write: SettingsWrite = { user_id: userId, settings, updated_at: nowIso(now) };
    this.store.commit(
      {
        state: timer,
        meta: { settings },
        messages: [],
        outbox: [{ id: `settings:${newId()}`, kind: "settings", body: JSON.stringify(write) }],
      },
      now,
    );
    await this.writer.settle(true);
    return { ok: true, value: this.dto(timer, now, this.store.seq()) };
  }

  override async alarm(): Promise<void> {
    if (this.accountGone) return;
    const state = this.store.state();
    if (state) {
      const now = Date.now();
      this.apply(state.user_id, step(state, null, now), now);
    }
    // Also with no timer state yet: a settings change may be waiting for its D1 write.
    await this.writer.settle(true);
  }

  /** The WebSocket upgrade; the Worker has authenticated the user before forwarding it here. */
  override async fetch(request: Request): Promise<Response> {
    const now = Date.now();
    const grant = this.sockets.grantOf(request);
    if (grant instanceof Response) return grant;
    this.prefetchSettings(grant.user_id);
    const result = step(this.load(grant.user_id), null, now);
    const seq = this.apply(grant.user_id, result, now);
    const response = this.sockets.open(request, grant, seq, this.dto(result.state, now, seq), now);
    await this.writer.settle(endsSession(result));
    return response;
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const message = await this.sockets.read(ws, raw, Date.now());
    if (!message) return;
    const command = parseCommand(message.action as CommandType, message.params);
    if (!command.ok) {
      return this.sockets.reply(ws, {
        type: "error",
        request_id: message.requestId,
        status: 422,
        code: "validation_failed",
        detail: validationFailed(command.errors).message,
      });
    }
    const idempotency = await socketIdempotency(message.requestId, command.command);
    const result = await this.act(message.grant.user_id, command.command, idempotency);
    if (result.ok)
      return this.sockets.reply(ws, { type: "ack", request_id: message.requestId, seq: result.state.seq });
    this.sockets.reply(ws, { type: "error", request_id: message.requestId, ...result.error });
  }

  private load(userId: string): TimerState {
    return this.store.state() ?? initialState(userId);
  }

  private dto(state: TimerState, now: number, seq: number): FocusStateDto {
    return { seq, ...toView(state, now) };
  }

  private replay(idempotency: IdempotencyContext | undefined): ActResult | undefined {
    const stored = this.storedAnswer<FocusStateDto>(idempotency);
    if (!stored?.ok) return stored;
    return { ok: true, status: stored.status === 201 ? 201 : 200, state: stored.value, replayed: true };
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

  /**
   * Reads the settings into the cache ahead of need, not awaited (the answer does not wait for it):
   * someone who joins a room or opens the focus socket is about to start, and a start that finds them
   * here makes no D1 read (on a start, that read is one more wait before the session runs and the rooms
   * hear of it). A failed read is only logged: the start reads them itself.
   */
  private prefetchSettings(userId: string): void {
    if (this.accountGone || this.store.has("settings")) return;
    this.ctx.waitUntil(
      this.settingsFor(userId).then(
        () => undefined,
        (error: unknown) =>
          console.warn(
            JSON.stringify({
              level: "warn",
              message: "focus settings prefetch failed",
              error: loggableError(error),
            }),
          ),
      ),
    );
  }

  /** The cached settings; the first time ever, D1's copy (or the defaults), read once however many ask. */
  private settingsFor(userId: string): Promise<FocusSettings> {
    const cached = this.store.json<FocusSettings>("settings");
    if (cached) return Promise.resolve(cached);
    this.settingsRead ??= this.readSettingsFromD1(userId).finally(() => {
      this.settingsRead = undefined;
    });
    return this.settingsRead;
  }

  /**
   * The settings to act on, read again just before a change is committed: everyone waiting on one D1
   * read gets the same answer, and another waiter may have changed the settings since (two PATCHes
   * building on the same copy would lose the first).
   */
  private newestSettings(read: FocusSettings): FocusSettings {
    return this.store.json<FocusSettings>("settings") ?? read;
  }

  private async readSettingsFromD1(userId: string): Promise<FocusSettings> {
    const stored = await getSettings(createDatabase(this.env.DB), userId);
    // Erased while D1 answered: the tombstone keeps nothing of the person.
    if (this.accountGone) return stored;
    this.store.cacheJson("settings", stored);
    return this.store.json<FocusSettings>("settings") ?? stored;
  }

  private unavailable(message: string, error: unknown): { ok: false; error: ActionError } {
    console.error(JSON.stringify({ level: "error", message, error: loggableError(error) }));
    return { ok: false, error: UNAVAILABLE };
  }

  /**
   * Stores the step's result in one transaction — state, numbered messages, D1 writes to make — then
   * sends the messages to every socket. Returns the sequence number after it.
   */
  private apply(
    userId: string,
    result: StepResult,
    now: number,
    answer?: Commit<TimerState>["answer"],
    extra?: Pick<Commit<TimerState>, "meta" | "seen">,
  ): number {
    if (result.effects.length === 0 && !answer) return this.store.seq();
    const change: Commit<TimerState> = { state: result.state, messages: [], outbox: [], ...extra };
    if (answer) change.answer = answer;
    for (const effect of result.effects) {
      if (effect.type === "signal") {
        change.messages.push(
          stateMessage(effect.signal, effect.at, (seq) => this.dto(result.state, now, seq)),
        );
      } else if (effect.type === "record") {
        change.outbox.push({
          id: `record:${effect.record.session_id}`,
          kind: "record",
          body: JSON.stringify(effect.record),
        });
      } else {
        change.outbox.push(eventRow(effect.event_type, userId, effect.data, effect.at));
      }
    }
    const { messages } = this.store.commit(change, now);
    this.sockets.broadcast(messages, now);
    const seq = this.store.seq();
    if (messages.length > 0) this.tellRooms(userId, this.focusPush(result.state, seq, now));
    return seq;
  }

  private linkedRooms(): string[] {
    return this.store.json<string[]>("rooms") ?? [];
  }

  private labelOf(sessionId: string, taskId: string | null, title: string | null): TaskLabel | null {
    return taskId !== null && title !== null ? { session_id: sessionId, task_id: taskId, title } : null;
  }

  private focusPush(state: TimerState, seq: number, now: number): FocusPush {
    return focusPushOf(
      state,
      seq,
      now,
      this.store.json<TaskLabel | null>("task_label") ?? null,
      this.store.json<RoomRound | null>("room_round") ?? null,
    );
  }

  /**
   * Sends the change to every room the user is in, after the answer (a focus command never waits for
   * rooms): each keeps the newest by `seq`. A room that no longer has the user as a member is unlinked.
   */
  private tellRooms(userId: string, focus: FocusPush): void {
    const rooms = this.linkedRooms();
    if (rooms.length === 0) return;
    const told = rooms.map(async (roomId) => {
      try {
        const room = this.env.FOCUS_ROOM.get(this.env.FOCUS_ROOM.idFromName(roomId));
        const answer = await room.memberFocus(roomId, userId, focus);
        if (!answer.member) await this.unlinkRoom(userId, roomId);
      } catch (error) {
        console.warn(
          JSON.stringify({
            level: "warn",
            message: "telling a room of a focus change failed",
            error: loggableError(error),
          }),
        );
      }
    });
    this.ctx.waitUntil(Promise.all(told).then(() => undefined));
  }
}
