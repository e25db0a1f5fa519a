import {
  createExecutionContext,
  createMessageBatch,
  createScheduledController,
  getQueueResult,
  waitOnExecutionContext,
} from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createDatabase } from "../src/db";
import { foldIntoDigest } from "../src/features/notifications/delivery";
import { waitingScans } from "../src/features/notifications/sweeps";
import worker, { CRONS } from "../src/index";
import { sweepNotifications } from "../src/jobs/notification-sweeper";
import { newEvent } from "../src/lib/events/envelope";
import { call, callJson, createUser, problemOf, refusingQueue } from "./helpers/api";
import { createApiToken } from "./helpers/auth";
import { freezeClock, nextLocal } from "./helpers/clock";
import { openSocket } from "./helpers/focus";
import {
  inboxOf,
  notificationsUser,
  notify,
  notifyMessage,
  preferencesOf,
  runNotificationsQueue,
  setPreferences,
  storedNotificationsOf,
  sweep,
  unreadOf,
} from "./helpers/notifications";
import { deliver } from "./helpers/outbox";
import { createTask } from "./helpers/tasks";

const MINUTE = 60_000;

describe("the inbox", () => {
  it("lists delivered notifications newest first, in pages, with unread counts", async () => {
    const user = await createUser();
    for (const title of ["First", "Second", "Third"]) await notify(user, { title });
    const inbox = await inboxOf(user);
    expect(inbox.map((n) => n.title)).toEqual(["Third", "Second", "First"]);
    expect(inbox[0]).toMatchObject({ kind: "celebration", read_at: null, channels: ["in_app"] });
    expect(await unreadOf(user)).toBe(3);

    const first = await call("/api/v1/notifications?limit=2", { token: user.token });
    expect((await first.json()) as unknown[]).toHaveLength(2);
    const next = /<([^>]+)>; rel="next"/.exec(first.headers.get("link") ?? "")?.[1];
    expect(next).toBeDefined();
    const rest = await callJson<{ title: string }[]>(next ?? "", 200, { token: user.token });
    expect(rest.map((n) => n.title)).toEqual(["First"]);
  });

  it("marks one read (keeping the first time), all read, and deletes with 204", async () => {
    const user = await createUser();
    for (const title of ["A", "B", "C"]) await notify(user, { title });
    const [c, b] = await inboxOf(user);
    const read = await callJson<{ read_at: string }>(
      `/api/v1/notifications/${c?.notification_id}/read`,
      200,
      {
        token: user.token,
        method: "POST",
      },
    );
    expect(read.read_at).not.toBeNull();
    const again = await callJson<{ read_at: string }>(
      `/api/v1/notifications/${c?.notification_id}/read`,
      200,
      {
        token: user.token,
        method: "POST",
      },
    );
    expect(again.read_at).toBe(read.read_at);
    expect(await unreadOf(user)).toBe(2);
    expect((await inboxOf(user, "?unread=true")).map((n) => n.title)).toEqual(["B", "A"]);

    const del = await call(`/api/v1/notifications/${b?.notification_id}`, {
      token: user.token,
      method: "DELETE",
    });
    expect(del.status).toBe(204);
    const gone = await call(`/api/v1/notifications/${b?.notification_id}`, {
      token: user.token,
      method: "DELETE",
    });
    expect(gone.status).toBe(404);
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["C", "A"]);

    const all = await callJson<{ marked: number }>("/api/v1/notifications/read-all", 200, {
      token: user.token,
      method: "POST",
    });
    expect(all.marked).toBe(1);
    expect(await unreadOf(user)).toBe(0);
  });

  it("writes one row for a message delivered twice, and a deleted one never comes back", async () => {
    const user = await createUser();
    const message = notifyMessage(user, { title: "Once" });
    await runNotificationsQueue([message, message]);
    const result = await runNotificationsQueue([message], 2);
    expect(result.explicitAcks).toHaveLength(1);
    const [only] = await inboxOf(user);
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["Once"]);
    await call(`/api/v1/notifications/${only?.notification_id}`, { token: user.token, method: "DELETE" });
    await runNotificationsQueue([message], 3);
    expect(await inboxOf(user)).toEqual([]);
    expect(await storedNotificationsOf(user.id)).toHaveLength(1);
  });

  it("needs the notifications scopes, and refuses a malformed cursor", async () => {
    const user = await createUser();
    const reader = await createApiToken(user.token, { name: "tasks only", scopes: ["tasks:read"] });
    const refused = await call("/api/v1/notifications", { token: reader.token });
    expect(refused.status).toBe(403);
    const badCursor = await call("/api/v1/notifications?cursor=bm90LWEtY3Vyc29y", { token: user.token });
    expect(badCursor.status).toBe(400);
    expect((await problemOf(badCursor)).code).toBe("invalid_cursor");
  });
});

