import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { DISABLE_AFTER_MS, MAX_ATTEMPTS } from "../src/features/webhooks/retry-policy";
import { MAX_SENDS, resendBackoffMs, WEBHOOK_REDELIVERY_AFTER_MS } from "../src/jobs/webhooks-reconciler";
import { routeOutbound } from "./fakes/outbound";
import { call, callJson, callWith, createUser, problemOf, refusingQueue, type TestUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import { inboxOf } from "./helpers/notifications";
import { deliver, eventsOf } from "./helpers/outbox";
import {
  attemptsOf,
  capturingQueue,
  completedEvent,
  deliveryRow,
  fanOut,
  receiver,
  reconcileAll,
  runWebhooksQueue,
  runWithRetries,
  subscribe,
  webhooksUser,
} from "./helpers/webhooks";

interface Delivery {
  delivery_id: string;
  webhook_id: string;
  event_id: string | null;
  event_type: string;
  status: string;
  attempt_count: number;
  next_attempt_at: string | null;
  last_status_code: number | null;
  last_error: string | null;
  attempts: { attempt: number; outcome: string; status_code: number | null; next_retry_at: string | null }[];
}

const deliveriesOf = (user: TestUser, webhookId: string, query = "") =>
  callJson<Delivery[]>(`/api/v1/webhooks/${webhookId}/deliveries${query}`, 200, { token: user.token });

/** Calls a route that enqueues deliveries, keeping the messages instead of letting the queue run them. */
async function enqueuing(user: TestUser, path: string, status: number) {
  const { sent, queue } = capturingQueue();
  const res = await callWith({ WEBHOOKS_QUEUE: queue }, path, { token: user.token, method: "POST" });
  expect(res.status).toBe(status);
  return { body: (await res.json()) as Delivery & { detail?: string }, sent };
}

describe("the deliveries log", () => {
  it("list every delivery newest first, each with its attempts, and filter the failed ones", async () => {
    const user = await createUser();
    receiver("log.hooks.fake.test", [500]);
    const hook = await subscribe(user, "https://log.hooks.fake.test/hook", ["*"]);
    // Apart in time, so "newest first" has one answer.
    const clock = freezeClock();
    const [first] = await fanOut([await completedEvent(user.id)]);
    await runWebhooksQueue([first]);
    clock.tick(1000);
    const [second] = await fanOut([await completedEvent(user.id)]);
    await runWebhooksQueue([second]);
    const log = await deliveriesOf(user, hook.webhook_id);
    expect(log.map((d) => d.delivery_id)).toEqual([second?.delivery_id, first?.delivery_id]);
    const [ok, retrying] = log;
    expect(ok).toMatchObject({
      status: "succeeded",
      attempt_count: 1,
      next_attempt_at: null,
      last_status_code: 200,
    });
    expect(retrying).toMatchObject({ status: "retrying", attempt_count: 1, last_status_code: 500 });
    // The next retry is on the log, and on the attempt that scheduled it.
    expect(Date.parse(retrying?.next_attempt_at ?? "")).toBeGreaterThan(Date.now());
    expect(retrying?.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        outcome: "failed",
        status_code: 500,
        next_retry_at: retrying?.next_attempt_at,
      }),
    ]);
    expect((await deliveriesOf(user, hook.webhook_id, "?status=retrying")).map((d) => d.delivery_id)).toEqual(
      [first?.delivery_id],
    );
    expect(await deliveriesOf(user, hook.webhook_id, "?status=FAILED")).toEqual([]);
    const one = await callJson<Delivery>(
      `/api/v1/webhooks/${hook.webhook_id}/deliveries/${first?.delivery_id}`,
      200,
      { token: user.token },
    );
    expect(one).toEqual(retrying);
  });

  it("page through a long log with a cursor", async () => {
    const user = await createUser();
    receiver("pages.hooks.fake.test");
    const hook = await subscribe(user, "https://pages.hooks.fake.test/hook", ["*"]);
    for (let i = 0; i < 5; i++) await fanOut([await completedEvent(user.id)]);
    const seen: string[] = [];
    let path: string | null = `/api/v1/webhooks/${hook.webhook_id}/deliveries?limit=2`;
    while (path) {
      const res = await call(path, { token: user.token });
      expect(res.status).toBe(200);
      seen.push(...((await res.json()) as Delivery[]).map((d) => d.delivery_id));
      path = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
    }
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    const bad = await call(`/api/v1/webhooks/${hook.webhook_id}/deliveries?cursor=bm9wZQ`, {
      token: user.token,
    });
    expect(bad.status).toBe(400);
  });

  it("hide another user's webhook and deliveries behind 404s", async () => {
    const owner = await createUser();
    const hook = await subscribe(owner, "https://private.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(owner.id)]);
    const stranger = await createUser();
    for (const path of [
      `/api/v1/webhooks/${hook.webhook_id}/deliveries`,
      `/api/v1/webhooks/${hook.webhook_id}/deliveries/${message?.delivery_id}`,
    ]) {
      expect((await call(path, { token: stranger.token })).status).toBe(404);
    }
    for (const path of [
      `/api/v1/webhooks/${hook.webhook_id}/deliveries/${message?.delivery_id}/replay`,
      `/api/v1/webhooks/${hook.webhook_id}/test`,
    ]) {
      expect((await call(path, { token: stranger.token, method: "POST" })).status).toBe(404);
    }
    expect(await deliveryRow(message?.delivery_id ?? "")).toMatchObject({ seq: 1, status: "pending" });
  });
});

