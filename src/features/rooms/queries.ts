/**
 * The D1 statements of focus rooms. Membership caps are conditions inside the statement that writes
 * (D1 runs statements one at a time), so concurrent joins cannot pass them together.
 */
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Database } from "../../db";
import { roomMembers, rooms, users } from "../../db/schema";
import { abortIf, rawStatement } from "../../lib/batch";
import { MAX_ROOMS_PER_PERSON } from "./room-rules";
import { DISPLAY_NAME_CHARS } from "./schemas";

export type RoomRow = typeof rooms.$inferSelect;
export type MemberRow = typeof roomMembers.$inferSelect;

/** A membership as it is written: the display name null for "the profile's". */
export interface NewMember {
  roomId: string;
  userId: string;
  memberId: string;
  displayName: string | null;
  shareTask: boolean;
  syncPomodoro: boolean;
  joinedAt: string;
}

const openRoomsOf = (userId: string) =>
  sql`(SELECT count(*) FROM room_members m JOIN rooms r ON r.id = m.room_id WHERE m.user_id = ${userId} AND r.status = 'open')`;

/**
 * Inserts the membership when the room is open, has room, and the person is in fewer than
 * MAX_ROOMS_PER_PERSON open rooms — all checked inside the one statement. Does nothing for a member
 * already there. A missing display name is the profile's (or "Member").
 */
function insertMemberIfAllowed(db: Database, m: NewMember, checkCap: boolean) {
  const roomHasSpace = checkCap
    ? sql`AND EXISTS (SELECT 1 FROM rooms WHERE id = ${m.roomId} AND status = 'open')
        AND (SELECT count(*) FROM room_members WHERE room_id = ${m.roomId})
          < (SELECT max_members FROM rooms WHERE id = ${m.roomId})`
    : sql``;
  return rawStatement(
    db,
    sql`INSERT INTO room_members (room_id, user_id, member_id, display_name, share_task, sync_pomodoro, joined_at)
      SELECT ${m.roomId}, ${m.userId}, ${m.memberId},
        substr(COALESCE(${m.displayName}, (SELECT display_name FROM users WHERE id = ${m.userId}), 'Member'), 1, ${DISPLAY_NAME_CHARS}),
        ${m.shareTask ? 1 : 0}, ${m.syncPomodoro ? 1 : 0}, ${m.joinedAt}
      WHERE ${openRoomsOf(m.userId)} < ${MAX_ROOMS_PER_PERSON} ${roomHasSpace}
      ON CONFLICT DO NOTHING`,
  );
}

/**
 * A new room with its creator as the first member: aborted (isGuardAbort) when the creator is already
 * in MAX_ROOMS_PER_PERSON open rooms; a UNIQUE failure on `code_key` means the code is taken.
 */
export function createRoomStatements(db: Database, room: RoomRow, creator: NewMember): BatchItem<"sqlite">[] {
  return [
    abortIf(db, sql`${openRoomsOf(creator.userId)} >= ${MAX_ROOMS_PER_PERSON}`),
    db.insert(rooms).values(room),
    insertMemberIfAllowed(db, creator, false),
  ];
}

export type JoinOutcome =
  | { ok: true; member: MemberRow }
  | { ok: false; reason: "not_open" | "full" | "too_many_rooms" };

/** Joins in one round trip: the guarded insert, then what tells a refusal's reason. */
export async function joinRoomRow(db: Database, member: NewMember): Promise<JoinOutcome> {
  const [, rows, room, count, mine] = await db.batch([
    insertMemberIfAllowed(db, member, true),
    db
      .select()
      .from(roomMembers)
      .where(and(eq(roomMembers.roomId, member.roomId), eq(roomMembers.userId, member.userId))),
    db.select({ status: rooms.status, max: rooms.maxMembers }).from(rooms).where(eq(rooms.id, member.roomId)),
    db.select({ n: sql<number>`count(*)` }).from(roomMembers).where(eq(roomMembers.roomId, member.roomId)),
    db
      .select({ n: sql<number>`${openRoomsOf(member.userId)}` })
      .from(users)
      .where(eq(users.id, member.userId)),
  ]);
  const row = rows[0];
  if (row) return { ok: true, member: row };
  const current = room[0];
  if (current?.status !== "open") return { ok: false, reason: "not_open" };
  if ((count[0]?.n ?? 0) >= current.max) return { ok: false, reason: "full" };
  if ((mine[0]?.n ?? 0) >= MAX_ROOMS_PER_PERSON) return { ok: false, reason: "too_many_rooms" };
  return { ok: false, reason: "full" };
}

