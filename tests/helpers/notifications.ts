import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { NotificationMessage, NotifyMessage } from "../../src/features/notifications/message";
import type { NotificationDto, PreferencesDto } from "../../src/features/notifications/schemas";
import worker, { QUEUE_NAMES } from "../../src/index";
import { sweepNotifications } from "../../src/jobs/notification-sweeper";
import { createFakeExpoService } from "../fakes/expo-service";
import { routeOutbound } from "../fakes/outbound";
import { createFakePushService } from "../fakes/push-service";
import { callJson, createUser, type TestUser } from "./api";
import { actingThroughApiToken } from "./auth";

export type Notification = NotificationDto;
export type Preferences = PreferencesDto;

let deliveries = 0;

/**
 * Hands these messages to the notifications consumer as one delivery of the queue (attempt
 * `attempts`), and answers what it acked and what it asked to retry.
 */
export async function runNotificationsQueue(
  bodies: readonly unknown[],
  attempts = 1,
  /** Bindings replaced for this delivery (VAPID keys taken away …). */
  bindings: Partial<typeof env> = {},
) {
  deliveries += 1;
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.notifications,
    bodies.map((body, i) => ({ id: `note-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
  );
  // The test batch forgets retry delays; they are kept here, by message id.
  const delays = new Map<string, number | undefined>();
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.set(message.id, options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...bindings });
  return { ...(await getQueueResult(batch, ctx)), delays: [...delays.values()] };
}

/** A notify message for the user, as a producer would enqueue it (a fresh key unless given). */
export function notifyMessage(user: { id: string }, overrides: Partial<NotifyMessage> = {}): NotifyMessage {
  return {
    type: "notify",
    user_id: user.id,
    key: `test:${crypto.randomUUID()}`,
    kind: "celebration",
    title: "Level 2!",
    body: "You reached level 2.",
    data: {},
    enqueued_at: Date.now(),
    ...overrides,
  };
}

/** Sends the user a notification through the consumer; answers the delivery's result. */
export function notify(user: { id: string }, overrides: Partial<NotifyMessage> = {}) {
  return runNotificationsQueue([notifyMessage(user, overrides) satisfies NotificationMessage]);
}

export const inboxOf = (user: TestUser, query = "") =>
  callJson<Notification[]>(`/api/v1/notifications${query}`, 200, { token: user.token });

export const unreadOf = async (user: TestUser) =>
  (await callJson<{ unread: number }>("/api/v1/notifications/unread-count", 200, { token: user.token }))
    .unread;

export const preferencesOf = (user: TestUser) =>
  callJson<Preferences>("/api/v1/notifications/preferences", 200, { token: user.token });

export const setPreferences = (user: TestUser, body: Record<string, unknown>) =>
  callJson<Preferences>("/api/v1/notifications/preferences", 200, { token: user.token, method: "PUT", body });

/** The user's notification rows as stored, whatever their status (deferred, folded …). */
export async function storedNotificationsOf(userId: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, key, kind, status, push_state, channels, deliver_at, digest_id, local_day FROM notifications WHERE user_id = ? ORDER BY id",
  )
    .bind(userId)
    .all<{
      id: string;
      key: string;
      kind: string;
      status: string;
      push_state: string;
      channels: string;
      deliver_at: string;
      digest_id: string | null;
      local_day: string;
    }>();
  return results;
}

/** A user acting through a notifications API token, so tests may move the clock past a JWT's life. */
export async function notificationsUser(timezone?: string): Promise<TestUser> {
  const user = await createUser(timezone ? { timezone } : {});
  return actingThroughApiToken(user, "notification tests", [
    "notifications:read",
    "notifications:write",
    "tasks:read",
    "tasks:write",
  ]);
}

/**
 * Runs the minute cron's notification sweep once, with a queue that keeps what it is sent instead of
 * delivering it, and answers exactly what the run enqueued.
 */
export async function sweep(now = Date.now()): Promise<NotificationMessage[]> {
  const sent: NotificationMessage[] = [];
  const queue = {
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body as NotificationMessage);
    },
  };
  await sweepNotifications({ ...env, NOTIFICATIONS_QUEUE: queue as unknown as Queue<unknown> }, now);
  return sent;
}

/** A browser of the user's, subscribed through the API to a fake push service at `host`. */
export async function subscribedBrowser(user: TestUser, host = "push.fake.test") {
  const service = createFakePushService(host);
  routeOutbound(host, service.handle);
  const subscription = await service.subscribe({ applicationServerKey: env.VAPID_PUBLIC_KEY ?? "" });
  await callJson("/api/v1/notifications/push-subscriptions", 201, { token: user.token, body: subscription });
  return { service, subscription };
}

/** A fake Expo push service, reached at expo.fake.test. */
export function expoService() {
  const fake = createFakeExpoService("expo.fake.test");
  routeOutbound("expo.fake.test", fake.handle);
  return fake;
}

/** Registers a phone of the user's with its Expo push token (`expected`: the status it must answer). */
export const registerDevice = (user: TestUser, token: string, expected = 201) =>
  callJson<{ device_id: string }>("/api/v1/notifications/devices", expected, {
    token: user.token,
    body: { expo_push_token: token, platform: "android" },
  });

/** The endpoints of the user's stored browser subscriptions. */
export const subscriptionsOf = async (userId: string) =>
  (
    await env.DB.prepare("SELECT endpoint FROM push_subscriptions WHERE user_id = ?")
      .bind(userId)
      .all<{ endpoint: string }>()
  ).results.map((r) => r.endpoint);

/** The push rows of a notification, as stored. */
export const pushesOf = async (notificationId: string) =>
  (
    await env.DB.prepare(
      "SELECT target_id, channel, status, detail, ticket_id, receipt_checked_at FROM notification_pushes WHERE notification_id = ?",
    )
      .bind(notificationId)
      .all<{
        target_id: string;
        channel: string;
        status: string;
        detail: string | null;
        ticket_id: string | null;
        receipt_checked_at: string | null;
      }>()
  ).results;
