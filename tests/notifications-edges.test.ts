import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { notificationsHandler } from "../src/features/notifications/event-handler";
import type { NotificationMessage, NotifyMessage } from "../src/features/notifications/message";
import { preferencesOf as storedPreferences } from "../src/features/notifications/preferences";
import {
  DEFAULT_EXPO_PUSH_URL,
  DEFAULT_PUSH_HOSTS,
  DEFAULT_PUSH_TIMEOUT_MS,
  pushConfig,
} from "../src/features/notifications/push-config";
import { MAX_PUSH_TARGETS } from "../src/features/notifications/push-service";
import { quietUntil } from "../src/features/notifications/quiet-hours";
import { draftOf, dueSoonDraft, type RenderContext } from "../src/features/notifications/render";
import type { DomainEvent } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";
import { routeOutbound } from "./fakes/outbound";
import { createFakePushService } from "./fakes/push-service";
import { call, callJson, callWith, createUser, problemOf, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import {
  expoService,
  inboxOf,
  notifyMessage,
  pushesOf,
  registerDevice,
  runNotificationsQueue,
  setPreferences,
  storedNotificationsOf,
  subscribedBrowser,
  subscriptionsOf,
} from "./helpers/notifications";
import { createTask } from "./helpers/tasks";

const MINUTE = 60_000;
const VAPID_KEY = env.VAPID_PUBLIC_KEY ?? "";

afterEach(() => {
  vi.restoreAllMocks();
});

const noTitles: RenderContext = { taskTitle: () => undefined };
const titled = (titles: Record<string, string>): RenderContext => ({ taskTitle: (id) => titles[id] });

const assignmentMoved = (over: { agent_id: string | null; reason?: string | null }) => ({
  assignment_id: "a1",
  task_id: "t1",
  assignee: over.agent_id ?? "sam@example.com",
  role: "owner" as const,
  status: "completed" as const,
  reason: null,
  ...over,
});

const focusEnded = (over: {
  task_id: string | null;
  end_reason: "time_up" | "finished" | "flowtime_cap";
}) => ({
  session_id: "s1",
  kind: "pomodoro" as const,
  planned_minutes: 25,
  step_id: null,
  actual_minutes: 25,
  completed: true,
  interruptions: 0,
  started_at: new Date(Date.now() - 25 * MINUTE).toISOString(),
  ended_at: new Date().toISOString(),
  ...over,
});

/** Notifies the user and answers the notification it made (the newest in their inbox). */
async function notifiedOnce(user: TestUser, overrides: Partial<NotifyMessage> = {}) {
  const result = await runNotificationsQueue([notifyMessage(user, overrides)]);
  const [row] = await inboxOf(user);
  if (!row) throw new Error("the notification is not in the inbox");
  return { result, row };
}

describe("what each event says", () => {
  it("tells the pet's need: hungry when fuller is worse, lonely otherwise", () => {
    const hungry = draftOf(
      newEvent("pet.needs_attention", "u", { pet_id: "p", fullness: 10, happiness: 40 }),
      noTitles,
    );
    expect(hungry).toMatchObject({
      kind: "pet",
      title: "Your pet is hungry",
      body: "Finish a micro-step to feed it — even a 2-minute one counts.",
    });
    const lonely = draftOf(
      newEvent("pet.needs_attention", "u", { pet_id: "p", fullness: 60, happiness: 20 }),
      noTitles,
    );
    expect(lonely).toMatchObject({
      title: "Your pet misses you",
      body: "Check in and play for a moment; a finished step cheers it up.",
    });
  });

  it("celebrates a challenge and an evolution", () => {
    const challenge = newEvent("challenge.completed", "u", {
      challenge_id: "c1",
      title: "Three steps before noon",
      date: new Date().toISOString().slice(0, 10),
      xp: 30,
    });
    expect(draftOf(challenge, noTitles)).toMatchObject({
      kind: "celebration",
      title: "Challenge complete",
      body: "Three steps before noon — +30 XP.",
      key: `event:${challenge.id}`,
      data: { challenge_id: "c1", xp: 30, event_id: challenge.id, event_type: "challenge.completed" },
    });
    const evolved = newEvent("pet.evolved", "u", {
      pet_id: "p",
      stage: 2,
      previous_stage: 1,
      level: 5,
      species: "fox",
    });
    expect(draftOf(evolved, noTitles)).toMatchObject({
      title: "Your pet evolved!",
      body: "It reached stage 2 at level 5.",
    });
  });

  it("tells a person of work handed to them, never of their own delegation", () => {
    const created = (agent: string | null, mode: "DO" | "DO_WITH_ME" | "DELEGATE") =>
      newEvent("assignment.created", "u", {
        assignment_id: "a1",
        task_id: "t1",
        agent_id: agent,
        assignee: agent ?? "sam@example.com",
        role: "collaborator",
        delegation_mode: mode,
      });
    expect(draftOf(created(null, "DO_WITH_ME"), titled({ t1: "Plan the trip" }))).toMatchObject({
      kind: "assignment",
      title: "A task is yours",
      body: "“Plan the trip” was assigned to you (DO_WITH_ME).",
    });
    expect(draftOf(created(null, "DO_WITH_ME"), noTitles)?.body).toBe(
      "your task was assigned to you (DO_WITH_ME).",
    );
    expect(draftOf(created("backend-agent", "DELEGATE"), noTitles)).toBeNull();
    expect(draftOf(created(null, "DO"), noTitles)).toBeNull();
  });

  it("tells what an agent did with a task, with its reason when it gave one", () => {
    const context = titled({ t1: "File the taxes" });
    expect(
      draftOf(newEvent("assignment.completed", "u", assignmentMoved({ agent_id: "tax-bot" })), context),
    ).toMatchObject({
      title: "Your agent finished a task",
      body: "tax-bot completed “File the taxes”.",
      data: { agent_id: "tax-bot", task_id: "t1" },
    });
    const rejected = (reason: string | null) =>
      newEvent("assignment.rejected", "u", {
        ...assignmentMoved({ agent_id: "tax-bot", reason }),
        status: "rejected",
      });
    expect(draftOf(rejected("the receipts are missing"), context)).toMatchObject({
      title: "Your agent handed a task back",
      body: "tax-bot could not do “File the taxes”: the receipts are missing",
    });
    expect(draftOf(rejected(null), context)?.body).toBe("tax-bot could not do “File the taxes”.");
    // A person's own moves on work they were given tell them nothing.
    expect(
      draftOf(newEvent("assignment.completed", "u", assignmentMoved({ agent_id: null })), context),
    ).toBeNull();
  });

  it("warns that a webhook was paused, and names the task of a timed session", () => {
    const paused = newEvent("webhook.disabled", "u", {
      webhook_id: "w1",
      host: "hooks.example.com",
      reason: "It failed 100 deliveries in a row.",
      consecutive_failures: 100,
      failing_since: null,
    });
    expect(draftOf(paused, noTitles)).toMatchObject({
      kind: "integration",
      title: "A webhook was paused",
      body:
        "Your webhook at hooks.example.com kept failing, so deliveries to it are paused: It failed 100 " +
        "deliveries in a row. Re-enable it once it answers again.",
      data: { webhook_id: "w1" },
    });
    const capped = newEvent(
      "focus.completed",
      "u",
      focusEnded({ task_id: "t1", end_reason: "flowtime_cap" }),
    );
    expect(draftOf(capped, titled({ t1: "Read chapter 3" }))?.body).toBe(
      "25 minutes of focus on “Read chapter 3”. Time to stretch.",
    );
    // Ended by the person, or an event that tells no one: nothing.
    expect(
      draftOf(
        newEvent("focus.completed", "u", focusEnded({ task_id: null, end_reason: "finished" })),
        noTitles,
      ),
    ).toBeNull();
    expect(draftOf(newEvent("task.deleted", "u", { task_id: "t1" }), noTitles)).toBeNull();
  });

  it("says how long until a task is due, in hours once it is an hour or more", () => {
    const now = Date.now();
    const due = (minutes: number) =>
      dueSoonDraft(
        {
          user_id: "u",
          task_id: "t1",
          title: "Send the invoice",
          due_at: new Date(now + minutes * MINUTE).toISOString(),
          offset_minutes: 60,
        },
        now,
      ).body;
    expect(due(61)).toBe("Due in 1 hour. One small step now makes it easier.");
    expect(due(150)).toBe("Due in 3 hours. One small step now makes it easier.");
    expect(due(1)).toBe("Due in 1 minute. One small step now makes it easier.");
  });
});

describe("events to notify messages", () => {
  it("shows the title of the person's own task, and never another person's", async () => {
    const owner = await createUser();
    const other = await createUser();
    const task = await createTask(owner, { title: "Water the plants" });
    const sent: NotificationMessage[] = [];
    const queue = {
      async sendBatch(messages: Iterable<{ body: NotificationMessage }>) {
        for (const m of messages) sent.push(m.body);
      },
    } as unknown as Queue<unknown>;
    const events: DomainEvent[] = [
      newEvent("focus.completed", owner.id, focusEnded({ task_id: task.task_id, end_reason: "time_up" })),
      // Another account naming the same task id learns nothing of it.
      newEvent("focus.completed", other.id, focusEnded({ task_id: task.task_id, end_reason: "time_up" })),
      newEvent("break.over", owner.id, { session_id: "s1", break_kind: "short", reason: "time_up" }),
    ];
    await notificationsHandler.after?.({ ...env, NOTIFICATIONS_QUEUE: queue }, events);
    expect(sent.map((m) => (m.type === "notify" ? [m.user_id, m.kind, m.body] : m.type))).toEqual([
      [owner.id, "focus", "25 minutes of focus on “Water the plants”. Time to stretch."],
      [other.id, "focus", "25 minutes of focus on your task. Time to stretch."],
      [owner.id, "break", "Ready for the next small step? Start a session when you are."],
    ]);
  });
});

describe("rules of preferences and quiet hours", () => {
  it("takes a kind added after the preferences were stored at its default", () => {
    const prefs = storedPreferences({
      kinds: { focus: { in_app: false, push: false } },
      quietStart: "22:00",
      quietEnd: null,
      dailyCap: 5,
      digest: "off",
      dueSoonMinutes: [30],
    });
    expect(prefs.kinds.focus).toEqual({ in_app: false, push: false });
    expect(prefs.kinds.integration).toEqual({ in_app: true, push: true });
    expect(prefs.kinds.suggestion).toEqual({ in_app: true, push: false });
    // Half a window is no window.
    expect(prefs.quiet_hours).toBeNull();
    expect(prefs).toMatchObject({ daily_cap: 5, digest: "off", due_soon_minutes: [30] });
  });

  it("are never quiet when they start and end at the same minute", () => {
    expect(quietUntil(Date.now(), "Europe/Berlin", { start: "22:00", end: "22:00" })).toBeNull();
  });
});

describe("push configuration", () => {
  it("falls back to the defaults for what is blank, and caps the timeout", async () => {
    const config = await pushConfig({
      ...env,
      VAPID_PUBLIC_KEY: " ",
      VAPID_PRIVATE_KEY: "",
      VAPID_SUBJECT: "  ",
      EXPO_PUSH_URL: "",
      EXPO_ACCESS_TOKEN: " expo-token ",
      PUSH_TIMEOUT_MS: "soon",
      PUSH_SERVICE_HOSTS: "",
    });
    expect(config).toMatchObject({
      vapid: null,
      vapidPublicKey: null,
      subject: "mailto:push@proxy-agent.dev",
      expoUrl: DEFAULT_EXPO_PUSH_URL,
      expoAccessToken: "expo-token",
      timeoutMs: DEFAULT_PUSH_TIMEOUT_MS,
      pushHosts: DEFAULT_PUSH_HOSTS,
    });
    expect((await pushConfig({ ...env, PUSH_TIMEOUT_MS: "120000" })).timeoutMs).toBe(30_000);
    expect((await pushConfig({ ...env, PUSH_TIMEOUT_MS: "-5" })).timeoutMs).toBe(DEFAULT_PUSH_TIMEOUT_MS);
    expect(
      (await pushConfig({ ...env, PUSH_SERVICE_HOSTS: " A.push.test , b.push.test " })).pushHosts,
    ).toEqual(["a.push.test", "b.push.test"]);
    // A list of nothing (commas and spaces only) is no list: the defaults, not every subscription refused.
    expect((await pushConfig({ ...env, PUSH_SERVICE_HOSTS: " , ," })).pushHosts).toEqual(DEFAULT_PUSH_HOSTS);
  });

  it("logs VAPID keys that cannot be imported, sends no web push with them, and recovers with good ones", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = await pushConfig({ ...env, VAPID_PUBLIC_KEY: "not-a-key", VAPID_PRIVATE_KEY: "nor-this" });
    expect(broken).toMatchObject({ vapid: null, vapidPublicKey: null });
    expect(logged.mock.calls.map((c) => String(c[0])).join("\n")).toContain("VAPID keys are invalid");
    const fixed = await pushConfig(env);
    expect(fixed.vapid).not.toBeNull();
    expect(fixed.vapidPublicKey).toBe(VAPID_KEY);
  });
});

