import { sql } from "drizzle-orm";
import { check, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const ROOM_STATUSES = ["open", "closed"] as const;
export type RoomStatus = (typeof ROOM_STATUSES)[number];

/**
 * Body-doubling focus rooms. The live state (who is here, their timers, sockets) is the FocusRoom
 * Durable Object's; D1 keeps what must be found without it: the join code, the cap, and who belongs.
 * A room has no `user_id`: it is shared by its members and nobody's own data (each membership is).
 */
export const rooms = sqliteTable(
  "rooms",
  {
    id: text("id").primaryKey(),
    name: text("name"),
    /** The code people type or paste to join, as shown (e.g. "K7P-3QX"). */
    code: text("code").notNull(),
    /** The code normalised for lookup (upper case, no separators): what a join matches. */
    codeKey: text("code_key").notNull(),
    maxMembers: integer("max_members").notNull(),
    syncPomodoro: integer("sync_pomodoro", { mode: "boolean" }).notNull().default(false),
    status: text("status", { enum: ROOM_STATUSES }).notNull().default("open"),
    createdAt: text("created_at").notNull(),
    closedAt: text("closed_at"),
  },
  (t) => [
    // A code names one open room at a time; a closed room's code may come round again.
    uniqueIndex("rooms_open_code").on(t.codeKey).where(sql`status = 'open'`),
    check("rooms_max_members", sql`${t.maxMembers} BETWEEN 2 AND 20`),
  ],
);

/** Who belongs to which room. `member_id` is the public handle other members see, not the user id. */
export const roomMembers = sqliteTable(
  "room_members",
  {
    roomId: text("room_id").notNull(),
    userId: text("user_id").notNull(),
    memberId: text("member_id").notNull(),
    displayName: text("display_name").notNull(),
    shareTask: integer("share_task", { mode: "boolean" }).notNull().default(false),
    syncPomodoro: integer("sync_pomodoro", { mode: "boolean" }).notNull().default(false),
    joinedAt: text("joined_at").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.roomId, t.userId] }),
    uniqueIndex("room_members_member_id").on(t.memberId),
    index("room_members_user").on(t.userId, t.roomId),
  ],
);

/**
 * Notes on an assignment: what the agent (or the owner) wants the other to know — progress, a
 * question, the summary on completion. Append-only.
 */
export const assignmentNotes = sqliteTable(
  "assignment_notes",
  {
    id: text("id").primaryKey(),
    userId: text("user_id").notNull(),
    assignmentId: text("assignment_id").notNull(),
    /** "owner" or the agent's client id: who wrote it. */
    author: text("author").notNull(),
    text: text("text").notNull(),
    createdAt: text("created_at").notNull(),
  },
  (t) => [index("assignment_notes_user_assignment").on(t.userId, t.assignmentId, t.id)],
);