describe("preferences", () => {
  it("start at the defaults and merge changes per kind and channel", async () => {
    const user = await createUser({ timezone: "Europe/Berlin" });
    const defaults = await preferencesOf(user);
    expect(defaults).toMatchObject({
      quiet_hours: null,
      daily_cap: 20,
      digest: "daily",
      due_soon_minutes: [60, 15],
      time_zone: "Europe/Berlin",
    });
    expect(defaults.kinds.suggestion).toEqual({ in_app: true, push: false });
    expect(defaults.kinds.due_soon).toEqual({ in_app: true, push: true });
    const changed = await setPreferences(user, {
      kinds: { pet: { push: false } },
      quiet_hours: { start: "22:00", end: "07:00" },
      due_soon_minutes: [10, 120],
    });
    expect(changed.kinds.pet).toEqual({ in_app: true, push: false });
    expect(changed.kinds.focus).toEqual({ in_app: true, push: true });
    expect(changed.due_soon_minutes).toEqual([120, 10]);
    expect(await preferencesOf(user)).toEqual(changed);
    const cleared = await setPreferences(user, { quiet_hours: null });
    expect(cleared.quiet_hours).toBeNull();
    expect(cleared.kinds.pet).toEqual({ in_app: true, push: false });
  });

  it.each([
    [{ quiet_hours: { start: "25:00", end: "07:00" } }, "quiet_hours.start"],
    [{ quiet_hours: { start: "07:00", end: "07:00" } }, "quiet_hours.end"],
    [{ daily_cap: 0 }, "daily_cap"],
    [{ due_soon_minutes: [300] }, "due_soon_minutes.0"],
    [{ due_soon_minutes: [15, 15] }, "due_soon_minutes"],
    [{ kinds: { spam: { push: true } } }, "kinds"],
    [{ digest: "weekly" }, "digest"],
  ])("refuse %j with a 422 naming %s", async (body, field) => {
    const user = await createUser();
    const res = await call("/api/v1/notifications/preferences", { token: user.token, method: "PUT", body });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field)).toContain(field);
  });

  it("turning a kind off everywhere means no notification of that kind", async () => {
    const user = await createUser();
    await setPreferences(user, { kinds: { pet: { in_app: false, push: false } } });
    await notify(user, { kind: "pet", title: "Hungry" });
    await notify(user, { kind: "focus", title: "Done" });
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["Done"]);
  });
});

describe("quiet hours", () => {
  it("defer a notification to their end in the user's time zone, then deliver it", async () => {
    const zone = "America/New_York";
    const user = await notificationsUser(zone);
    await setPreferences(user, { quiet_hours: { start: "22:00", end: "07:00" } });
    const night = nextLocal(zone, "23:30");
    const morning = nextLocal(zone, "07:00", { margin: night - Date.now() + MINUTE });
    const clock = freezeClock(night);
    await notify(user, { kind: "due_soon", title: "Due soon: taxes" });
    expect(await inboxOf(user)).toEqual([]);
    const [stored] = await storedNotificationsOf(user.id);
    expect(stored).toMatchObject({ status: "deferred", deliver_at: new Date(morning).toISOString() });

    clock.tick(morning - night - MINUTE);
    expect((await sweep()).filter((m) => m.type === "release")).toEqual([]);
    clock.tick(MINUTE);
    const due = (await sweep()).filter((m) => m.type === "release" && m.user_id === user.id);
    expect(due).toHaveLength(1);
    await runNotificationsQueue(due);
    await runNotificationsQueue(due, 2);
    const inbox = await inboxOf(user);
    expect(inbox.map((n) => [n.title, n.created_at])).toEqual([
      ["Due soon: taxes", new Date(morning).toISOString()],
    ]);
  });

  it("outside them, deliver at once", async () => {
    const zone = "Asia/Tokyo";
    const user = await notificationsUser(zone);
    await setPreferences(user, { quiet_hours: { start: "22:00", end: "07:00" } });
    freezeClock(nextLocal(zone, "12:00"));
    await notify(user, { title: "Noon" });
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["Noon"]);
  });
});