describe("Web Push without VAPID keys", () => {
  it("answers 503 for the public key and a subscription, with when to ask again", async () => {
    const user = await createUser();
    const unset = { VAPID_PUBLIC_KEY: "", VAPID_PRIVATE_KEY: "" };
    const key = await callWith(unset, "/api/v1/notifications/vapid-public-key");
    expect(key.status).toBe(503);
    expect(key.headers.get("retry-after")).toBe("3600");
    expect((await problemOf(key)).code).toBe("push_not_configured");
    const subscription = await createFakePushService().subscribe({ applicationServerKey: VAPID_KEY });
    const refused = await callWith(unset, "/api/v1/notifications/push-subscriptions", {
      token: user.token,
      body: subscription,
    });
    expect(refused.status).toBe(503);
    expect((await problemOf(refused)).code).toBe("push_not_configured");
    expect(await subscriptionsOf(user.id)).toHaveLength(0);
  });

  it("records a push to a browser as failed once the keys are gone, sending nothing", async () => {
    const user = await createUser();
    const { service } = await subscribedBrowser(user);
    const message = notifyMessage(user, { title: "Keys gone" });
    const result = await runNotificationsQueue([message], 1, { VAPID_PUBLIC_KEY: "", VAPID_PRIVATE_KEY: "" });
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(service.answered).toEqual([]);
    const [row] = await inboxOf(user);
    expect(row?.title).toBe("Keys gone");
    expect(await pushesOf(row?.notification_id ?? "")).toEqual([
      expect.objectContaining({
        channel: "web_push",
        status: "failed",
        detail: "VAPID keys are not configured.",
      }),
    ]);
  });
});

