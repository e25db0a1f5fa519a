import type { Database } from "../../db";
import type { Env } from "../../env";
import { D1Batch, isGuardAbort } from "../../lib/batch";
import { isUniqueViolation, loggableError } from "../../lib/db-errors";
import { notFound } from "../../lib/errors";
import { type IdempotencyContext, replaceStoredResponse, writeOnce } from "../../lib/idempotency";
import { newId } from "../../lib/ids";
import { accepted, refusalError } from "../../lib/live-refusal";
import { nowIso } from "../../lib/time";
import { retryingStub } from "../../lib/transient";
import { formatRoomCode, newRoomCodeKey, roomCodeKey } from "./code";
import { ROOM_CODE_NOT_FOUND, TOO_MANY_ROOMS } from "./protocol";
import { createRoomStatements, isOpenRoomMember, myOpenRooms, openRoomIdByCode, roomIdsOf } from "./queries";
import { MAX_ROOMS_PER_PERSON } from "./room-rules";
import {
  type CreateRoomInput,
  type JoinRoomInput,
  type MembershipPatch,
  type RoomDto,
  RoomSchema,
  type RoomSummaryDto,
} from "./schemas";

/** Room calls safe to send twice: every one of them converges (a join twice is one membership). */
const ROOM_IDEMPOTENT = new Set(["join", "view", "leave", "updateMember", "memberErased", "closeCredential"]);
/** A new code is drawn this often when the last one was an open room's already (40 bits: rare). */
const CODE_ATTEMPTS = 4;

/** The room's FocusRoom Durable Object. */
export function focusRoom(env: Pick<Env, "FOCUS_ROOM">, roomId: string) {
  return retryingStub(env.FOCUS_ROOM.get(env.FOCUS_ROOM.idFromName(roomId)), (method) =>
    ROOM_IDEMPOTENT.has(method),
  );
}

const toDto = (answer: { view: RoomDto | Omit<RoomDto, "you">; you: string }): RoomDto => ({
  ...answer.view,
  you: answer.you,
});

/** 404 unless the user is a member of this open room (another person's room looks missing). */
export async function requireMembership(db: Database, roomId: string, userId: string): Promise<void> {
  if (!(await isOpenRoomMember(db, roomId, userId))) throw notFound("Room");
}

const codeTaken = (error: unknown) => isUniqueViolation(error) && String(error).includes("code_key");

/**
 * Creates a room with the creator as its first member (409 when they are in MAX_ROOMS_PER_PERSON open
 * rooms already); retry-safe with an Idempotency-Key. The answer is the room as its object holds it;
 * a replay answers that first answer again and joins nobody (the creator may have left since).
 */
export async function createRoom(
  env: Env,
  db: Database,
  userId: string,
  input: CreateRoomInput,
  idempotency: IdempotencyContext | undefined,
): Promise<{ room: RoomDto; replayed: boolean }> {
  let created: { body: { room_id: string }; replayed: boolean } | undefined;
  for (let attempt = 1; !created; attempt++) {
    try {
      created = await writeOnce(db, userId, idempotency, () => {
        const now = nowIso(Date.now());
        const roomId = newId();
        const key = newRoomCodeKey();
        const batch = new D1Batch();
        batch.addAll(
          createRoomStatements(
            db,
            {
              id: roomId,
              name: input.name ?? null,
              code: formatRoomCode(key),
              codeKey: key,
              maxMembers: input.max_members,
              syncPomodoro: input.sync_pomodoro,
              status: "open",
              createdAt: now,
              closedAt: null,
            },
            {
              roomId,
              userId,
              memberId: newId(),
              displayName: input.display_name ?? null,
              shareTask: input.share_task,
              syncPomodoro: input.sync_pomodoro,
              joinedAt: now,
            },
          ),
        );
        return {
          status: 201,
          batch,
          body: { room_id: roomId },
          failure: (error) =>
            isGuardAbort(error) ? refusalError(TOO_MANY_ROOMS(MAX_ROOMS_PER_PERSON)) : error,
        };
      });
    } catch (error) {
      if (attempt >= CODE_ATTEMPTS || !codeTaken(error)) throw error;
    }
  }
  const roomId = created.body.room_id;
  if (created.replayed) {
    const first = RoomSchema.safeParse(created.body);
    if (first.success) return { room: first.data, replayed: true };
    // The first answer was not stored (its object failed, or storing it did): the room as it is now.
    return { room: toDto(accepted(await focusRoom(env, roomId).view(roomId, userId))), replayed: true };
  }
  // The object mirrors the new room and links the creator's timer.
  const room = toDto(accepted(await focusRoom(env, roomId).join(roomId, userId, {})));
  if (idempotency) {
    try {
      await replaceStoredResponse(db, userId, idempotency, room);
    } catch (error) {
      // The room is made: a replay then answers the room as it is now instead.
      console.warn(
        JSON.stringify({
          level: "warn",
          message: "storing a room's first answer failed",
          error: loggableError(error),
        }),
      );
    }
  }
  return { room, replayed: false };
}

