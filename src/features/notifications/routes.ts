import { createRoute, z } from "@hono/zod-openapi";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { BEARER_SECURITY, errorResponses, jsonBody, jsonResponse, pageResponse } from "../../lib/openapi";
import { pageAfter, withNextLink } from "../../lib/pagination";
import { requireAuth } from "../../middleware/auth";
import * as pushService from "./push-service";
import { INBOX_CURSOR_PATTERN } from "./queries";
import {
  DeviceBodySchema,
  DeviceIdParamsSchema,
  DeviceSchema,
  ListNotificationsQuerySchema,
  NotificationIdParamsSchema,
  NotificationSchema,
  PreferencesSchema,
  PushSubscriptionBodySchema,
  PushSubscriptionSchema,
  ReadAllSchema,
  RemoveSubscriptionBodySchema,
  UnreadCountSchema,
  UpdatePreferencesBodySchema,
  VapidKeySchema,
} from "./schemas";
import * as service from "./service";

const tags = ["Notifications"];
const read = requireAuth({ scope: "notifications:read" });
const write = requireAuth({ scope: "notifications:write" });

export const listNotificationsRoute = createRoute({
  method: "get",
  path: "/",
  tags,
  summary: "The inbox: newest first",
  description:
    "Delivered notifications shown in the app (`?unread=true` for unread ones, `?kind=` for one kind). " +
    "A notification deferred by quiet hours appears when they end; past the daily cap, notifications " +
    "arrive folded into a digest (`?digest_id=` lists what one folded). The next page, if any, is in the " +
    '`Link: <…>; rel="next"` header. New notifications also arrive at once on the focus socket ' +
    '(`/api/v1/focus/ws`) as `{"type":"notification","notification":{…}}`.',
  security: BEARER_SECURITY,
  middleware: read,
  request: { query: ListNotificationsQuerySchema },
  responses: {
    200: pageResponse(NotificationSchema, "A page of notifications"),
    ...errorResponses(400, 401, 403, 422),
  },
});

export const unreadCountRoute = createRoute({
  method: "get",
  path: "/unread-count",
  tags,
  summary: "How many inbox notifications are unread",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(UnreadCountSchema, "The unread count"), ...errorResponses(401, 403) },
});

export const markReadRoute = createRoute({
  method: "post",
  path: "/{notification_id}/read",
  tags,
  summary: "Mark a notification read",
  description: "Marking it again keeps the first `read_at`.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: NotificationIdParamsSchema },
  responses: { 200: jsonResponse(NotificationSchema, "The notification"), ...errorResponses(401, 403, 404) },
});

export const readAllRoute = createRoute({
  method: "post",
  path: "/read-all",
  tags,
  summary: "Mark every inbox notification read",
  security: BEARER_SECURITY,
  middleware: write,
  responses: { 200: jsonResponse(ReadAllSchema, "How many were marked"), ...errorResponses(401, 403) },
});

export const deleteNotificationRoute = createRoute({
  method: "delete",
  path: "/{notification_id}",
  tags,
  summary: "Remove a notification from the inbox",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: NotificationIdParamsSchema },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404) },
});

export const getPreferencesRoute = createRoute({
  method: "get",
  path: "/preferences",
  tags,
  summary: "Notification preferences: per kind, quiet hours, daily cap, digest, due-soon reminders",
  description:
    "Quiet hours are read on the wall clock of the profile's time zone (DST-correct); a notification due " +
    "inside them is delivered when they end. Defaults: every kind in the inbox and pushed except " +
    "suggestions (inbox only), no quiet hours, a cap of 20 a day, a daily digest, reminders 60 and 15 " +
    "minutes before a task is due.",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(PreferencesSchema, "The preferences"), ...errorResponses(401, 403) },
});

export const updatePreferencesRoute = createRoute({
  method: "put",
  path: "/preferences",
  tags,
  summary: "Change notification preferences",
  description: "Only the fields sent change; `kinds` merges per kind and per channel. Answers the whole.",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(UpdatePreferencesBodySchema) },
  responses: {
    200: jsonResponse(PreferencesSchema, "The preferences now"),
    ...errorResponses(400, 401, 403, 413, 422),
  },
});

export const vapidKeyRoute = createRoute({
  method: "get",
  path: "/vapid-public-key",
  tags,
  summary: "The server's VAPID public key, for pushManager.subscribe({applicationServerKey})",
  description: "503 when Web Push is not configured on this server.",
  responses: { 200: jsonResponse(VapidKeySchema, "The key"), ...errorResponses(503) },
});

export const subscribeRoute = createRoute({
  method: "post",
  path: "/push-subscriptions",
  tags,
  summary: "Register a browser's Web Push subscription",
  description:
    "Send `subscription.toJSON()`. Registering an endpoint again updates it (200). Payloads are encrypted " +
    "for the subscription (RFC 8291) and signed with the server's VAPID key (RFC 8292); a subscription " +
    "the push service reports gone (404, 410) is removed. At most 20 per account (409).",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(PushSubscriptionBodySchema) },
  responses: {
    200: jsonResponse(PushSubscriptionSchema, "Already registered; updated"),
    201: jsonResponse(PushSubscriptionSchema, "Registered"),
    ...errorResponses(400, 401, 403, 409, 413, 422, 503),
  },
});

export const unsubscribeRoute = createRoute({
  method: "delete",
  path: "/push-subscriptions",
  tags,
  summary: "Remove a browser's Web Push subscription (by its endpoint)",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(RemoveSubscriptionBodySchema) },
  responses: { 204: { description: "Removed" }, ...errorResponses(400, 401, 403, 404, 413, 422) },
});

