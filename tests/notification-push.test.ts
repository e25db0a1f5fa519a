import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { notificationPushes, notifications } from "../src/db/schema";
import type { NotificationMessage } from "../src/features/notifications/message";
import { claimPushes, recordStatements, targetsOf } from "../src/features/notifications/push-records";
import { createFakePushService } from "./fakes/push-service";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import {
  expoService,
  inboxOf,
  notificationsUser,
  notifyMessage,
  registerDevice,
  runNotificationsQueue,
  setPreferences,
  storedNotificationsOf,
  subscribedBrowser,
  subscriptionsOf,
  sweep,
} from "./helpers/notifications";

const VAPID_KEY = env.VAPID_PUBLIC_KEY ?? "";

const devicesOf = (user: TestUser) =>
  callJson<{ expo_push_token: string }[]>("/api/v1/notifications/devices", 200, { token: user.token });

describe("Web Push", () => {
  it("serves the VAPID public key the browser subscribes with", async () => {
    const res = await call("/api/v1/notifications/vapid-public-key");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ public_key: VAPID_KEY });
  });

  it("encrypts each notification for the browser and signs it with the server's key", async () => {
    const user = await createUser();
    const { service, subscription } = await subscribedBrowser(user);
    const message = notifyMessage(user, {
      kind: "due_soon",
      title: "Due soon: rent",
      data: { task_id: "t1" },
    });
    const result = await runNotificationsQueue([message]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(service.received).toHaveLength(1);
    const [push] = service.received;
    expect(push?.endpoint).toBe(subscription.endpoint);
    expect(push?.publicKey).toBe(VAPID_KEY);
    expect(push?.claims).toMatchObject({ aud: "https://push.fake.test", sub: env.VAPID_SUBJECT });
    expect(push?.headers.urgency).toBe("high");
    const payload = JSON.parse(push?.payload ?? "{}");
    const [inbox] = await inboxOf(user);
    expect(payload).toEqual({
      notification_id: inbox?.notification_id,
      kind: "due_soon",
      title: "Due soon: rent",
      body: message.body,
      data: { task_id: "t1" },
    });
    expect(inbox?.channels).toEqual(["in_app", "web_push"]);
  });

  it("a redelivered message makes no second row and no second push", async () => {
    const user = await createUser();
    const { service } = await subscribedBrowser(user);
    const message = notifyMessage(user);
    await runNotificationsQueue([message]);
    await runNotificationsQueue([message], 2);
    await runNotificationsQueue([message, message], 3);
    expect(service.received).toHaveLength(1);
    expect(await inboxOf(user)).toHaveLength(1);
  });

  it("removes a subscription the push service calls gone (404, 410)", async () => {
    const user = await createUser();
    const { service, subscription } = await subscribedBrowser(user);
    service.respond(subscription.endpoint, 410, 1);
    const result = await runNotificationsQueue([notifyMessage(user)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await subscriptionsOf(user.id)).toEqual([]);
    const [inbox] = await inboxOf(user);
    expect(inbox?.channels).toEqual(["in_app"]);
  });

  it("retries a 429 after its Retry-After, then pushes only what is still pending", async () => {
    const user = await createUser();
    const busy = await subscribedBrowser(user, "busy.push.fake.test");
    const fine = await subscribedBrowser(user, "fine.push.fake.test");
    busy.service.respond(busy.subscription.endpoint, 429, 1, { "Retry-After": "120" });
    const message = notifyMessage(user);
    const first = await runNotificationsQueue([message]);
    expect(first.retryMessages).toHaveLength(1);
    expect(first.delays).toEqual([120]);
    expect(fine.service.received).toHaveLength(1);
    expect(busy.service.received).toHaveLength(0);
    // Redelivered early, it waits: the busy service asked for two minutes.
    await runNotificationsQueue([message], 2);
    expect(busy.service.received).toHaveLength(0);
    freezeClock(Date.now() + 121_000);
    const second = await runNotificationsQueue([message], 3);
    expect(second.explicitAcks).toHaveLength(1);
    expect(fine.service.received).toHaveLength(1);
    expect(busy.service.received).toHaveLength(1);
    const [inbox] = await inboxOf(user);
    expect(inbox?.channels).toEqual(["in_app", "web_push"]);
  });

  it("gives up on a push service that hangs without holding back the others", async () => {
    const user = await createUser();
    const stuck = await subscribedBrowser(user, "stuck.push.fake.test");
    const fine = await subscribedBrowser(user, "ok.push.fake.test");
    stuck.service.respond(stuck.subscription.endpoint, "hang", 1);
    const started = Date.now();
    const result = await runNotificationsQueue([notifyMessage(user)]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(fine.service.received).toHaveLength(1);
    expect(result.retryMessages).toHaveLength(1);
  });

  it.each([
    [
      { endpoint: "http://push.example.com/x", keys: { p256dh: "BAAA", auth: "AAAAAAAAAAAAAAAAAAAAAA" } },
      "endpoint",
    ],
    [
      { endpoint: "https://push.fake.test/x", keys: { p256dh: "BAAA", auth: "AAAAAAAAAAAAAAAAAAAAAA" } },
      "keys.p256dh",
    ],
    [{ endpoint: "https://push.fake.test/x", keys: { auth: "AAAA" } }, "keys.p256dh"],
    // Any https URL is not a push service: the server never POSTs where a subscriber points it.
    [
      {
        endpoint: "https://attacker.example.com/x",
        keys: { p256dh: "BAAA", auth: "AAAAAAAAAAAAAAAAAAAAAA" },
      },
      "endpoint",
    ],
  ])("refuses an invalid subscription %j with a 422 naming %s", async (body, field) => {
    const user = await createUser();
    const res = await call("/api/v1/notifications/push-subscriptions", { token: user.token, body });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toContain(field);
  });

  it("refuses a short auth secret, and unsubscribes by endpoint", async () => {
    const user = await createUser();
    const service = createFakePushService("push.fake.test");
    const subscription = await service.subscribe();
    const short = await call("/api/v1/notifications/push-subscriptions", {
      token: user.token,
      body: { ...subscription, keys: { ...subscription.keys, auth: "AAAAAAAAAAAAAAAAAAAA" } },
    });
    expect(short.status).toBe(422);
    expect((await problemOf(short)).errors?.map((e) => e.field)).toEqual(["keys.auth"]);
    await callJson("/api/v1/notifications/push-subscriptions", 201, {
      token: user.token,
      body: subscription,
    });
    await callJson("/api/v1/notifications/push-subscriptions", 200, {
      token: user.token,
      body: subscription,
    });
    const removed = await call("/api/v1/notifications/push-subscriptions", {
      token: user.token,
      method: "DELETE",
      body: { endpoint: subscription.endpoint },
    });
    expect(removed.status).toBe(204);
    expect(await subscriptionsOf(user.id)).toEqual([]);
  });
});

describe("Expo push", () => {
  it("sends through Expo's API and keeps the ticket for its receipt", async () => {
    const expo = expoService();
    const user = await createUser();
    const token = `ExponentPushToken[${crypto.randomUUID()}]`;
    await registerDevice(user, token);
    await runNotificationsQueue([notifyMessage(user, { kind: "pet", title: "Your pet is hungry" })]);
    expect(expo.sent).toEqual([
      expect.objectContaining({
        to: token,
        title: "Your pet is hungry",
        sound: "default",
        priority: "default",
      }),
    ]);
    const [inbox] = await inboxOf(user);
    expect(inbox?.channels).toEqual(["in_app", "expo"]);
    const { results } = await env.DB.prepare(
      "SELECT status, ticket_id FROM notification_pushes WHERE notification_id = ?",
    )
      .bind(inbox?.notification_id ?? "")
      .all<{ status: string; ticket_id: string | null }>();
    expect(results).toEqual([{ status: "sent", ticket_id: expect.any(String) }]);
  });

  it("batches many users' notifications into requests of at most 100", async () => {
    const expo = expoService();
    const users = await Promise.all(Array.from({ length: 3 }, () => createUser()));
    for (const [i, user] of users.entries())
      await registerDevice(user, `ExponentPushToken[batch-${i}-${crypto.randomUUID()}]`);
    await runNotificationsQueue(users.flatMap((user) => [notifyMessage(user), notifyMessage(user)]));
    expect(expo.sent).toHaveLength(6);
    expect(expo.calls.filter((c) => c.endpoint === "send").map((c) => c.count)).toEqual([6]);
  });

  it("removes a token Expo reports DeviceNotRegistered when sending", async () => {
    const expo = expoService();
    const user = await createUser();
    const token = `ExponentPushToken[gone-${crypto.randomUUID()}]`;
    await registerDevice(user, token);
    expo.unregister(token);
    const result = await runNotificationsQueue([notifyMessage(user)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await devicesOf(user)).toEqual([]);
  });

  it("reads receipts once they are due, removing tokens Expo reports DeviceNotRegistered", async () => {
    const expo = expoService();
    const user = await notificationsUser();
    const token = `ExponentPushToken[later-${crypto.randomUUID()}]`;
    await registerDevice(user, token);
    expo.unregisterLater(token);
    await runNotificationsQueue([notifyMessage(user)]);
    expect(await devicesOf(user)).toHaveLength(1);

    const enqueued: NotificationMessage[] = [];
    enqueued.push(...(await sweep()));
    expect(enqueued.filter((m) => m.type === "receipts")).toEqual([]);
    freezeClock(Date.now() + 16 * 60_000);
    enqueued.push(...(await sweep()));
    const receipts = enqueued.filter((m) => m.type === "receipts");
    expect(receipts.length).toBeGreaterThan(0);
    await runNotificationsQueue(receipts);
    expect(await devicesOf(user)).toEqual([]);
  });

  it("reads many receipts at once, within D1's limits", async () => {
    expoService();
    const user = await notificationsUser();
    await registerDevice(user, `ExponentPushToken[receipts-${crypto.randomUUID()}]`);
    await setPreferences(user, { daily_cap: 100 });
    await runNotificationsQueue(Array.from({ length: 40 }, () => notifyMessage(user)));
    const enqueued: NotificationMessage[] = [];
    freezeClock(Date.now() + 16 * 60_000);
    enqueued.push(...(await sweep()));
    const receipts = enqueued.filter(
      (m) => m.type === "receipts" && m.pushes.some((p) => p.ticket_id !== ""),
    );
    await runNotificationsQueue(receipts);
    const { results } = await env.DB.prepare(
      "SELECT count(*) AS n FROM notification_pushes WHERE user_id = ? AND receipt_checked_at IS NOT NULL AND status = 'sent'",
    )
      .bind(user.id)
      .all<{ n: number }>();
    expect(results[0]?.n).toBe(40);
  });

  it("refuses a malformed token with a 422 naming it", async () => {
    const user = await createUser();
    const res = await call("/api/v1/notifications/devices", {
      token: user.token,
      body: { expo_push_token: "not-a-token", platform: "ios" },
    });
    expect(res.status).toBe(422);
    expect((await problemOf(res)).errors?.map((e) => e.field)).toEqual(["expo_push_token"]);
  });

  it("moves a token registered by another account to the new one", async () => {
    const [a, b] = [await createUser(), await createUser()];
    const token = `ExponentPushToken[shared-${crypto.randomUUID()}]`;
    await registerDevice(a, token);
    await registerDevice(b, token);
    expect(await devicesOf(a)).toEqual([]);
    expect((await devicesOf(b)).map((d) => d.expo_push_token)).toEqual([token]);
  });
});

describe("pushes under pressure", () => {
  it("many notifications to one device in one delivery are all sent (D1 limits hold)", async () => {
    const expo = expoService();
    const user = await createUser();
    await registerDevice(user, `ExponentPushToken[many-${crypto.randomUUID()}]`);
    await setPreferences(user, { daily_cap: 100 });
    const result = await runNotificationsQueue(
      Array.from({ length: 30 }, (_, i) => notifyMessage(user, { title: `N${i}` })),
    );
    expect(result.explicitAcks).toHaveLength(30);
    expect(expo.sent).toHaveLength(30);
  });

  it("a notification too big to push whole is cut to fit, and holds back no one else's", async () => {
    const user = await createUser();
    const other = await createUser();
    const mine = await subscribedBrowser(user, "big.push.fake.test");
    const theirs = await subscribedBrowser(other, "small.push.fake.test");
    const huge = { blob: "x".repeat(6000) };
    const result = await runNotificationsQueue([
      notifyMessage(user, { title: "Big", body: "b".repeat(1000), data: huge }),
      notifyMessage(other, { title: "Small" }),
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(theirs.service.received).toHaveLength(1);
    expect(mine.service.received).toHaveLength(1);
    const payload = JSON.parse(mine.service.received[0]?.payload ?? "{}");
    expect(payload).toMatchObject({ title: "Big", data: {} });
    expect(payload.body.length).toBeLessThanOrEqual(400);
    // The inbox keeps the whole notification.
    const [inbox] = await inboxOf(user);
    expect(inbox?.data).toEqual(huge);
  });

  it("two overlapping deliveries of one message push once", async () => {
    const user = await createUser();
    const { service } = await subscribedBrowser(user);
    const message = notifyMessage(user);
    await Promise.all([runNotificationsQueue([message]), runNotificationsQueue([message])]);
    expect(service.received).toHaveLength(1);
    expect(await inboxOf(user)).toHaveLength(1);
  });

  it("an endpoint moved to another account never receives the first owner's pending push", async () => {
    const alice = await createUser();
    const bob = await createUser();
    const { service, subscription } = await subscribedBrowser(alice);
    service.respond(subscription.endpoint, 503, 1);
    const secret = notifyMessage(alice, { title: "Alice's secret" });
    const first = await runNotificationsQueue([secret]);
    expect(first.retryMessages).toHaveLength(1);
    // Bob's browser now has the same endpoint (a shared computer, a new sign-in).
    await callJson("/api/v1/notifications/push-subscriptions", 201, { token: bob.token, body: subscription });
    freezeClock(Date.now() + 10 * 60_000);
    await runNotificationsQueue([secret], 2);
    await runNotificationsQueue([notifyMessage(bob, { title: "Bob's own" })]);
    expect(service.received.map((p) => JSON.parse(p.payload).title)).toEqual(["Bob's own"]);
    expect(await subscriptionsOf(bob.id)).toEqual([subscription.endpoint]);
  });

  it("a push waiting for a browser that was since removed settles instead of waiting for ever", async () => {
    const user = await createUser();
    const { service, subscription } = await subscribedBrowser(user);
    service.respond(subscription.endpoint, 503, 1);
    const message = notifyMessage(user);
    await runNotificationsQueue([message]);
    await call("/api/v1/notifications/push-subscriptions", {
      token: user.token,
      method: "DELETE",
      body: { endpoint: subscription.endpoint },
    });
    freezeClock(Date.now() + 10 * 60_000);
    const result = await runNotificationsQueue([message], 2);
    expect(result.explicitAcks).toHaveLength(1);
    const [stored] = await storedNotificationsOf(user.id);
    expect(stored?.push_state).toBe("done");
    expect((await sweep()).filter((m) => m.type === "push" && m.user_id === user.id)).toEqual([]);
  });

  it("a long Retry-After is kept: the minute sweep does not push before it", async () => {
    const user = await notificationsUser();
    const { service, subscription } = await subscribedBrowser(user, "slow.push.fake.test");
    service.respond(subscription.endpoint, 429, 1, { "Retry-After": "3600" });
    const first = await runNotificationsQueue([notifyMessage(user)]);
    expect(first.delays).toEqual([3600]);
    const enqueued: NotificationMessage[] = [];
    const clock = freezeClock(Date.now() + 20 * 60_000);
    enqueued.push(...(await sweep()));
    expect(enqueued.filter((m) => m.type === "push" && m.user_id === user.id)).toEqual([]);
    clock.tick(45 * 60_000);
    enqueued.push(...(await sweep()));
    const due = enqueued.filter((m) => m.type === "push" && m.user_id === user.id);
    expect(due).toHaveLength(1);
    await runNotificationsQueue(due);
    expect(service.received).toHaveLength(1);
  });

  it("takes a platform in any letter case", async () => {
    const user = await createUser();
    const device = await callJson<{ platform: string }>("/api/v1/notifications/devices", 201, {
      token: user.token,
      body: { expo_push_token: `ExponentPushToken[case-${crypto.randomUUID()}]`, platform: "iOS" },
    });
    expect(device.platform).toBe("ios");
  });
});

describe("push claims", () => {
  /** A delivered notification of the user's with one push target, and its row. */
  async function oneDeliveredPush() {
    const user = await createUser();
    const { service } = await subscribedBrowser(user);
    service.respond((await subscriptionsOf(user.id))[0] ?? "", 503, Number.POSITIVE_INFINITY);
    await runNotificationsQueue([notifyMessage(user)]);
    const db = createDatabase(env.DB);
    const row = await db.select().from(notifications).where(eq(notifications.userId, user.id)).get();
    if (!row) throw new Error("no notification");
    const targets = await targetsOf(db, [user.id]);
    return { db, row, targets, service };
  }

  it("a delivery whose lease lapsed and was taken over writes nothing", async () => {
    const { db, row, targets } = await oneDeliveredPush();
    const clock = freezeClock(Date.now() + 10 * 60_000);
    const first = await claimPushes(db, [row], targets, {
      id: "claim-1",
      now: clock.now(),
      leaseMs: 1000,
      maxAttempts: 6,
    });
    expect(first).toHaveLength(1);
    clock.tick(2000);
    const second = await claimPushes(db, [row], targets, {
      id: "claim-2",
      now: clock.now(),
      leaseMs: 60_000,
      maxAttempts: 6,
    });
    expect(second).toHaveLength(1);
    const [push] = first;
    if (!push) throw new Error("no claim");
    const late = recordStatements(
      db,
      [{ push, status: "sent", ticketId: null, detail: null, nextAttemptAt: null }],
      "claim-1",
      clock.now(),
    );
    const [firstLate, ...restLate] = late;
    if (firstLate) await db.batch([firstLate, ...restLate]);
    const stored = await db
      .select()
      .from(notificationPushes)
      .where(eq(notificationPushes.notificationId, row.id))
      .get();
    expect(stored).toMatchObject({ status: "sending", claimId: "claim-2", sentAt: null });
  });

  it("a push whose deliveries keep dying runs out of tries instead of going round for ever", async () => {
    const { db, row, targets } = await oneDeliveredPush();
    const clock = freezeClock(Date.now() + 10 * 60_000);
    let claims = 0;
    for (let i = 0; i < 10; i++) {
      clock.tick(2000);
      const claimed = await claimPushes(db, [row], targets, {
        id: `dying-${i}`,
        now: clock.now(),
        leaseMs: 1000,
        maxAttempts: 6,
      });
      claims += claimed.length;
    }
    // One try went to the first delivery (the 503); five more claims, then it is given up.
    expect(claims).toBe(5);
    const stored = await db
      .select()
      .from(notificationPushes)
      .where(eq(notificationPushes.notificationId, row.id))
      .get();
    expect(stored).toMatchObject({ status: "failed", attempts: 6 });
  });
});