describe("pushes the services refuse", () => {
  it("a browser push refused for good is failed, not retried", async () => {
    const user = await createUser();
    const { service, subscription } = await subscribedBrowser(user);
    service.respond(subscription.endpoint, 400, 1);
    const { result, row } = await notifiedOnce(user);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(service.answered).toEqual([{ endpoint: subscription.endpoint, status: 400 }]);
    expect(await pushesOf(row.notification_id)).toEqual([
      expect.objectContaining({ channel: "web_push", status: "failed" }),
    ]);
    // The browser stays subscribed: a refusal is not the push service saying it is gone.
    expect(await subscriptionsOf(user.id)).toHaveLength(1);
  });

  it("an Expo request refused for good is failed; one that may pass later is retried after a backoff", async () => {
    const expo = expoService();
    const user = await createUser();
    await registerDevice(user, `ExponentPushToken[edge-${crypto.randomUUID()}]`);
    expo.failNext(400);
    const refused = await notifiedOnce(user, { title: "Refused" });
    expect(refused.result.explicitAcks).toHaveLength(1);
    expect(await pushesOf(refused.row.notification_id)).toEqual([
      expect.objectContaining({ channel: "expo", status: "failed" }),
    ]);

    expo.failNext(503);
    const busy = await notifiedOnce(user, { title: "Busy" });
    expect(busy.result.retryMessages).toHaveLength(1);
    expect(busy.result.delays).toEqual([30]);
    expect(await pushesOf(busy.row.notification_id)).toEqual([
      expect.objectContaining({ channel: "expo", status: "pending" }),
    ]);
    expect(expo.sent).toEqual([]);
  });

  it("asks Expo to wake the phone for what is time-critical, and not for the rest", async () => {
    const expo = expoService();
    const user = await createUser();
    await registerDevice(user, `ExponentPushToken[urgent-${crypto.randomUUID()}]`);
    await runNotificationsQueue([
      notifyMessage(user, { kind: "due_soon", title: "Due soon: Send the invoice" }),
      notifyMessage(user, { kind: "celebration", title: "Level 3!" }),
    ]);
    expect(expo.sent.map((m) => [m.title, m.priority]).sort()).toEqual([
      ["Due soon: Send the invoice", "high"],
      ["Level 3!", "default"],
    ]);
  });
});

