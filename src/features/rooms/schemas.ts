import { z } from "@hono/zod-openapi";
import { ROOM_STATUSES } from "../../db/schema/rooms";
import { MEMBER_FOCUS_STATUSES } from "./member-focus";
import { DEFAULT_MAX_MEMBERS, MIN_MEMBERS, PRESENCES } from "./room-rules";

export const ROOM_NAME_CHARS = 80;
export const DISPLAY_NAME_CHARS = 40;

const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(DISPLAY_NAME_CHARS)
  .openapi({ description: "The name other members see (default: your profile's display name)" });
const ShareTask = z
  .boolean()
  .openapi({ description: "Show other members the task you focus on (default false)" });
const SyncPomodoro = z.boolean().openapi({
  description:
    "In a sync_pomodoro room: start when another opted-in member starts (default: the room's setting)",
});

export const CreateRoomBodySchema = z
  .object({
    name: z.string().trim().min(1).max(ROOM_NAME_CHARS).optional().openapi({ example: "Thesis writing" }),
    max_members: z
      .number()
      .int()
      .min(MIN_MEMBERS)
      .max(DEFAULT_MAX_MEMBERS)
      .default(DEFAULT_MAX_MEMBERS)
      .openapi({ description: `At most this many members, ${MIN_MEMBERS}–${DEFAULT_MAX_MEMBERS}` }),
    sync_pomodoro: z.boolean().default(false).openapi({
      description: "When an opted-in member starts a round, it starts for every opted-in member",
    }),
    display_name: DisplayName.optional(),
    share_task: ShareTask.default(false),
  })
  .openapi("CreateRoomRequest");
export type CreateRoomInput = z.infer<typeof CreateRoomBodySchema>;

export const JoinRoomBodySchema = z
  .object({
    code: z
      .string()
      .min(1)
      .max(40)
      .openapi({ example: "K7PM-3QXA", description: "Any case; spaces and dashes ignored" }),
    display_name: DisplayName.optional(),
    share_task: ShareTask.default(false),
    sync_pomodoro: SyncPomodoro.optional(),
  })
  .openapi("JoinRoomRequest");
export type JoinRoomInput = z.infer<typeof JoinRoomBodySchema>;

export const PatchMembershipBodySchema = z
  .object({
    display_name: DisplayName.optional(),
    share_task: ShareTask.optional(),
    sync_pomodoro: SyncPomodoro.optional(),
  })
  .strict()
  .openapi("RoomMembershipPatch");
export type MembershipPatch = z.infer<typeof PatchMembershipBodySchema>;

export const RoomIdParamsSchema = z.object({ room_id: z.string().trim().min(1).max(64) });

const TaskLabelSchema = z.object({ task_id: z.string(), title: z.string() });

export const MemberFocusSchema = z
  .object({
    status: z.enum(MEMBER_FOCUS_STATUSES),
    session_id: z.string().nullable(),
    kind: z.string().nullable().openapi({ description: "The session's kind, or short_break / long_break" }),
    started_at: z.string().nullable(),
    ends_at: z.string().nullable(),
    remaining_seconds: z.number().int().nullable(),
    task: z.union([TaskLabelSchema, z.null()]).openapi({ description: "Only when the member shares it" }),
  })
  .openapi("MemberFocus");

export const RoomMemberSchema = z
  .object({
    member_id: z.string().openapi({ description: "A public handle for this membership (not a user id)" }),
    display_name: z.string(),
    presence: z.enum(PRESENCES),
    share_task: z.boolean(),
    sync_pomodoro: z.boolean(),
    joined_at: z.string(),
    focus: MemberFocusSchema,
  })
  .openapi("RoomMember");

export const RoomViewSchema = z
  .object({
    room_id: z.string(),
    name: z.string().nullable(),
    code: z.string().openapi({ example: "K7PM-3QXA" }),
    max_members: z.number().int(),
    sync_pomodoro: z.boolean(),
    status: z.enum(ROOM_STATUSES),
    members: z.array(RoomMemberSchema),
  })
  .openapi("RoomView");

export const RoomSchema = RoomViewSchema.extend({
  you: z.string().openapi({ description: "Your member_id in this room" }),
}).openapi("Room");
export type RoomDto = z.infer<typeof RoomSchema>;

export const RoomSummarySchema = z
  .object({
    room_id: z.string(),
    name: z.string().nullable(),
    code: z.string(),
    max_members: z.number().int(),
    sync_pomodoro: z.boolean(),
    members: z.number().int(),
    you: z.string(),
    joined_at: z.string(),
  })
  .openapi("RoomSummary");
export type RoomSummaryDto = z.infer<typeof RoomSummarySchema>;