describe("giving up, replaying and testing", () => {
  it(`fail a delivery after ${MAX_ATTEMPTS} attempts, dead-letter it, and replay it under the same webhook-id`, async () => {
    const user = await webhooksUser();
    const received = receiver("down.hooks.fake.test", Array(MAX_ATTEMPTS).fill(503));
    const hook = await subscribe(user, "https://down.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    if (!message) throw new Error("no delivery");
    const { delays, last } = await runWithRetries(message, freezeClock(), MAX_ATTEMPTS);
    expect(last.explicitAcks).toEqual([expect.any(String)]);
    // Spread over hours: the retries' delays add up to most of a day, even with the jitter.
    expect(delays).toHaveLength(MAX_ATTEMPTS - 1);
    expect(delays.reduce((sum = 0, d = 0) => sum + d, 0)).toBeGreaterThan(16 * 3600);
    expect(await deliveryRow(message.delivery_id)).toMatchObject({
      status: "failed",
      attempts: MAX_ATTEMPTS,
    });
    const dead = await env.DB.prepare("SELECT source, user_id FROM dead_letters WHERE body LIKE ?")
      .bind(`%${message.delivery_id}%`)
      .first<{ source: string; user_id: string }>();
    expect(dead).toEqual({ source: "webhooks", user_id: user.id });
    const failed = await deliveriesOf(user, hook.webhook_id, "?status=failed");
    expect(failed.map((d) => [d.delivery_id, d.attempts.length])).toEqual([
      [message.delivery_id, MAX_ATTEMPTS],
    ]);

    const { body, sent } = await enqueuing(
      user,
      `/api/v1/webhooks/${hook.webhook_id}/deliveries/${message.delivery_id}/replay`,
      202,
    );
    expect(body).toMatchObject({
      delivery_id: message.delivery_id,
      status: "pending",
      attempt_count: MAX_ATTEMPTS,
    });
    expect(sent).toEqual([{ ...message, seq: 2 }]);
    await runWebhooksQueue(sent);
    // The old message, were it still queued, is stale now: nothing more is sent for it.
    await runWebhooksQueue([message], MAX_ATTEMPTS + 1);
    expect(received).toHaveLength(MAX_ATTEMPTS + 1);
    expect(new Set(received.map((r) => r.headers["webhook-id"]))).toEqual(new Set([message.delivery_id]));
    const [after] = await deliveriesOf(user, hook.webhook_id);
    expect(after).toMatchObject({ status: "succeeded", attempt_count: MAX_ATTEMPTS + 1 });
    expect(after?.attempts.at(-1)).toMatchObject({ attempt: MAX_ATTEMPTS + 1, outcome: "succeeded" });
  });

  it("send a signed webhook.test delivery, and refuse tests and replays to a disabled webhook", async () => {
    const user = await createUser();
    const received = receiver("test.hooks.fake.test");
    const hook = await subscribe(user, "https://test.hooks.fake.test/hook", ["task.completed"]);
    const unknown = await call(`/api/v1/webhooks/${hook.webhook_id}/deliveries/msg_nope/replay`, {
      token: user.token,
      method: "POST",
    });
    expect(unknown.status).toBe(404);
    const { body, sent } = await enqueuing(user, `/api/v1/webhooks/${hook.webhook_id}/test`, 202);
    expect(body).toMatchObject({
      event_type: "webhook.test",
      event_id: null,
      status: "pending",
      attempts: [],
    });
    await runWebhooksQueue(sent);
    const [request] = received;
    const verified = new Webhook(hook.secret).verify(request?.body ?? "", request?.headers ?? {});
    expect(verified).toMatchObject({ type: "webhook.test", data: { webhook_id: hook.webhook_id } });
    expect(request?.headers["webhook-id"]).toBe(body.delivery_id);
    expect((await deliveriesOf(user, hook.webhook_id))[0]).toMatchObject({ status: "succeeded" });

    await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: false },
    });
    const refused = await call(`/api/v1/webhooks/${hook.webhook_id}/test`, {
      token: user.token,
      method: "POST",
    });
    expect(refused.status).toBe(409);
    expect((await problemOf(refused)).detail).toContain("re-enable it");
    const replay = await call(`/api/v1/webhooks/${hook.webhook_id}/deliveries/${body.delivery_id}/replay`, {
      token: user.token,
      method: "POST",
    });
    expect(replay.status).toBe(409);
  });

  it("deleting a webhook takes its log with it, and its queued messages send nothing", async () => {
    const user = await createUser();
    const received = receiver("gone.hooks.fake.test");
    const hook = await subscribe(user, "https://gone.hooks.fake.test/hook", ["*"]);
    const messages = await fanOut([await completedEvent(user.id)]);
    await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 204, { token: user.token, method: "DELETE" });
    const result = await runWebhooksQueue(messages);
    expect(result.explicitAcks).toHaveLength(1);
    expect(received).toEqual([]);
    expect(await deliveryRow(messages[0]?.delivery_id ?? "")).toBeNull();
  });
});