describe("Expo receipts", () => {
  async function sentToExpo() {
    const expo = expoService();
    const user = await createUser();
    await registerDevice(user, `ExponentPushToken[receipt-${crypto.randomUUID()}]`);
    const { row } = await notifiedOnce(user);
    const [push] = await pushesOf(row.notification_id);
    if (!push?.ticket_id) throw new Error("no ticket was kept");
    const message: NotificationMessage = {
      type: "receipts",
      pushes: [
        { notification_id: row.notification_id, target_id: push.target_id, ticket_id: push.ticket_id },
      ],
    };
    return { expo, user, row, push, message };
  }

  it("records an error receipt on its push and keeps the device", async () => {
    const { user, row, push, message } = await sentToExpo();
    routeOutbound("expo.fake.test", () =>
      Response.json({
        data: {
          [push.ticket_id ?? ""]: {
            status: "error",
            message: "The notification was too large for the provider.",
            details: { error: "MessageTooBig" },
          },
        },
      }),
    );
    const result = await runNotificationsQueue([message]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(await pushesOf(row.notification_id)).toEqual([
      expect.objectContaining({
        status: "failed",
        detail: "The notification was too large for the provider.",
        receipt_checked_at: expect.any(String),
      }),
    ]);
    const devices = await callJson<unknown[]>("/api/v1/notifications/devices", 200, { token: user.token });
    expect(devices).toHaveLength(1);
  });

  it("asks again later when Expo cannot answer for the receipts", async () => {
    const { expo, row, message } = await sentToExpo();
    expo.failNext(503);
    const result = await runNotificationsQueue([message]);
    expect(result.retryMessages).toHaveLength(1);
    expect(result.explicitAcks).toEqual([]);
    expect(await pushesOf(row.notification_id)).toEqual([
      expect.objectContaining({ status: "sent", receipt_checked_at: null }),
    ]);
  });
});

describe("devices and subscriptions", () => {
  it("re-registering a device answers 200 with the same device; an unknown one cannot be removed", async () => {
    const user = await createUser();
    const token = `ExponentPushToken[again-${crypto.randomUUID()}]`;
    const first = await registerDevice(user, token);
    const again = await registerDevice(user, token, 200);
    expect(again.device_id).toBe(first.device_id);
    const missing = await call(`/api/v1/notifications/devices/${crypto.randomUUID()}`, {
      token: user.token,
      method: "DELETE",
    });
    expect(missing.status).toBe(404);
    expect((await problemOf(missing)).code).toBe("not_found");
    const gone = await call("/api/v1/notifications/push-subscriptions", {
      token: user.token,
      method: "DELETE",
      body: { endpoint: "https://push.fake.test/push/never-subscribed" },
    });
    expect(gone.status).toBe(404);
  });

  it(`refuses a device past ${MAX_PUSH_TARGETS} per account, and takes one again once an old one goes`, async () => {
    const user = await createUser();
    const now = new Date().toISOString();
    await env.DB.batch(
      Array.from({ length: MAX_PUSH_TARGETS }, (_, i) =>
        env.DB.prepare(
          "INSERT INTO push_devices (id, user_id, expo_push_token, platform, created_at) VALUES (?, ?, ?, 'ios', ?)",
        ).bind(crypto.randomUUID(), user.id, `ExponentPushToken[full-${i}-${crypto.randomUUID()}]`, now),
      ),
    );
    const full = await call("/api/v1/notifications/devices", {
      token: user.token,
      body: { expo_push_token: `ExponentPushToken[one-more-${crypto.randomUUID()}]`, platform: "ios" },
    });
    expect(full.status).toBe(409);
    expect((await problemOf(full)).code).toBe("too_many_push_targets");
    const [old] = await callJson<{ device_id: string }[]>("/api/v1/notifications/devices", 200, {
      token: user.token,
    });
    await callJson(`/api/v1/notifications/devices/${old?.device_id}`, 204, {
      token: user.token,
      method: "DELETE",
    });
    await registerDevice(user, `ExponentPushToken[room-${crypto.randomUUID()}]`);
  });
});

describe("the inbox, by kind and by id", () => {
  it("lists one kind only when asked, and will not mark read what is not there", async () => {
    const user = await createUser();
    await runNotificationsQueue([
      notifyMessage(user, { kind: "celebration", title: "Level 2!" }),
      notifyMessage(user, { kind: "pet", title: "Your pet is hungry" }),
    ]);
    expect((await inboxOf(user, "?kind=pet")).map((n) => n.title)).toEqual(["Your pet is hungry"]);
    expect((await inboxOf(user, "?kind=CELEBRATION")).map((n) => n.title)).toEqual(["Level 2!"]);
    const unknown = await call(`/api/v1/notifications/${crypto.randomUUID()}/read`, {
      token: user.token,
      method: "POST",
    });
    expect(unknown.status).toBe(404);
    expect((await problemOf(unknown)).code).toBe("not_found");
  });
});

describe("the digest, when it comes", () => {
  /** A user capped at one a day, with one notification delivered and `extra` folded for the digest. */
  async function withFolded(extra: number) {
    // One local day throughout: the daily cap counts per day.
    freezeClock();
    const user = await createUser();
    await setPreferences(user, { daily_cap: 1 });
    await runNotificationsQueue([notifyMessage(user, { title: "First" })]);
    for (let i = 1; i <= extra; i++)
      await runNotificationsQueue([notifyMessage(user, { title: `Later ${i}` })]);
    const folded = (await storedNotificationsOf(user.id)).filter((r) => r.status === "folded");
    expect(folded).toHaveLength(extra);
    // Whenever its digest time is, this fold is past it.
    const digest: NotificationMessage = {
      type: "digest",
      user_id: user.id,
      until: Date.now() + 2 * 86_400_000,
    };
    return { user, digest };
  }

  it("counts a single update as one", async () => {
    const { user, digest } = await withFolded(1);
    expect((await runNotificationsQueue([digest])).explicitAcks).toHaveLength(1);
    const [top] = await inboxOf(user);
    expect(top).toMatchObject({
      kind: "digest",
      title: "Your digest: 1 update",
      body: "While you were busy: 1 celebration.",
    });
  });

  it("puts what waited in the inbox as it is, once the person turned digests off everywhere", async () => {
    const { user, digest } = await withFolded(2);
    await setPreferences(user, { kinds: { digest: { in_app: false, push: false } } });
    expect((await runNotificationsQueue([digest])).explicitAcks).toHaveLength(1);
    expect((await inboxOf(user)).map((n) => n.title).sort()).toEqual(["First", "Later 1", "Later 2"]);
    const stored = await storedNotificationsOf(user.id);
    expect(stored.map((r) => r.kind)).not.toContain("digest");
    expect(stored.map((r) => r.status)).toEqual(["delivered", "delivered", "delivered"]);
  });

  it("drops a digest or a release for an account or notification that is gone, without retrying", async () => {
    const ghost = crypto.randomUUID();
    const result = await runNotificationsQueue([
      { type: "digest", user_id: ghost, until: Date.now() },
      { type: "release", user_id: ghost, notification_id: crypto.randomUUID() },
    ]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(result.retryMessages).toEqual([]);
    expect(await storedNotificationsOf(ghost)).toEqual([]);
  });
});