/** The open room a code key names, if any. */
export async function openRoomIdByCode(db: Database, codeKey: string): Promise<string | undefined> {
  const row = await db
    .select({ id: rooms.id })
    .from(rooms)
    .where(and(eq(rooms.codeKey, codeKey), eq(rooms.status, "open")))
    .get();
  return row?.id;
}

/** Whether the user is a member of this open room (anyone else's room looks missing). */
export async function isOpenRoomMember(db: Database, roomId: string, userId: string): Promise<boolean> {
  const row = await db
    .select({ id: rooms.id })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId), eq(rooms.status, "open")))
    .get();
  return row !== undefined;
}

/** The room and its members, for its object to start from. */
export async function roomWithMembers(
  db: Database,
  roomId: string,
): Promise<{ room: RoomRow; members: MemberRow[] } | undefined> {
  const [room, members] = await db.batch([
    db.select().from(rooms).where(eq(rooms.id, roomId)),
    db.select().from(roomMembers).where(eq(roomMembers.roomId, roomId)).orderBy(asc(roomMembers.joinedAt)),
  ]);
  const row = room[0];
  return row ? { room: row, members } : undefined;
}

/** The person's open rooms with their membership and the number of members, newest joined first. */
export function myOpenRooms(db: Database, userId: string) {
  return db
    .select({
      room: rooms,
      memberId: roomMembers.memberId,
      joinedAt: roomMembers.joinedAt,
      members: sql<number>`(SELECT count(*) FROM room_members c WHERE c.room_id = ${rooms.id})`,
    })
    .from(roomMembers)
    .innerJoin(rooms, eq(rooms.id, roomMembers.roomId))
    .where(and(eq(roomMembers.userId, userId), eq(rooms.status, "open")))
    .orderBy(sql`${roomMembers.joinedAt} DESC`)
    .limit(MAX_ROOMS_PER_PERSON * 2)
    .all();
}

/** Every room the person is a member of (open or not): for erasure and revocation. */
export async function roomIdsOf(db: Database, userId: string): Promise<string[]> {
  const rows = await db
    .select({ roomId: roomMembers.roomId })
    .from(roomMembers)
    .where(eq(roomMembers.userId, userId))
    .all();
  return rows.map((r) => r.roomId);
}

/** The user's membership of the room, if D1 has it. */
export function memberRow(db: Database, roomId: string, userId: string): Promise<MemberRow | undefined> {
  return db
    .select()
    .from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .get();
}

/** The room's status in D1 (undefined: no such room). */
export async function roomStatus(db: Database, roomId: string): Promise<RoomRow["status"] | undefined> {
  const row = await db.select({ status: rooms.status }).from(rooms).where(eq(rooms.id, roomId)).get();
  return row?.status;
}

export function deleteMembers(db: Database, roomId: string, userIds: string[]) {
  return db
    .delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), inArray(roomMembers.userId, userIds)))
    .returning({ userId: roomMembers.userId });
}

export function updateMember(
  db: Database,
  roomId: string,
  userId: string,
  patch: Partial<Pick<MemberRow, "displayName" | "shareTask" | "syncPomodoro">>,
) {
  return db
    .update(roomMembers)
    .set(patch)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .returning();
}

/** Closes the room if it is still open and nobody joined meanwhile; its code is then free again. */
export function closeEmptyRoom(db: Database, roomId: string, closedAt: string) {
  return db
    .update(rooms)
    .set({ status: "closed", closedAt })
    .where(
      and(
        eq(rooms.id, roomId),
        eq(rooms.status, "open"),
        sql`NOT EXISTS (SELECT 1 FROM room_members WHERE room_id = ${roomId})`,
      ),
    )
    .returning({ id: rooms.id });
}