describe("the deliveries outbox", () => {
  it("a fan-out the webhooks queue refused is re-sent by the reconciler, once, and late messages are dropped", async () => {
    const user = await createUser();
    const received = receiver("outage.hooks.fake.test");
    await subscribe(user, "https://outage.hooks.fake.test/hook", ["*"]);
    const event = await completedEvent(user.id);
    const refusing = refusingQueue();
    const { dispatchBatch } = await import("../src/jobs/events-consumer");
    const { webhooksHandler } = await import("../src/features/webhooks/event-handler");
    const { createDatabase } = await import("../src/db");
    await expect(
      dispatchBatch(createDatabase(env.DB), { ...env, WEBHOOKS_QUEUE: refusing }, [event], [webhooksHandler]),
    ).rejects.toThrow("queue unavailable");
    // The row was written with the event's receipt: the delivery is waiting, not lost.
    const { results } = await env.DB.prepare(
      "SELECT id, status, seq FROM webhook_deliveries WHERE event_id = ?",
    )
      .bind(event.id)
      .all<{ id: string; status: string; seq: number }>();
    expect(results).toEqual([{ id: expect.stringMatching(/^msg_/), status: "pending", seq: 1 }]);
    const id = results[0]?.id ?? "";
    // Not before it is overdue…
    expect((await reconcileAll()).map((m) => m.delivery_id)).not.toContain(id);
    const clock = freezeClock();
    clock.tick(WEBHOOK_REDELIVERY_AFTER_MS + 60_000);
    const resent = (await reconcileAll(clock.now())).filter((m) => m.delivery_id === id);
    expect(resent).toEqual([expect.objectContaining({ delivery_id: id, seq: 2 })]);
    // …and not twice: the claim moved its due time on.
    expect((await reconcileAll(clock.now())).map((m) => m.delivery_id)).not.toContain(id);
    await runWebhooksQueue([...resent, { ...resent[0], seq: 1 }]);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual([id]);
    expect(await deliveryRow(id)).toMatchObject({ status: "succeeded", attempts: 1 });
    // A duplicate of the message that succeeded sends nothing more.
    await runWebhooksQueue(resent);
    expect(received).toHaveLength(1);
  });

  it("twenty endpoints and twenty events in one delivery stay within D1's limits", async () => {
    const user = await createUser();
    for (let i = 0; i < 20; i++) await subscribe(user, `https://many${i}.hooks.fake.test/hook`, ["*"]);
    const events = [];
    for (let i = 0; i < 20; i++) events.push(await completedEvent(user.id));
    const messages = await fanOut(events);
    expect(messages).toHaveLength(400);
    expect(new Set(messages.map((m) => m.delivery_id)).size).toBe(400);
    const stored = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(stored?.n).toBe(400);
  });
});