describe("the daily cap and the digest", () => {
  it("folds what is past the cap into the next digest, losing nothing", async () => {
    const user = await notificationsUser("UTC");
    await setPreferences(user, { daily_cap: 3 });
    const clock = freezeClock(nextLocal("UTC", "12:00"));
    for (let i = 1; i <= 5; i++)
      await notify(user, { title: `N${i}`, kind: i === 5 ? "pet" : "celebration" });
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["N3", "N2", "N1"]);
    const stored = await storedNotificationsOf(user.id);
    expect(stored.map((s) => s.status)).toEqual(["delivered", "delivered", "delivered", "folded", "folded"]);

    // The digest goes out at 08:00 the next morning (no quiet hours).
    clock.tick(20 * 60 * MINUTE);
    const messages = (await sweep()).filter((m) => m.type === "digest" && m.user_id === user.id);
    expect(messages).toHaveLength(1);
    await runNotificationsQueue(messages);
    await runNotificationsQueue(messages, 2);
    const [digest] = await inboxOf(user);
    expect(digest).toMatchObject({ kind: "digest", title: "Your digest: 2 updates" });
    expect(digest?.body).toContain("1 celebration");
    expect(digest?.body).toContain("1 pet");
    const folded = await inboxOf(user, `?digest_id=${digest?.notification_id}`);
    expect(folded.map((n) => n.title).sort()).toEqual(["N4", "N5"]);
    expect((digest?.data as { notification_ids?: string[] } | undefined)?.notification_ids).toHaveLength(2);
    expect((await inboxOf(user)).filter((n) => n.kind === "digest")).toHaveLength(1);
  });

  it("two overlapping folds never make a digest that lists what it does not hold", async () => {
    const user = await createUser();
    await setPreferences(user, { daily_cap: 1 });
    for (let i = 0; i < 4; i++) await notify(user, { title: `F${i}` });
    const folded = (await storedNotificationsOf(user.id)).filter((r) => r.status === "folded");
    expect(folded).toHaveLength(3);
    // Waiting times out of id order: a fold up to `early` starts at the 2nd row, one up to now at the 1st.
    const now = Date.now();
    const early = now - 60 * MINUTE;
    const times = [now - 30 * MINUTE, early - MINUTE, early - MINUTE];
    await env.DB.batch(
      folded.map((r, i) =>
        env.DB.prepare("UPDATE notifications SET deliver_at = ? WHERE id = ?").bind(
          new Date(times[i] ?? now).toISOString(),
          r.id,
        ),
      ),
    );
    const db = createDatabase(env.DB);
    await Promise.all([foldIntoDigest(db, user.id, early, now), foldIntoDigest(db, user.id, now, now)]);
    const { results: digests } = await env.DB.prepare(
      "SELECT id, data FROM notifications WHERE user_id = ? AND kind = 'digest'",
    )
      .bind(user.id)
      .all<{ id: string; data: string }>();
    expect(digests.length).toBeGreaterThan(0);
    for (const digest of digests) {
      const listed = (JSON.parse(digest.data) as { notification_ids: string[] }).notification_ids;
      const held = (await storedNotificationsOf(user.id))
        .filter((r) => r.digest_id === digest.id)
        .map((r) => r.id);
      expect(held.sort()).toEqual([...listed].sort());
    }
  });

  it("with digests off, sends what is past the cap to the inbox silently", async () => {
    const user = await createUser();
    await setPreferences(user, { daily_cap: 1, digest: "off" });
    await notify(user, { title: "One" });
    await notify(user, { title: "Two" });
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["Two", "One"]);
    const stored = await storedNotificationsOf(user.id);
    expect(stored.map((s) => [s.status, s.push_state])).toEqual([
      ["delivered", "done"],
      ["delivered", "none"],
    ]);
  });

  it("with digests off, shows an overflow of a kind kept out of the inbox there all the same", async () => {
    const user = await createUser();
    await setPreferences(user, {
      daily_cap: 1,
      digest: "off",
      kinds: { pet: { in_app: false, push: true } },
    });
    await notify(user, { title: "Counted", kind: "focus" });
    await notify(user, { title: "Overflow", kind: "pet" });
    expect((await inboxOf(user)).map((n) => n.title)).toEqual(["Overflow", "Counted"]);
  });

  it("is counted exactly even when one delivery brings many at once", async () => {
    const user = await createUser();
    await setPreferences(user, { daily_cap: 4 });
    await runNotificationsQueue(
      Array.from({ length: 10 }, (_, i) => notifyMessage(user, { title: `B${i}` })),
    );
    const stored = await storedNotificationsOf(user.id);
    expect(stored.filter((s) => s.status === "delivered")).toHaveLength(4);
    expect(stored.filter((s) => s.status === "folded")).toHaveLength(6);
  });
});