/** Joins the open room the code names (any case, spaces and dashes ignored): 404 for any other code. */
export async function joinRoom(
  env: Env,
  db: Database,
  userId: string,
  input: JoinRoomInput,
): Promise<RoomDto> {
  const key = roomCodeKey(input.code);
  const roomId = key === null ? undefined : await openRoomIdByCode(db, key);
  if (roomId === undefined) throw refusalError(ROOM_CODE_NOT_FOUND);
  const { code: _code, ...settings } = input;
  return toDto(accepted(await focusRoom(env, roomId).join(roomId, userId, settings)));
}

export async function viewRoom(env: Env, db: Database, userId: string, roomId: string): Promise<RoomDto> {
  await requireMembership(db, roomId, userId);
  return toDto(accepted(await focusRoom(env, roomId).view(roomId, userId)));
}

export async function leaveRoom(env: Env, db: Database, userId: string, roomId: string): Promise<void> {
  await requireMembership(db, roomId, userId);
  accepted(await focusRoom(env, roomId).leave(roomId, userId));
}

export async function patchMembership(
  env: Env,
  db: Database,
  userId: string,
  roomId: string,
  patch: MembershipPatch,
): Promise<RoomDto> {
  await requireMembership(db, roomId, userId);
  return toDto(accepted(await focusRoom(env, roomId).updateMember(roomId, userId, patch)));
}

/** The person's open rooms (at most MAX_ROOMS_PER_PERSON), from D1 alone: no object is woken. */
export async function myRooms(db: Database, userId: string): Promise<RoomSummaryDto[]> {
  const rows = await myOpenRooms(db, userId);
  return rows.map((r) => ({
    room_id: r.room.id,
    name: r.room.name,
    code: r.room.code,
    max_members: r.room.maxMembers,
    sync_pomodoro: r.room.syncPomodoro,
    members: Number(r.members),
    you: r.memberId,
    joined_at: r.joinedAt,
  }));
}

/**
 * Tells every room the person is in that their account is being deleted (their sockets close 4003 and
 * the others see them removed), before their memberships go from D1. Safe to repeat.
 */
export async function eraseFromRooms(env: Env, db: Database, userId: string): Promise<void> {
  const roomIds = await roomIdsOf(db, userId);
  await Promise.all(roomIds.map((roomId) => focusRoom(env, roomId).memberErased(roomId, userId)));
}

/**
 * Closes (4001) the person's room sockets opened with a credential just revoked. Best effort, like the
 * focus and pet sockets' (src/lib/live-socket-close.ts); a room socket takes no actions, so its
 * credential is also checked again whenever it reconnects.
 */
export async function closeRoomCredentialSockets(
  env: Pick<Env, "FOCUS_ROOM">,
  db: Database,
  userId: string,
  credentialId: string,
): Promise<void> {
  try {
    const roomIds = await roomIdsOf(db, userId);
    await Promise.all(roomIds.map((roomId) => focusRoom(env, roomId).closeCredential(credentialId)));
  } catch (error) {
    console.warn(
      JSON.stringify({
        level: "warn",
        message: "closing a revoked credential's room sockets failed",
        error: loggableError(error),
      }),
    );
  }
}
