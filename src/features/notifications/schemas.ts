import { z } from "@hono/zod-openapi";
import { NOTIFICATION_KINDS } from "../../db/schema/notifications";
import { caseInsensitiveEnum, QueryBoolean } from "../../lib/enums";
import { PaginationQuerySchema } from "../../lib/pagination";
import { isValidTimeZone } from "../../lib/time";
import { MAX_DUE_SOON_MINUTES } from "./preferences";

const Id = z.string().min(1).max(64);

export const NotificationKindSchema = z.enum(NOTIFICATION_KINDS).openapi("NotificationKind");

export const NotificationSchema = z
  .object({
    notification_id: z.string(),
    kind: NotificationKindSchema,
    title: z.string(),
    body: z.string(),
    data: z.record(z.string(), z.unknown()).openapi({
      description: "What the notification is about: `task_id`, `event_id`, `session_id`… (by kind)",
    }),
    created_at: z.string().openapi({ description: "When it reached the inbox" }),
    read_at: z.string().nullable(),
    channels: z
      .array(z.enum(["in_app", "web_push", "expo"]))
      .openapi({ description: "Where it was sent: the inbox, and the push services that accepted it" }),
  })
  .openapi("Notification");

export const ListNotificationsQuerySchema = PaginationQuerySchema.extend({
  unread: QueryBoolean.optional().openapi({ description: "Only unread notifications" }),
  kind: caseInsensitiveEnum(NOTIFICATION_KINDS).optional(),
  digest_id: Id.optional().openapi({ description: "The notifications folded into this digest" }),
});

export const NotificationIdParamsSchema = z.object({
  notification_id: Id.openapi({ param: { name: "notification_id", in: "path" } }),
});

export const UnreadCountSchema = z.object({ unread: z.number().int().min(0) }).openapi("UnreadCount");
export const ReadAllSchema = z
  .object({ marked: z.number().int().min(0).openapi({ description: "How many were unread" }) })
  .openapi("ReadAllResult");

const HHMM = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Use 24-hour "HH:MM", e.g. "22:00".')
  .openapi({ example: "22:00" });

const KindChoiceSchema = z
  .object({ in_app: z.boolean(), push: z.boolean() })
  .openapi("NotificationKindChoice");

const kindsShape = Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, KindChoiceSchema])) as Record<
  (typeof NOTIFICATION_KINDS)[number],
  typeof KindChoiceSchema
>;

const QuietHoursSchema = z
  .object({ start: HHMM, end: HHMM })
  .refine((q) => q.start !== q.end, {
    message: "Quiet hours must start and end at different times.",
    path: ["end"],
  })
  .openapi("QuietHours", {
    description: "On the user's wall clock (their profile time zone); may cross midnight",
  });

const DueSoonMinutes = z
  .array(z.number().int().min(1).max(MAX_DUE_SOON_MINUTES))
  .max(3)
  .refine((list) => new Set(list).size === list.length, { message: "Offsets must be different." })
  .openapi({
    description: `Minutes before a task is due to remind (up to 3, each 1–${MAX_DUE_SOON_MINUTES}); [] for none`,
  });

export const PreferencesSchema = z
  .object({
    kinds: z.object(kindsShape),
    quiet_hours: QuietHoursSchema.nullable(),
    daily_cap: z.number().int().min(1).max(200),
    digest: z.enum(["off", "daily"]).openapi({
      description:
        '"daily": past the cap, notifications wait silently and arrive folded into one digest at the end of ' +
        'quiet hours (08:00 without them); "off": past the cap they go to the inbox silently, unpushed.',
    }),
    due_soon_minutes: DueSoonMinutes,
    time_zone: z.string().openapi({ description: "The profile's time zone that quiet hours are read in" }),
  })
  .openapi("NotificationPreferences");

export const UpdatePreferencesBodySchema = z
  .object({
    kinds: z
      .object(Object.fromEntries(NOTIFICATION_KINDS.map((k) => [k, KindChoiceSchema.partial()])))
      .partial()
      .strict(),
    quiet_hours: QuietHoursSchema.nullable(),
    daily_cap: z.number().int().min(1).max(200),
    digest: caseInsensitiveEnum(["off", "daily"]),
    due_soon_minutes: DueSoonMinutes,
  })
  .partial()
  .strict()
  .openapi("UpdateNotificationPreferences", {
    description: "Only the fields sent change; `kinds` merges per kind and per channel.",
  });

export const PushSubscriptionBodySchema = z
  .object({
    endpoint: z.string().min(1).max(2048),
    keys: z.object({ p256dh: z.string().min(1).max(200), auth: z.string().min(1).max(100) }),
    expirationTime: z.number().nullable().optional(),
  })
  .openapi("PushSubscriptionInput", {
    description: "A browser's PushSubscription, as `subscription.toJSON()` gives it",
  });

export const PushSubscriptionSchema = z
  .object({ subscription_id: z.string(), endpoint: z.string(), created_at: z.string() })
  .openapi("PushSubscription");

export const RemoveSubscriptionBodySchema = z
  .object({ endpoint: z.string().min(1).max(2048) })
  .openapi("RemovePushSubscription");

export const DeviceBodySchema = z
  .object({
    expo_push_token: z.string().min(1).max(200),
    platform: caseInsensitiveEnum(["ios", "android", "web"]),
  })
  .openapi("PushDeviceInput");

export const DeviceSchema = z
  .object({
    device_id: z.string(),
    expo_push_token: z.string(),
    platform: z.string(),
    created_at: z.string(),
  })
  .openapi("PushDevice");

export const DeviceIdParamsSchema = z.object({
  device_id: Id.openapi({ param: { name: "device_id", in: "path" } }),
});

export const VapidKeySchema = z
  .object({
    public_key: z
      .string()
      .openapi({ description: "The applicationServerKey for pushManager.subscribe (base64url)" }),
  })
  .openapi("VapidPublicKey");

export const TimeZoneSchema = z.string().refine(isValidTimeZone);

export type NotificationDto = z.infer<typeof NotificationSchema>;
export type PreferencesDto = z.infer<typeof PreferencesSchema>;
export type UpdatePreferencesInput = z.infer<typeof UpdatePreferencesBodySchema>;
export type ListNotificationsQuery = z.infer<typeof ListNotificationsQuerySchema>;