export const registerDeviceRoute = createRoute({
  method: "post",
  path: "/devices",
  tags,
  summary: "Register the mobile app's Expo push token",
  description:
    "Registering a token again updates it (200); a token registered by another account moves to this one. " +
    "Pushes go through Expo's push API; a token Expo reports `DeviceNotRegistered` is removed. At most 20 " +
    "per account (409).",
  security: BEARER_SECURITY,
  middleware: write,
  request: { body: jsonBody(DeviceBodySchema) },
  responses: {
    200: jsonResponse(DeviceSchema, "Already registered; updated"),
    201: jsonResponse(DeviceSchema, "Registered"),
    ...errorResponses(400, 401, 403, 409, 413, 422),
  },
});

export const listDevicesRoute = createRoute({
  method: "get",
  path: "/devices",
  tags,
  summary: "The account's registered Expo devices",
  security: BEARER_SECURITY,
  middleware: read,
  responses: { 200: jsonResponse(z.array(DeviceSchema), "The devices"), ...errorResponses(401, 403) },
});

export const removeDeviceRoute = createRoute({
  method: "delete",
  path: "/devices/{device_id}",
  tags,
  summary: "Remove a registered Expo device",
  security: BEARER_SECURITY,
  middleware: write,
  request: { params: DeviceIdParamsSchema },
  responses: { 204: { description: "Removed" }, ...errorResponses(401, 403, 404) },
});

const listHandler: AppRouteHandler<typeof listNotificationsRoute> = async (c) => {
  const query = c.req.valid("query");
  const after = pageAfter(query.cursor, INBOX_CURSOR_PATTERN);
  const page = await service.listNotifications(c.var.db, c.var.principal.userId, query, after);
  return c.json(withNextLink(c, page), 200);
};

const unreadCountHandler: AppRouteHandler<typeof unreadCountRoute> = async (c) =>
  c.json({ unread: await service.unreadCount(c.var.db, c.var.principal.userId) }, 200);

const markReadHandler: AppRouteHandler<typeof markReadRoute> = async (c) =>
  c.json(await service.markRead(c.var.db, c.var.principal.userId, c.req.valid("param").notification_id), 200);

const readAllHandler: AppRouteHandler<typeof readAllRoute> = async (c) =>
  c.json({ marked: await service.markAllRead(c.var.db, c.var.principal.userId) }, 200);

const deleteHandler: AppRouteHandler<typeof deleteNotificationRoute> = async (c) => {
  await service.deleteNotification(c.var.db, c.var.principal.userId, c.req.valid("param").notification_id);
  return c.body(null, 204);
};

const getPreferencesHandler: AppRouteHandler<typeof getPreferencesRoute> = async (c) =>
  c.json(await service.getPreferences(c.var.db, c.var.principal.userId), 200);

const updatePreferencesHandler: AppRouteHandler<typeof updatePreferencesRoute> = async (c) =>
  c.json(await service.updatePreferences(c.var.db, c.var.principal.userId, c.req.valid("json")), 200);

const vapidKeyHandler: AppRouteHandler<typeof vapidKeyRoute> = async (c) => {
  c.header("Cache-Control", "public, max-age=300");
  return c.json({ public_key: await pushService.vapidPublicKey(c.env) }, 200);
};

const subscribeHandler: AppRouteHandler<typeof subscribeRoute> = async (c) => {
  const result = await pushService.subscribe(
    c.var.db,
    c.env,
    c.var.principal.userId,
    c.req.valid("json"),
    c.req.header("user-agent") ?? null,
  );
  return result.created ? c.json(result.subscription, 201) : c.json(result.subscription, 200);
};

const unsubscribeHandler: AppRouteHandler<typeof unsubscribeRoute> = async (c) => {
  await pushService.unsubscribe(c.var.db, c.var.principal.userId, c.req.valid("json").endpoint);
  return c.body(null, 204);
};

const registerDeviceHandler: AppRouteHandler<typeof registerDeviceRoute> = async (c) => {
  const result = await pushService.registerDevice(c.var.db, c.var.principal.userId, c.req.valid("json"));
  return result.created ? c.json(result.device, 201) : c.json(result.device, 200);
};

const listDevicesHandler: AppRouteHandler<typeof listDevicesRoute> = async (c) =>
  c.json(await pushService.listDevices(c.var.db, c.var.principal.userId), 200);

const removeDeviceHandler: AppRouteHandler<typeof removeDeviceRoute> = async (c) => {
  await pushService.removeDevice(c.var.db, c.var.principal.userId, c.req.valid("param").device_id);
  return c.body(null, 204);
};

// Fixed paths before `/{notification_id}` so "preferences" is never read as an id.
export const notificationsRouter = createRouter()
  .openapi(unreadCountRoute, unreadCountHandler)
  .openapi(readAllRoute, readAllHandler)
  .openapi(getPreferencesRoute, getPreferencesHandler)
  .openapi(updatePreferencesRoute, updatePreferencesHandler)
  .openapi(vapidKeyRoute, vapidKeyHandler)
  .openapi(subscribeRoute, subscribeHandler)
  .openapi(unsubscribeRoute, unsubscribeHandler)
  .openapi(registerDeviceRoute, registerDeviceHandler)
  .openapi(listDevicesRoute, listDevicesHandler)
  .openapi(removeDeviceRoute, removeDeviceHandler)
  .openapi(listNotificationsRoute, listHandler)
  .openapi(markReadRoute, markReadHandler)
  .openapi(deleteNotificationRoute, deleteHandler);