describe("disabling an endpoint that keeps failing", () => {
  it("after 100 failed attempts in a row: disabled once, with a webhook.disabled event and a notification", async () => {
    const user = await createUser();
    const received = receiver("broken.hooks.fake.test", Array(120).fill(500));
    const hook = await subscribe(user, "https://broken.hooks.fake.test/hook", ["task.completed"]);
    const events = [];
    for (let i = 0; i < 101; i++) events.push(await completedEvent(user.id));
    const messages = [];
    for (let i = 0; i < events.length; i += 20) messages.push(...(await fanOut(events.slice(i, i + 20))));
    // As the queue hands them over: at most 20 a batch.
    for (let i = 0; i < 99; i += 20) await runWebhooksQueue(messages.slice(i, Math.min(i + 20, 99)));
    let read = await callJson<{ enabled: boolean }>(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
    });
    expect(read.enabled).toBe(true);
    await runWebhooksQueue(messages.slice(99, 100));
    await runWebhooksQueue(messages.slice(100));
    // The 100th failure disabled it; the 101st message found it disabled and sent nothing.
    expect(received).toHaveLength(100);
    read = await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, { token: user.token });
    expect(read).toMatchObject({
      enabled: false,
      disabled_reason: "100 deliveries in a row failed.",
    });
    const disabled = await eventsOf(user.id, "webhook.disabled");
    expect(disabled).toHaveLength(1);
    // Its host only: a full URL may be a secret.
    expect(disabled[0]?.data).toEqual({
      webhook_id: hook.webhook_id,
      host: "broken.hooks.fake.test",
      reason: "100 deliveries in a row failed.",
      consecutive_failures: 100,
      failing_since: expect.any(String),
    });
    await deliver(disabled);
    let inbox = await inboxOf(user);
    for (let i = 0; i < 50 && !inbox.some((n) => n.kind === "integration"); i++) {
      await new Promise((r) => setTimeout(r, 100));
      inbox = await inboxOf(user);
    }
    expect(inbox.find((n) => n.kind === "integration")).toMatchObject({
      title: "A webhook was paused",
      data: expect.objectContaining({ webhook_id: hook.webhook_id }),
    });
    // Re-enabling is a PATCH, and starts counting afresh.
    read = await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: true },
    });
    expect(read).toMatchObject({ enabled: true, disabled_reason: null });
    const health = await env.DB.prepare(
      "SELECT consecutive_failures, failing_since FROM webhooks WHERE id = ?",
    )
      .bind(hook.webhook_id)
      .first();
    expect(health).toEqual({ consecutive_failures: 0, failing_since: null });
  });

  it("after three days of nothing but failures", async () => {
    const user = await webhooksUser();
    receiver("dying.hooks.fake.test", Array(10).fill(502));
    const hook = await subscribe(user, "https://dying.hooks.fake.test/hook", ["*"]);
    const clock = freezeClock();
    await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    clock.tick(DISABLE_AFTER_MS - 60_000);
    await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    let read = await callJson<{ enabled: boolean }>(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
    });
    expect(read.enabled).toBe(true);
    clock.tick(2 * 60_000);
    await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    read = await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, { token: user.token });
    expect(read).toMatchObject({
      enabled: false,
      disabled_reason: "Every delivery attempt failed for 3 days.",
    });
  });

  it("a success in between resets the count", async () => {
    const user = await createUser();
    receiver("wobbly.hooks.fake.test", [500, 500, 200, 500]);
    const hook = await subscribe(user, "https://wobbly.hooks.fake.test/hook", ["*"]);
    for (let i = 0; i < 4; i++) await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    const health = await env.DB.prepare("SELECT consecutive_failures FROM webhooks WHERE id = ?")
      .bind(hook.webhook_id)
      .first<{ consecutive_failures: number }>();
    expect(health?.consecutive_failures).toBe(1);
    expect((await attemptsOf(hook.webhook_id)).map((a) => a.status_code).sort()).toEqual([
      200, 500, 500, 500,
    ]);
  });
});

