import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { routeOutbound } from "./fakes/outbound";
import { callJson, createUser } from "./helpers/api";
import { freezeClock } from "./helpers/clock";
import {
  attemptsOf,
  completedEvent,
  deliveryRow,
  fanOut,
  receiver,
  runWebhooksQueue,
  runWithRetries,
  subscribe,
} from "./helpers/webhooks";

describe("webhook deliveries", () => {
  it("fan an event out to the endpoints that asked for it, with one webhook-id per endpoint", async () => {
    const user = await createUser();
    const all = await subscribe(user, "https://a.hooks.fake.test/hook", ["*"]);
    const levels = await subscribe(user, "https://b.hooks.fake.test/hook", ["level.up"]);
    const done = await subscribe(user, "https://c.hooks.fake.test/hook", ["task.completed"]);
    const event = await completedEvent(user.id);
    const first = await fanOut([event]);
    expect(first.map((m) => m.webhook_id).sort()).toEqual([all.webhook_id, done.webhook_id].sort());
    expect(first.map((m) => m.webhook_id)).not.toContain(levels.webhook_id);
    // The event handled again (a redelivery) gives the same ids: receivers deduplicate on them.
    const again = await fanOut([event]);
    expect(again.map((m) => m.delivery_id).sort()).toEqual(first.map((m) => m.delivery_id).sort());
    const other = await createUser();
    expect(await fanOut([await completedEvent(other.id)])).toEqual([]);
  });

  it("deliver the Standard Webhooks body, signed so a receiver verifies it", async () => {
    const user = await createUser();
    const received = receiver("signed.hooks.fake.test");
    const hook = await subscribe(user, "https://signed.hooks.fake.test/hook", ["task.completed"]);
    const event = await completedEvent(user.id);
    const result = await runWebhooksQueue([...(await fanOut([event]))]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(received).toHaveLength(1);
    const [request] = received;
    const verified = new Webhook(hook.secret).verify(request?.body ?? "", request?.headers ?? {});
    expect(verified).toEqual({ type: "task.completed", timestamp: event.occurred_at, data: event.data });
    const [logged] = await attemptsOf(hook.webhook_id);
    expect(logged).toMatchObject({
      attempt: 1,
      outcome: "succeeded",
      status_code: 200,
      response_excerpt: "ok from the receiver",
    });
    expect(logged?.delivery_id).toBe(request?.headers["webhook-id"]);
  });

  it("a receiver failing three times then succeeding gets it once, with four attempts under one webhook-id", async () => {
    const user = await createUser();
    const received = receiver("flaky.hooks.fake.test", [503, 500, 502]);
    const hook = await subscribe(user, "https://flaky.hooks.fake.test/hook", ["*"]);
    const [message] = await fanOut([await completedEvent(user.id)]);
    if (!message) throw new Error("no delivery");
    const { delays } = await runWithRetries(message, freezeClock(), 4);
    expect(received.map((r) => r.headers["webhook-id"])).toEqual(Array(4).fill(message.delivery_id));
    const log = await attemptsOf(hook.webhook_id);
    expect(log.map((a) => [a.attempt, a.outcome, a.status_code])).toEqual([
      [1, "failed", 503],
      [2, "failed", 500],
      [3, "failed", 502],
      [4, "succeeded", 200],
    ]);
    // Backoff grows between attempts (with jitter), through the queue's per-message delay.
    expect(delays).toHaveLength(3);
    const [d1 = 0, d2 = 0, d3 = 0] = delays;
    expect(d1).toBeLessThan(d2);
    expect(d2).toBeLessThan(d3);
  });

  it("never follow a redirect to a private or metadata address", async () => {
    const user = await createUser();
    routeOutbound(
      "redirect.hooks.fake.test",
      () =>
        new Response(null, { status: 307, headers: { location: "http://169.254.169.254/latest/meta-data" } }),
    );
    const hook = await subscribe(user, "https://redirect.hooks.fake.test/hook", ["*"]);
    const result = await runWebhooksQueue([...(await fanOut([await completedEvent(user.id)]))]);
    expect(result.retryMessages).toHaveLength(1);
    const [logged] = await attemptsOf(hook.webhook_id);
    expect(logged).toMatchObject({ outcome: "failed", status_code: null });
    // Refused by the check on the redirect's hop, before any request could go there.
    expect(logged?.error).toContain("is the cloud metadata address");
  });

  it("give up on a receiver that trickles its answer, and log the attempt", async () => {
    const user = await createUser();
    routeOutbound("slow.hooks.fake.test", () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("o"));
          // …and never closes.
        },
      });
      return new Response(body, { status: 200 });
    });
    const hook = await subscribe(user, "https://slow.hooks.fake.test/hook", ["*"]);
    const started = Date.now();
    const result = await runWebhooksQueue([...(await fanOut([await completedEvent(user.id)]))]);
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(result.explicitAcks).toHaveLength(1);
    const [logged] = await attemptsOf(hook.webhook_id);
    expect(logged).toMatchObject({ outcome: "succeeded", status_code: 200, response_excerpt: "o" });
  }, 20_000);

  it("never delay a retry past the queue's 12 hours, jitter included", async () => {
    const { retryDelaySeconds } = await import("../src/features/webhooks/retry-policy");
    for (let attempt = 1; attempt <= 12; attempt++) {
      expect(retryDelaySeconds(attempt, () => 0.999)).toBeLessThanOrEqual(43_200);
    }
    expect(retryDelaySeconds(1, () => 0.5)).toBe(30);
    expect(retryDelaySeconds(3, () => 0.5)).toBe(480);
  });

  it("never call a paused endpoint: no new deliveries, and those in flight end as failed without a request", async () => {
    const user = await createUser();
    const received = receiver("paused.hooks.fake.test");
    const hook = await subscribe(user, "https://paused.hooks.fake.test/hook", ["*"]);
    const inFlight = await fanOut([await completedEvent(user.id)]);
    await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: false },
    });
    const result = await runWebhooksQueue(inFlight);
    expect(result.explicitAcks).toHaveLength(1);
    expect(received).toEqual([]);
    expect(await deliveryRow(inFlight[0]?.delivery_id ?? "")).toMatchObject({
      status: "failed",
      attempts: 0,
      last_error: "The webhook was disabled before this delivery was sent.",
    });
    expect(await fanOut([await completedEvent(user.id)])).toEqual([]);
  });
});
