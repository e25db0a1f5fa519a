import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { RoundStarted } from "../../src/features/rooms/protocol";
import type { MemberView, RoomState, RoomView } from "../../src/features/rooms/room-rules";
import type { RoomDto, RoomSummaryDto } from "../../src/features/rooms/schemas";
import { newId } from "../../src/lib/ids";
import type { SocketTicketDto } from "../../src/lib/live-socket-routes";
import { call, callJson, type TestUser } from "./api";
import { connect, openSocket, type SocketOptions, type TestSocket } from "./focus";

export type Room = RoomDto;

export interface RoomMessage {
  type: string;
  seq?: number;
  event?: string;
  at?: string;
  /** The hello's whole view. */
  state?: RoomView;
  /** A change's member (joined, focus, away, back, updated). */
  member?: MemberView;
  /** A change's member by id (left, removed, whose start opened a round). */
  member_id?: string;
  round?: RoundStarted;
  room?: { room_id: string; status: string; closed_at: string };
  replayed?: number;
  gap?: boolean;
  you?: string;
  status?: number;
  code?: string;
  detail?: string;
}

export type RoomSocket = TestSocket<RoomMessage>;

export function createRoom(user: TestUser, body: Record<string, unknown> = {}): Promise<Room> {
  return callJson<Room>("/api/v1/rooms", 201, { token: user.token, body });
}

export function joinRoom(user: TestUser, code: string, body: Record<string, unknown> = {}): Promise<Room> {
  return callJson<Room>("/api/v1/rooms/join", 200, { token: user.token, body: { code, ...body } });
}

export function roomOf(user: TestUser, roomId: string): Promise<Room> {
  return callJson<Room>(`/api/v1/rooms/${roomId}`, 200, { token: user.token });
}

export function myRooms(user: TestUser): Promise<RoomSummaryDto[]> {
  return callJson<RoomSummaryDto[]>("/api/v1/rooms", 200, { token: user.token });
}

export async function leaveRoom(user: TestUser, roomId: string): Promise<void> {
  const res = await call(`/api/v1/rooms/${roomId}/leave`, { method: "POST", token: user.token });
  if (res.status !== 204) throw new Error(`leave: expected 204, got ${res.status}: ${await res.text()}`);
}

/** A room created by `owner` with every one of `others` in it. */
export async function roomWith(owner: TestUser, others: TestUser[], body: Record<string, unknown> = {}) {
  const room = await createRoom(owner, body);
  for (const user of others) await joinRoom(user, room.code);
  return room;
}

const channel = (roomId: string) => ({ path: `/api/v1/rooms/${roomId}/ws`, subprotocol: "pap.room.v1" });

export function connectRoom(roomId: string, options: Omit<SocketOptions, "channel"> = {}): Promise<Response> {
  return connect({ ...options, channel: channel(roomId) });
}

/** Opens a room socket the way a client would (the bearer subprotocol unless a ticket is given). */
export function openRoomSocket(
  roomId: string,
  options: Omit<SocketOptions, "channel"> = {},
): Promise<RoomSocket> {
  return openSocket<RoomMessage>({ ...options, channel: channel(roomId) });
}

export async function roomTicket(user: TestUser, roomId: string): Promise<string> {
  const body = await callJson<SocketTicketDto>(`/api/v1/rooms/${roomId}/ws-ticket`, 201, {
    method: "POST",
    token: user.token,
  });
  return body.ticket;
}

export function roomObject(roomId: string) {
  return env.FOCUS_ROOM.get(env.FOCUS_ROOM.idFromName(roomId));
}

/** The `state` messages after the hello, as [seq, event]. */
export const events = (messages: readonly RoomMessage[]) =>
  messages.filter((m) => m.type === "state").map((m) => [m.seq, m.event] as const);

/** Sequence numbers from the hello on: each one more than the last. */
export function expectGapFree(messages: readonly RoomMessage[]): boolean {
  const seqs = messages.filter((m) => m.type === "hello" || m.type === "state").map((m) => m.seq ?? -1);
  return seqs.every((seq, i) => i === 0 || seq === (seqs[i - 1] ?? 0) + 1);
}

/** The room object's stored state (undefined: it has never loaded the room). */
export function storedRoomState(roomId: string): Promise<RoomState | undefined> {
  return runInDurableObject(roomObject(roomId), (_instance, state) => {
    const row = state.storage.sql
      .exec<{ value: string }>("SELECT value FROM meta WHERE key = 'state'")
      .toArray()[0];
    return row ? (JSON.parse(row.value) as RoomState) : undefined;
  });
}

/** A membership D1 has and the room's object never mirrored; answers its member id. */
export async function insertRoomMemberRow(roomId: string, userId: string, name: string): Promise<string> {
  const memberId = newId();
  await env.DB.prepare(
    "INSERT INTO room_members (room_id, user_id, member_id, display_name, share_task, sync_pomodoro, joined_at) VALUES (?, ?, ?, ?, 0, 0, ?)",
  )
    .bind(roomId, userId, memberId, name, new Date().toISOString())
    .run();
  return memberId;
}

export async function membersInD1(roomId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT count(*) AS n FROM room_members WHERE room_id = ?")
    .bind(roomId)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * The sockets a test file opens, all closed after each test (`afterEach(sockets.closeAll)`). `open`
 * opens a member's room socket and waits for its hello; `track` adopts any other socket.
 */
export function socketsOfTest() {
  const opened: TestSocket<unknown>[] = [];
  return {
    track<T extends TestSocket<unknown>>(socket: T): T {
      opened.push(socket);
      return socket;
    },
    async open(roomId: string, token: string, query?: string): Promise<RoomSocket> {
      const socket = await openRoomSocket(roomId, query ? { token, query } : { token });
      opened.push(socket);
      await socket.waitFor(1);
      return socket;
    },
    closeAll(): void {
      for (const socket of opened.splice(0)) socket.close();
    },
  };
}
