import { DurableObject } from "cloudflare:workers";
import { createDatabase } from "../src/db";
import { SESSION_KINDS, type SessionKind } from "../src/db/schema/focus";
import type { Env } from "../src/env";
import type { FocusPush } from "../src/features/rooms/member-focus";
import {
  type MemberSettings,
  ROOM_CODE_NOT_FOUND,
  ROOM_FULL,
  ROOM_NOT_FOUND,
  ROOM_SUBPROTOCOL,
  ROOM_UNAVAILABLE,
  type RoomAnswer,
  type RoomChange,
  roomMessage,
  TOO_MANY_ROOMS,
} from "../src/features/rooms/protocol";
import {
  closeEmptyRoom,
  deleteMembers,
  joinRoomRow,
  type MemberRow,
  memberRow,
  roomStatus,
  roomWithMembers,
  updateMember,
} from "../src/features/rooms/queries";
import {
  dueAt,
  isNewer,
  MAX_ROOMS_PER_PERSON,
  memberView,
  nextDueAt,
  type PresenceTimings,
  presenceTimings,
  type RoomMember,
  type RoomState,
  roomView,
  roundParticipants,
  startsRound,
  withMember,
  withoutMembers,
} from "../src/features/rooms/room-rules";
import { loggableError } from "../src/lib/db-errors";
import { newId } from "../src/lib/ids";
import type { LiveRefusal } from "../src/lib/live-refusal";
import { CLOSE_ACCOUNT_DELETED } from "../src/lib/live-socket";
import { nowIso } from "../src/lib/time";
import { LiveStorage } from "./live-storage";
import { problem, SocketHub } from "./socket-hub";

/** The close code for a member's room sockets once they are no longer a member (left or removed). */
export const CLOSE_LEFT_ROOM = 4004;
/** How long the alarm waits to try a D1 write that failed again. */
const RETRY_MS = 10_000;

type Refused = { ok: false; error: LiveRefusal };
/** What linking a member's timer gave: whether it is linked now, and their focus (null: unknown). */
interface Link {
  linked: boolean;
  focus: FocusPush | null;
}

/** A member whose timer was not linked (a closed room, or the timer did not answer). */
const NOT_LINKED: Link = { linked: false, focus: null };

const isSessionKind = (kind: string | null): kind is SessionKind =>
  kind !== null && (SESSION_KINDS as readonly string[]).includes(kind);

function memberFromRow(row: MemberRow, now: number, link: Link, joinedSeq: number): RoomMember {
  return {
    user_id: row.userId,
    member_id: row.memberId,
    display_name: row.displayName,
    share_task: row.shareTask,
    sync_pomodoro: row.syncPomodoro,
    joined_at: row.joinedAt,
    presence: "here",
    // Counted from now, as if from joining: their first socket is still to come.
    idle_since: now,
    focus: link.focus,
    linked: link.linked,
    joined_seq: joinedSeq,
  };
}

/** The room id in a forwarded upgrade's path (…/rooms/{room_id}/ws). */
function roomIdOf(url: string): string {
  // A pathname starts with "/": there is always a part before the last.
  return decodeURIComponent(new URL(url).pathname.split("/").slice(-2, -1).join(""));
}

/**
 * One per room (`idFromName(roomId)`): body doubling. It holds who is in the room, whether each is
 * here or away, and the newest snapshot of each member's focus timer (their FocusTimer sends one on
 * every change), and serves the members' sockets (hibernatable, numbered messages with replay).
 * Membership changes go to D1 first — the caps are conditions in the statement that writes — and are
 * then mirrored here and told to every socket. One alarm wakes it at the earliest due moment: a member
 * to show away, one to remove, an empty room to close.
 */