describe("keeping the log bounded", () => {
  it("forget finished deliveries and attempts after 30 days, never an open delivery", async () => {
    const user = await createUser();
    receiver("old.hooks.fake.test", [500]);
    const hook = await subscribe(user, "https://old.hooks.fake.test/hook", ["*"]);
    const [open] = await fanOut([await completedEvent(user.id)]);
    await runWebhooksQueue([open]);
    const [done] = await fanOut([await completedEvent(user.id)]);
    await runWebhooksQueue([done]);
    const { cleanUpExpired, WEBHOOK_LOG_RETENTION_MS } = await import("../src/jobs/housekeeping");
    const later = Date.now() + WEBHOOK_LOG_RETENTION_MS + 60_000;
    await cleanUpExpired(env, later - 2 * 60_000);
    expect(await deliveriesOf(user, hook.webhook_id)).toHaveLength(2);
    await cleanUpExpired(env, later);
    // The retrying delivery stays, with no attempts left to show; the succeeded one is gone.
    const kept = await deliveriesOf(user, hook.webhook_id);
    expect(kept.map((d) => [d.delivery_id, d.status, d.attempts.length])).toEqual([
      [open?.delivery_id, "retrying", 0],
    ]);
  });

  it("the reconciler and the retention sweep read through their partial indexes", async () => {
    const plan = async (query: string) =>
      (
        await env.DB.prepare(`EXPLAIN QUERY PLAN ${query}`)
          .bind(new Date().toISOString())
          .all<{ detail: string }>()
      ).results
        .map((r) => r.detail)
        .join(" ");
    expect(
      await plan(
        "SELECT id FROM webhook_deliveries WHERE status IN ('pending', 'retrying') AND next_attempt_at < ? ORDER BY next_attempt_at LIMIT 90",
      ),
    ).toContain("USING INDEX webhook_deliveries_open");
    expect(
      await plan(
        "SELECT id FROM webhook_deliveries WHERE status IN ('succeeded', 'failed') AND updated_at < ? LIMIT 1000",
      ),
    ).toContain("USING INDEX webhook_deliveries_closed");
  });
});