describe("due-soon reminders", () => {
  it("a task due in 16 minutes is reminded once, however often the job runs", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Send the invoice",
      due_at: new Date(Date.now() + 16 * MINUTE).toISOString(),
    });
    const [first, second] = await Promise.all([sweep(), sweep()]);
    const third = await sweep();
    const mine = [...first, ...second, ...third].filter((m) => m.type === "notify" && m.user_id === user.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ kind: "due_soon", data: { task_id: task.task_id, offset_minutes: 60 } });
    await runNotificationsQueue(mine);
    const [reminder] = await inboxOf(user);
    expect(reminder).toMatchObject({ kind: "due_soon", title: "Due soon: Send the invoice" });
    expect(reminder?.body).toContain("16 minutes");

    // Its 15-minute reminder was folded into this one (a nudge a minute later is noise).
    freezeClock(Date.now() + 2 * MINUTE);
    expect((await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id)).toEqual([]);
  });

  it("a task due in 25 minutes is reminded now, and again at 15 minutes", async () => {
    const user = await createUser();
    await createTask(user, {
      title: "Call the bank",
      due_at: new Date(Date.now() + 25 * MINUTE).toISOString(),
    });
    const now = (await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id);
    expect(now.map((m) => m.type === "notify" && m.data.offset_minutes)).toEqual([60]);
    freezeClock(Date.now() + 10 * MINUTE);
    const later = [...(await sweep()), ...(await sweep())].filter(
      (m) => m.type === "notify" && m.user_id === user.id,
    );
    expect(later.map((m) => m.type === "notify" && m.data.offset_minutes)).toEqual([15]);
  });

  it("fit a long task title, never dropping the reminder", async () => {
    const user = await createUser();
    const title = "Finish ".padEnd(300, "and finish ");
    await createTask(user, { title, due_at: new Date(Date.now() + 30 * MINUTE).toISOString() });
    const mine = (await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id);
    await runNotificationsQueue(mine);
    const [reminder] = await inboxOf(user);
    expect(reminder?.title.startsWith("Due soon: Finish and finish")).toBe(true);
    expect(reminder?.title.length).toBeLessThanOrEqual(200);
  });

  it("honour the user's offsets, and skip done and deleted tasks", async () => {
    const user = await createUser();
    await setPreferences(user, { due_soon_minutes: [5] });
    const soon = new Date(Date.now() + 4 * MINUTE).toISOString();
    const later = new Date(Date.now() + 30 * MINUTE).toISOString();
    await createTask(user, { title: "Soon", due_at: soon });
    await createTask(user, { title: "Later", due_at: later });
    const done = await createTask(user, { title: "Done", due_at: soon });
    await callJson(`/api/v1/tasks/${done.task_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { status: "completed" },
    });
    const gone = await createTask(user, { title: "Gone", due_at: soon });
    await call(`/api/v1/tasks/${gone.task_id}`, { token: user.token, method: "DELETE" });
    const mine = (await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id);
    expect(mine.map((m) => m.type === "notify" && m.title)).toEqual(["Due soon: Soon"]);
  });

  it("re-enqueue a claimed reminder whose run failed before it reached the queue", async () => {
    const user = await createUser();
    await createTask(user, { title: "Fragile", due_at: new Date(Date.now() + 10 * MINUTE).toISOString() });
    const failing = refusingQueue();
    await expect(sweepNotifications({ ...env, NOTIFICATIONS_QUEUE: failing })).rejects.toThrow(
      "queue unavailable",
    );
    expect((await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id)).toEqual([]);
    freezeClock(Date.now() + 2 * MINUTE);
    const retried = (await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id);
    expect(retried.map((m) => m.type === "notify" && m.title)).toEqual(["Due soon: Fragile"]);
    expect((await sweep()).filter((m) => m.type === "notify" && m.user_id === user.id)).toEqual([]);
  });

  it("claim a backlog larger than one page in one run, each reminder once", async () => {
    const user = await createUser();
    const now = Date.now();
    // Rows written directly: 520 tasks through the API would only slow the test down.
    const rows = Array.from({ length: 520 }, (_, i) => [
      crypto.randomUUID(),
      user.id,
      `Backlog ${i}`,
      new Date(now + (20 + (i % 30)) * MINUTE).toISOString(),
      new Date(now).toISOString(),
    ]);
    await env.DB.batch(
      rows.map((r) =>
        env.DB.prepare(
          "INSERT INTO tasks (id, user_id, title, due_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?5)",
        ).bind(...r),
      ),
    );
    const first = (await sweep(now)).filter((m) => m.type === "notify" && m.user_id === user.id);
    expect(first).toHaveLength(520);
    expect(new Set(first.map((m) => m.type === "notify" && m.key)).size).toBe(520);
    expect((await sweep(now)).filter((m) => m.type === "notify" && m.user_id === user.id)).toEqual([]);
  });

  it("the minute cron's other scans each run on an index of their own", async () => {
    const db = createDatabase(env.DB);
    const plans: string[] = [];
    for (const scan of waitingScans(db, Date.now(), 15)) {
      const { sql, params } = scan.toSQL();
      const { results } = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .bind(...params)
        .all<{ detail: string }>();
      plans.push(results.map((r) => r.detail).join(" "));
    }
    expect(plans).toEqual([
      expect.stringContaining("INDEX notifications_deferred"),
      expect.stringContaining("INDEX notifications_folded"),
      expect.stringContaining("INDEX notifications_push_pending"),
      expect.stringContaining("INDEX notification_pushes_receipts"),
    ]);
  });

  it("scan open tasks through their due-time index, across all users", async () => {
    const { results } = await env.DB.prepare(
      "EXPLAIN QUERY PLAN SELECT id FROM tasks INDEXED BY tasks_open_due WHERE due_at IS NOT NULL AND deleted_at IS NULL AND status IN ('pending','in_progress','blocked') AND due_at > ? AND due_at <= ?",
    )
      .bind(new Date().toISOString(), new Date(Date.now() + 240 * MINUTE).toISOString())
      .all<{ detail: string }>();
    expect(results.map((r) => r.detail).join(" ")).toContain(
      "USING INDEX tasks_open_due (due_at>? AND due_at<?)",
    );
  });
});

describe("what notifies", () => {
  it("events become notifications through the events queue: a badge, a level, a timer that ran out", async () => {
    const user = await createUser();
    await deliver([
      newEvent("achievement.unlocked", user.id, {
        badge_id: "first-step",
        name: "First step",
        tier: "bronze",
        family: "steps",
        description: "You finished your first micro-step.",
      }),
      newEvent("level.up", user.id, { level: 2, previous_level: 1, total_xp: 120 }),
      newEvent("focus.completed", user.id, {
        session_id: "s1",
        kind: "pomodoro",
        planned_minutes: 25,
        task_id: null,
        step_id: null,
        actual_minutes: 25,
        completed: true,
        end_reason: "time_up",
        interruptions: 0,
        started_at: new Date(Date.now() - 25 * MINUTE).toISOString(),
        ended_at: new Date().toISOString(),
      }),
      newEvent("break.over", user.id, { session_id: "s1", break_kind: "short", reason: "skipped" }),
    ]);
    // The handler enqueued them; the real queue delivers them to the consumer.
    const expected = ["Badge unlocked: First step", "Level 2!", "Focus session done"];
    const arrived = (list: { title: string }[]) => expected.every((t) => list.some((n) => n.title === t));
    let inbox = await inboxOf(user);
    for (let i = 0; i < 50 && !arrived(inbox); i++) {
      await new Promise((r) => setTimeout(r, 100));
      inbox = await inboxOf(user);
    }
    // The timer's session also earned a challenge and a badge of its own: those celebrate too.
    expect(inbox.map((n) => `${n.kind}: ${n.title}`)).toEqual(
      expect.arrayContaining([
        "celebration: Badge unlocked: First step",
        "celebration: Level 2!",
        "focus: Focus session done",
      ]),
    );
    // A break the user skipped tells them nothing.
    expect(inbox.map((n) => n.kind)).not.toContain("break");
  });

  it("a new notification reaches the user's open focus socket at once", async () => {
    const user = await createUser();
    const socket = await openSocket({ token: user.token });
    await socket.waitFor(1);
    await notify(user, { title: "Live!" });
    const [, live] = await socket.waitFor(2);
    expect(live).toMatchObject({
      type: "notification",
      notification: { title: "Live!", kind: "celebration" },
    });
    socket.close();
  });
});

describe("dead letters", () => {
  it("a notification message nobody can read is recorded at once, not dropped", async () => {
    const key = `junk-${crypto.randomUUID()}`;
    const result = await runNotificationsQueue([{ type: "notify", key, user_id: "u-junk" }]);
    expect(result.explicitAcks).toHaveLength(1);
    const { results } = await env.DB.prepare("SELECT source, body FROM dead_letters WHERE body LIKE ?")
      .bind(`%${key}%`)
      .all<{ source: string }>();
    expect(results.map((r) => r.source)).toEqual(["notifications"]);
  });

  it("are recorded and readable by administrators only", async () => {
    const admin = await createUser({ email: "admin@example.com" });
    const adminToken = await createApiToken(admin.token, { name: "ops", scopes: ["admin"] });
    const body = { type: "notify", user_id: "u-dead", key: `dead-${crypto.randomUUID()}` };
    const batch = createMessageBatch<unknown>("pap-dead-letters", [
      { id: `dl-${crypto.randomUUID()}`, timestamp: new Date(), attempts: 6, body },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    await worker.queue(batch, env);
    const letters = await callJson<{ source: string; body: { key: string }; attempts: number }[]>(
      "/api/v1/admin/dead-letters?source=notifications",
      200,
      { token: adminToken.token },
    );
    expect(letters.filter((l) => l.body.key === body.key)).toEqual([
      expect.objectContaining({ source: "notifications", attempts: 6 }),
    ]);
    const user = await createUser();
    expect((await call("/api/v1/admin/dead-letters", { token: user.token })).status).toBe(403);
  });
});

describe("a queue with no consumer", () => {
  it("keeps its messages as dead letters instead of dropping them", async () => {
    const id = `orphan-${crypto.randomUUID()}`;
    const batch = createMessageBatch<unknown>("pap-not-consumed-here", [
      { id, timestamp: new Date(), attempts: 1, body: { anything: id } },
    ]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).ackAll).toBe(true);
    const row = await env.DB.prepare("SELECT source FROM dead_letters WHERE message_id = ?")
      .bind(id)
      .first<{ source: string }>();
    expect(row?.source).toBe("unknown");
  });
});

describe("the minute cron", () => {
  it("runs the notifications sweep: a due reminder is claimed and reaches the queue", async () => {
    const user = await createUser();
    const task = await createTask(user, {
      title: "Cron",
      due_at: new Date(Date.now() + 9 * MINUTE).toISOString(),
    });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: CRONS.everyMinute }), env, ctx);
    await waitOnExecutionContext(ctx);
    const claims = await env.DB.prepare(
      "SELECT offset_minutes, enqueued_at FROM reminder_claims WHERE task_id = ? ORDER BY offset_minutes",
    )
      .bind(task.task_id)
      .all<{ offset_minutes: number; enqueued_at: string | null }>();
    expect(claims.results.map((c) => c.offset_minutes)).toEqual([15, 60]);
    expect(claims.results.every((c) => c.enqueued_at !== null)).toBe(true);
  });
});