export class FocusRoom extends DurableObject<Env> {
  private readonly store: LiveStorage<RoomState>;
  private readonly sockets: SocketHub;
  private readonly timings: PresenceTimings;
  /**
   * Members being admitted (their timer asked for its focus), with the newest snapshot their timer
   * sent meanwhile: the timer links the room before the room holds the member, and a push in between
   * must neither be lost nor make the timer unlink the room.
   */
  private readonly arriving = new Map<string, FocusPush | null>();
  /**
   * The stored state, parsed once: every change reads it several times, and parsing the whole room
   * each time would make a change cost more the bigger the room. Only `commit` writes it.
   */
  private cached: RoomState | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.store = new LiveStorage<RoomState>(ctx.storage);
    this.sockets = new SocketHub(ctx, env, this.store, {
      subprotocol: ROOM_SUBPROTOCOL,
      writeScope: "focus:write",
    });
    this.timings = presenceTimings(env);
  }

  /** Readiness's probe (GET /health/ready), on an object of its own: reads and writes nothing. */
  ping(): "pong" {
    return "pong";
  }

  /** Joins the user (idempotent: a member already there just gets the view). */
  async join(roomId: string, userId: string, settings: MemberSettings): Promise<RoomAnswer> {
    return this.guarded("room join", async () => {
      const state = await this.loaded(roomId);
      if (state?.room.status !== "open") return { ok: false, error: ROOM_CODE_NOT_FOUND };
      const outcome = await joinRoomRow(createDatabase(this.env.DB), {
        roomId,
        userId,
        memberId: newId(),
        displayName: settings.display_name ?? null,
        shareTask: settings.share_task ?? false,
        syncPomodoro: settings.sync_pomodoro ?? state.room.sync_pomodoro,
        joinedAt: nowIso(Date.now()),
      });
      if (!outcome.ok) {
        if (outcome.reason === "not_open") return { ok: false, error: ROOM_CODE_NOT_FOUND };
        if (outcome.reason === "full") return { ok: false, error: ROOM_FULL };
        return { ok: false, error: TOO_MANY_ROOMS(MAX_ROOMS_PER_PERSON) };
      }
      await this.admit(roomId, outcome.member);
      await this.relink(roomId, userId);
      return this.viewFor(userId);
    });
  }

  /** The room as the member sees it; anyone else gets 404. */
  async view(roomId: string, userId: string): Promise<RoomAnswer> {
    return this.guarded("room view", async () => {
      const state = await this.loaded(roomId);
      if (state?.room.status === "open") await this.ensureMember(roomId, userId);
      return this.viewFor(userId);
    });
  }

  /** The member leaves: their sockets close (4004), the others are told. */
  async leave(roomId: string, userId: string): Promise<{ ok: true } | Refused> {
    return this.guarded("room leave", async () => {
      const room = await this.loaded(roomId);
      if (!room || room.room.status === "closed") return { ok: false, error: ROOM_NOT_FOUND };
      const deleted = await deleteMembers(createDatabase(this.env.DB), roomId, [userId]);
      const known = this.memberOf(userId) !== undefined;
      // Gone already: the Worker found the membership before it called (leaveRoom's requireMembership:
      // only callers who were members get here), so this is a retry whose first
      // try's answer was lost (or a leave that crossed another): the person is out, as they asked.
      if (deleted.length === 0 && !known) return { ok: true };
      this.drop([userId], "member_left", CLOSE_LEFT_ROOM, "You left this room.");
      await this.arm();
      return { ok: true };
    });
  }

  /** Changes the member's name, sharing or sync choice; the others are told. */
  async updateMember(roomId: string, userId: string, patch: MemberSettings): Promise<RoomAnswer> {
    return this.guarded("room member update", async () => {
      if (!(await this.loaded(roomId))) return { ok: false, error: ROOM_NOT_FOUND };
      const changes = {
        ...(patch.display_name !== undefined ? { displayName: patch.display_name } : {}),
        ...(patch.share_task !== undefined ? { shareTask: patch.share_task } : {}),
        ...(patch.sync_pomodoro !== undefined ? { syncPomodoro: patch.sync_pomodoro } : {}),
      };
      // An empty patch changes nothing: the room as it is.
      if (Object.keys(changes).length === 0) return this.viewFor(userId);
      const [row] = await updateMember(createDatabase(this.env.DB), roomId, userId, changes);
      if (!row) return { ok: false, error: ROOM_NOT_FOUND };
      await this.admit(roomId, row);
      const state = this.current();
      const member = this.memberOf(userId);
      if (state && member) {
        const updated: RoomMember = {
          ...member,
          display_name: row.displayName,
          share_task: row.shareTask,
          sync_pomodoro: row.syncPomodoro,
        };
        const now = Date.now();
        const next = withMember(state, userId, () => updated);
        this.commit([{ event: "member_updated", member: memberView(updated, now) }], now, { state: next });
      }
      return this.viewFor(userId);
    });
  }

  /**
   * A member's FocusTimer tells of a change. Older snapshots than the one held are dropped. When the
   * member starts a round in a sync_pomodoro room, every other opted-in member's timer starts one too
   * (once per round). Answers whether the user is still a member (the timer unlinks the room if not).
   */
  async memberFocus(roomId: string, userId: string, focus: FocusPush): Promise<{ member: boolean }> {
    const state = await this.loaded(roomId);
    const member = state?.members.find((m) => m.user_id === userId);
    if (!member && this.arriving.has(userId)) {
      if (isNewer(this.arriving.get(userId) ?? null, focus)) this.arriving.set(userId, focus);
      return { member: true };
    }
    if (!state || !member || state.room.status !== "open") return { member: false };
    if (!isNewer(member.focus, focus)) return { member: true };
    const now = Date.now();
    const changed: RoomMember = { ...member, focus };
    const next = withMember(state, userId, () => changed);
    const changes: RoomChange[] = [{ event: "member_focus", member: memberView(changed, now) }];
    // Only a snapshot with a session starts a round: the session's id names it.
    const roundId = startsRound(state, member, focus) ? focus.session_id : null;
    const round = roundId !== null && !this.store.hasSeen(`round:${roundId}`);
    // The member is in the member_focus just before: the round names them, it does not repeat them.
    if (round) {
      changes.push({
        event: "round_started",
        member_id: member.member_id,
        round: {
          round_id: roundId,
          kind: focus.kind,
          duration_minutes: focus.planned_minutes,
          started_at: focus.started_at,
        },
      });
    }
    this.commit(changes, now, { state: next, ...(round ? { seen: [`round:${roundId}`] } : {}) });
    if (round && isSessionKind(focus.kind)) {
      const kind = focus.kind;
      const starts = roundParticipants(next, userId).map((m) =>
        this.timerOf(m.user_id)
          .joinRound(m.user_id, {
            room_id: roomId,
            round_id: roundId,
            kind,
            duration_minutes: focus.planned_minutes,
          })
          .catch((error: unknown) => this.warn("starting a member's round failed", error)),
      );
      this.ctx.waitUntil(Promise.all(starts).then(() => undefined));
    }
    return { member: true };
  }

  /**
   * The user's account is being deleted: their live state goes, their sockets close (4003) and the
   * others see them removed. Their D1 row goes with the account's. Returns how many sockets were open.
   */
  async memberErased(roomId: string, userId: string): Promise<number> {
    // An object never reached yet loads the room first (the member's row is still in D1): taking them
    // out then arms the close of a room the erasure empties, instead of leaving it open in D1 for good.
    // Should that load fail, the erasure goes on without it: the room is loaded by its next call.
    const state =
      this.current() ??
      (await this.loaded(roomId).catch((error: unknown) => {
        this.warn("loading a room to take an erased member out failed", error);
        return undefined;
      }));
    if (!state?.members.some((m) => m.user_id === userId)) {
      // Gone already (their departure forgot the log), or a row this object never mirrored: to be sure
      // nothing of them is replayed, the log goes; clients reconnecting get the whole room in hello.
      if (state) this.store.forgetMessagesBefore(this.store.seq() + 1);
      return this.sockets.closeTagged(userId, CLOSE_ACCOUNT_DELETED, "This account was deleted.");
    }
    const closed = this.drop([userId], "member_removed", CLOSE_ACCOUNT_DELETED, "This account was deleted.");
    try {
      await deleteMembers(createDatabase(this.env.DB), roomId, [userId]);
    } catch (error) {
      // The erasure deletes the row itself, by user id.
      this.warn("deleting an erased member's row failed", error);
    }
    await this.arm();
    return closed;
  }

  /** Closes the sockets opened with a credential just revoked (4001). */
  async closeCredential(credentialId: string): Promise<number> {
    return this.sockets.closeCredential(credentialId, Date.now());
  }

  /** The WebSocket upgrade; the Worker has authenticated the user and checked the membership. */
  override async fetch(request: Request): Promise<Response> {
    const grant = this.sockets.grantOf(request);
    if (grant instanceof Response) return grant;
    let loaded: RoomState | undefined;
    try {
      const roomId = roomIdOf(request.url);
      loaded = await this.loaded(roomId);
      if (loaded?.room.status === "open") {
        await this.ensureMember(roomId, grant.user_id);
        loaded = this.current() ?? loaded;
      }
    } catch (error) {
      this.warn("room load failed", error);
      return problem(503, ROOM_UNAVAILABLE.code, ROOM_UNAVAILABLE.detail);
    }
    const member = loaded?.members.find((m) => m.user_id === grant.user_id);
    if (!loaded || !member || loaded.room.status !== "open") {
      return problem(ROOM_NOT_FOUND.status, ROOM_NOT_FOUND.code, ROOM_NOT_FOUND.detail);
    }
    const now = Date.now();
    const state = this.current() ?? loaded;
    if (member.idle_since !== null || member.presence === "away") {
      const back: RoomMember = { ...member, presence: "here", idle_since: null };
      const next = withMember(state, grant.user_id, () => back);
      const changes: RoomChange[] =
        member.presence === "away" ? [{ event: "member_back", member: memberView(back, now) }] : [];
      this.commit(changes, now, { state: next });
    }
    const seq = this.store.seq();
    const view = roomView(this.current() ?? state, now);
    const response = this.sockets.open(request, grant, seq, view, now, {
      tags: [grant.user_id],
      hello: { you: member.member_id },
      replayFrom: member.joined_seq,
    });
    await this.arm();
    return response;
  }

  override async webSocketMessage(ws: WebSocket, raw: string | ArrayBuffer): Promise<void> {
    const action = await this.sockets.read(ws, raw, Date.now());
    // The hub refuses every action on a socket without actions; nothing else comes back.
    if (action) {
      this.sockets.reply(ws, {
        type: "error",
        request_id: action.requestId,
        status: 422,
        code: "validation_failed",
        detail: "This socket takes no actions.",
      });
    }
  }

  /** A member's last socket closed: the grace before "away" starts now. */
  override async webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> {
    this.sockets.close(ws, code, reason);
    const grant = this.sockets.grantOfSocket(ws);
    if (!grant) return;
    const open = this.ctx
      .getWebSockets(grant.user_id)
      .filter((s) => s !== ws && s.readyState === WebSocket.READY_STATE_OPEN);
    const state = this.current();
    const member = state?.members.find((m) => m.user_id === grant.user_id);
    if (open.length > 0 || !state || !member || member.idle_since !== null) return;
    const now = Date.now();
    this.commit([], now, { state: withMember(state, grant.user_id, (m) => ({ ...m, idle_since: now })) });
    await this.arm();
  }

  override webSocketError(_ws: WebSocket, error: unknown): void {
    this.warn("room socket error", error);
  }

  /** What fell due: members shown away, members removed (D1 first), the empty room closed. */
  override async alarm(): Promise<void> {
    const state = this.current();
    if (!state) return;
    const now = Date.now();
    const due = dueAt(state, now, this.timings);
    const dueMemberIds = new Map(state.members.map((m) => [m.user_id, m.member_id]));
    let closed = false;
    if (due.remove.length > 0 || due.close) {
      try {
        const db = createDatabase(this.env.DB);
        if (due.remove.length > 0) await deleteMembers(db, state.room.room_id, due.remove);
        if (due.close) {
          closed = (await closeEmptyRoom(db, state.room.room_id, nowIso(now))).length > 0;
          // Closed already (an earlier try whose answer was lost): mirror it rather than re-arm forever.
          if (!closed) closed = (await roomStatus(db, state.room.room_id)) === "closed";
        }
      } catch (error) {
        this.warn("room D1 write failed; will retry", error);
        await this.ctx.storage.setAlarm(Date.now() + RETRY_MS);
        return;
      }
    }
    let next = this.current() ?? state;
    const changes: RoomChange[] = [];
    for (const userId of due.away) {
      const member = next.members.find((m) => m.user_id === userId && m.idle_since !== null);
      if (!member) continue;
      const away: RoomMember = { ...member, presence: "away" };
      next = withMember(next, userId, () => away);
      changes.push({ event: "member_away", member: memberView(away, now) });
    }
    this.commit(changes, now, { state: next });
    // One who rejoined while the removal was in flight has a new membership: it stays.
    const removed = due.remove.filter((u) => this.memberOf(u)?.member_id === dueMemberIds.get(u));
    if (removed.length > 0) {
      this.drop(removed, "member_removed", CLOSE_LEFT_ROOM, "You were away too long and left this room.");
    }
    const after = this.current() ?? next;
    if (closed) {
      const shut: RoomState = { ...after, room: { ...after.room, status: "closed" }, empty_since: null };
      const room = { room_id: shut.room.room_id, status: shut.room.status, closed_at: nowIso(now) };
      this.commit([{ event: "room_closed", room }], now, { state: shut });
    } else if (due.close) {
      // Someone joined meanwhile (D1 refused to close): their join brings them here.
      this.commit([], now, { state: { ...after, empty_since: after.members.length === 0 ? now : null } });
    }
    await this.arm();
  }

  /** The state, loaded from D1 (and each member's timer linked) the first time; undefined: no such room. */
  private async loaded(roomId: string): Promise<RoomState | undefined> {
    const stored = this.current();
    if (stored) return stored;
    const found = await roomWithMembers(createDatabase(this.env.DB), roomId);
    if (!found) return undefined;
    const now = Date.now();
    // A closed room hears of nobody's focus again: its members' timers are not woken to link it.
    const linked =
      found.room.status === "open"
        ? await Promise.all(
            found.members.map(async (row) => ({ row, link: await this.linkFocus(roomId, row.userId) })),
          )
        : found.members.map((row) => ({ row, link: NOT_LINKED }));
    // Another call may have loaded it while D1 and the timers answered.
    const raced = this.current();
    if (raced) return raced;
    const state: RoomState = {
      room: {
        room_id: found.room.id,
        name: found.room.name,
        code: found.room.code,
        max_members: found.room.maxMembers,
        sync_pomodoro: found.room.syncPomodoro,
        status: found.room.status,
      },
      members: linked.map(({ row, link }) => memberFromRow(row, now, link, this.store.seq())),
      empty_since: found.members.length === 0 ? now : null,
    };
    this.commit([], now, { state });
    await this.arm();
    return state;
  }

  /**
   * Mirrors a member D1 holds (a join, or a row this object had not heard of): others see them join.
   * A row with another member id is a new membership (a rejoin that raced their removal): it replaces
   * the old one.
   */
  private async admit(roomId: string, row: MemberRow): Promise<void> {
    if (this.memberOf(row.userId)?.member_id === row.memberId) return;
    this.arriving.set(row.userId, null);
    let link: Link = NOT_LINKED;
    try {
      link = await this.linkFocus(roomId, row.userId);
    } finally {
      const early = this.arriving.get(row.userId) ?? null;
      this.arriving.delete(row.userId);
      if (early && isNewer(link.focus, early)) link = { ...link, focus: early };
    }
    const current = this.current();
    if (!current) return;
    const before = current.members.find((m) => m.user_id === row.userId);
    if (before?.member_id === row.memberId) return;
    const now = Date.now();
    const changes: RoomChange[] = [];
    let base = current;
    if (before) {
      base = withoutMembers(current, [row.userId], now);
      changes.push({ event: "member_removed", member_id: before.member_id });
    }
    // Replay from before this seq (the member_joined message) would show them what came before them.
    const joinedSeq = this.store.seq() + changes.length + 1;
    const joined = memberFromRow(row, now, link, joinedSeq);
    const next: RoomState = { ...base, members: [...base.members, joined], empty_since: null };
    changes.push({ event: "member_joined", member: memberView(joined, now) });
    this.commit(changes, now, { state: next });
    await this.arm();
  }

  /**
   * The member as D1 has them: a membership the object missed (its mirroring failed, or a rejoin raced a
   * removal) is admitted, so a GET or a socket never refuses a member `GET /rooms` lists. A member whose
   * timer could not be linked is linked again.
   */
  private async ensureMember(roomId: string, userId: string): Promise<void> {
    if (!this.memberOf(userId)) {
      const row = await memberRow(createDatabase(this.env.DB), roomId, userId);
      if (row) await this.admit(roomId, row);
    }
    await this.relink(roomId, userId);
  }

  /** Links the member's timer when that failed before (best effort: retried at the next call). */
  private async relink(roomId: string, userId: string): Promise<void> {
    if (this.memberOf(userId)?.linked !== false) return;
    const link = await this.linkFocus(roomId, userId);
    const state = this.current();
    const member = state?.members.find((m) => m.user_id === userId);
    if (!link.linked || !state || !member) return;
    const fresher = link.focus !== null && isNewer(member.focus, link.focus);
    const next = withMember(state, userId, (m) => ({
      ...m,
      linked: true,
      ...(fresher ? { focus: link.focus } : {}),
    }));
    const now = Date.now();
    const updated = next.members.find((m) => m.user_id === userId);
    const changes: RoomChange[] =
      fresher && updated ? [{ event: "member_focus", member: memberView(updated, now) }] : [];
    this.commit(changes, now, { state: next });
  }

  /** Takes members out: their sockets close with `code`, the others get one `event` per member. */
  private drop(
    userIds: readonly string[],
    event: "member_left" | "member_removed",
    code: number,
    reason: string,
  ): number {
    let state = this.current();
    if (!state) return 0;
    const now = Date.now();
    let closed = 0;
    let gone = false;
    for (const userId of userIds) {
      closed += this.sockets.closeTagged(userId, code, reason);
      const member = state.members.find((m) => m.user_id === userId);
      if (!member) continue;
      state = withoutMembers(state, [userId], now);
      this.commit([{ event, member_id: member.member_id }], now, { state, except: userId });
      gone = true;
      const roomId = state.room.room_id;
      this.ctx.waitUntil(
        this.timerOf(userId)
          .unlinkRoom(userId, roomId)
          .catch((error: unknown) => this.warn("unlinking a member's timer failed", error)),
      );
    }
    // Earlier messages carry their name and what they shared: only the last, telling of their going,
    // stays. A client reconnecting from before it gets the whole room (without them) in hello.
    if (gone) this.store.forgetMessagesBefore(this.store.seq());
    return closed;
  }

  /** The stored state (parsed once, then kept as `commit` writes it). */
  private current(): RoomState | undefined {
    this.cached ??= this.store.state();
    return this.cached;
  }

  private memberOf(userId: string): RoomMember | undefined {
    return this.current()?.members.find((m) => m.user_id === userId);
  }

  private viewFor(userId: string): RoomAnswer {
    const state = this.current();
    const member = state?.members.find((m) => m.user_id === userId);
    if (!state || !member || state.room.status !== "open") return { ok: false, error: ROOM_NOT_FOUND };
    return { ok: true, view: roomView(state, Date.now()), you: member.member_id };
  }

  private timerOf(userId: string) {
    return this.env.FOCUS_TIMER.get(this.env.FOCUS_TIMER.idFromName(userId));
  }

  /** The member's focus now (their timer then tells this room of every change); null if it cannot say. */
  private async linkFocus(roomId: string, userId: string): Promise<Link> {
    try {
      const linked = await this.timerOf(userId).linkRoom(userId, roomId);
      // A timer that refuses (its account is going) is not asked again.
      return { linked: true, focus: linked.ok ? linked.focus : null };
    } catch (error) {
      this.warn("linking a member's timer failed", error);
      return NOT_LINKED;
    }
  }

  /**
   * Stores the new state and the changes in one transaction and sends one numbered `state` message per
   * change — only what changed, stringified once — to every socket, but those of `except`.
   */
  private commit(
    changes: RoomChange[],
    now: number,
    options: { state: RoomState; except?: string; seen?: string[] },
  ): void {
    const { messages } = this.store.commit(
      {
        state: options.state,
        ...(options.seen ? { seen: options.seen } : {}),
        messages: changes.map((change) => roomMessage(change, now)),
        outbox: [],
      },
      now,
    );
    this.cached = options.state;
    this.sockets.broadcast(messages, now, options.except);
  }

  /** The one alarm, at the earliest due moment (at least 1 ms ahead: one in the past is dropped locally). */
  private async arm(): Promise<void> {
    const state = this.current();
    const due = state ? nextDueAt(state, this.timings) : null;
    const current = await this.ctx.storage.getAlarm();
    if (due === null) {
      if (current !== null) await this.ctx.storage.deleteAlarm();
      return;
    }
    const at = Math.max(due, Date.now() + 1);
    if (current !== at) await this.ctx.storage.setAlarm(at);
  }

  /** Runs an RPC's work; a failure of D1 or a timer is a 503 the client may retry (the work is idempotent). */
  private async guarded<T>(what: string, work: () => Promise<T | Refused>): Promise<T | Refused> {
    try {
      return await work();
    } catch (error) {
      this.warn(`${what} failed`, error);
      return { ok: false, error: ROOM_UNAVAILABLE };
    }
  }

  private warn(message: string, error: unknown): void {
    console.warn(JSON.stringify({ level: "warn", message, error: loggableError(error) }));
  }
}