describe("one delivery, one sender", () => {
  it("a twin of the fan-out's message while the delivery waits for its retry sends nothing", async () => {
    const user = await createUser();
    const received = receiver("twin.hooks.fake.test", [500]);
    const hook = await subscribe(user, "https://twin.hooks.fake.test/hook", ["*"]);
    const event = await completedEvent(user.id);
    const [message] = await fanOut([event]);
    await runWebhooksQueue([message]);
    // The events handler ran again (a redelivery): the same message, seq and all.
    const [twin] = await fanOut([event]);
    expect(twin).toEqual(message);
    const result = await runWebhooksQueue([twin]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(received).toHaveLength(1);
    expect(await attemptsOf(hook.webhook_id)).toHaveLength(1);
  });

  it("two copies in one batch are sent once", async () => {
    const user = await createUser();
    const received = receiver("pair.hooks.fake.test");
    const hook = await subscribe(user, "https://pair.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    const result = await runWebhooksQueue([message, message]);
    expect(result.explicitAcks).toHaveLength(2);
    expect(received).toHaveLength(1);
    expect(await attemptsOf(hook.webhook_id)).toHaveLength(1);
  });

  it("an attempt overtaken by a replay counts nowhere: no log line, no failure on the endpoint", async () => {
    const user = await createUser();
    let calls = 0;
    const hook = await subscribe(user, "https://race.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    if (!message) throw new Error("no delivery");
    // The receiver answers the first attempt only after its owner replayed the delivery.
    const { sent, queue } = capturingQueue();
    routeOutbound("race.hooks.fake.test", async () => {
      calls += 1;
      const replayed = await callWith(
        { WEBHOOKS_QUEUE: queue },
        `/api/v1/webhooks/${hook.webhook_id}/deliveries/${message.delivery_id}/replay`,
        { token: user.token, method: "POST" },
      );
      expect(replayed.status).toBe(202);
      return new Response("late", { status: 500 });
    });
    const result = await runWebhooksQueue([message]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    // The replay's own message is the one in charge now.
    expect(sent).toEqual([{ ...message, seq: 2 }]);
    expect(calls).toBe(1);
    expect(await attemptsOf(hook.webhook_id)).toEqual([]);
    const health = await env.DB.prepare("SELECT consecutive_failures FROM webhooks WHERE id = ?")
      .bind(hook.webhook_id)
      .first<{ consecutive_failures: number }>();
    expect(health?.consecutive_failures).toBe(0);
    expect(await deliveryRow(message.delivery_id)).toMatchObject({ status: "pending", seq: 2, attempts: 0 });
  });

  it("a delivery the receiver took is marked delivered even when its attempt cannot be logged", async () => {
    const user = await createUser();
    const received = receiver("logless.hooks.fake.test");
    await subscribe(user, "https://logless.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    const noBatches = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return async () => Promise.reject(new Error("D1 batch lost"));
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const result = await runWebhooksQueue([message], 1, { DB: noBatches });
    expect(result.explicitAcks).toHaveLength(1);
    expect(received).toHaveLength(1);
    expect(await deliveryRow(message?.delivery_id ?? "")).toMatchObject({ status: "succeeded" });
    // So neither the queue nor the reconciler sends it again.
    const clock = freezeClock();
    clock.tick(WEBHOOK_REDELIVERY_AFTER_MS + 60_000);
    expect((await reconcileAll(clock.now())).map((m) => m.delivery_id)).not.toContain(message?.delivery_id);
  });

  it(`a delivery whose messages keep getting lost is failed after ${MAX_SENDS} re-sends, visibly`, async () => {
    const user = await webhooksUser();
    await subscribe(user, "https://lost.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    const id = message?.delivery_id ?? "";
    const clock = freezeClock();
    const seqs: number[] = [];
    for (let i = 0; i < MAX_SENDS + 1; i++) {
      clock.tick(resendBackoffMs(i) + WEBHOOK_REDELIVERY_AFTER_MS + 60_000);
      seqs.push(...(await reconcileAll(clock.now())).filter((m) => m.delivery_id === id).map((m) => m.seq));
    }
    expect(seqs).toEqual(Array.from({ length: MAX_SENDS }, (_, i) => i + 2));
    const [row] = await deliveriesOf(user, message?.webhook_id ?? "", "?status=failed");
    expect(row?.delivery_id).toBe(id);
    expect(row?.last_error).toContain("replay it");
  });

  it("a page of 100 deliveries, each with its attempts", async () => {
    const user = await createUser();
    receiver("hundred.hooks.fake.test");
    const hook = await subscribe(user, "https://hundred.hooks.fake.test/hook", ["*"]);
    const events = [];
    for (let i = 0; i < 101; i++) events.push(await completedEvent(user.id));
    const messages = [];
    for (let i = 0; i < events.length; i += 20) messages.push(...(await fanOut(events.slice(i, i + 20))));
    for (let i = 0; i < messages.length; i += 20) await runWebhooksQueue(messages.slice(i, i + 20));
    const page = await deliveriesOf(user, hook.webhook_id, "?limit=100");
    expect(page).toHaveLength(100);
    expect(page.every((d) => d.attempts.length === 1 && d.status === "succeeded")).toBe(true);
  });
});
