import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { webhooksHandler } from "../src/features/webhooks/event-handler";
import { type DeliveryMessage, deliveryMessage } from "../src/features/webhooks/message";
import worker, { QUEUE_NAMES } from "../src/index";
import type { DomainEvent } from "../src/lib/events/catalog";
import { newEvent } from "../src/lib/events/envelope";
import { routeOutbound } from "./fakes/outbound";
import { callJson, createUser, type TestUser } from "./helpers/api";

interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A receiver at https://<host>/hook that answers each request with the next status of `statuses` (then 200). */
function receiver(host: string, statuses: number[] = []) {
  const received: Received[] = [];
  routeOutbound(host, async (request) => {
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    received.push({ headers, body: await request.text() });
    return new Response("ok from the receiver", { status: statuses.shift() ?? 200 });
  });
  return received;
}

async function subscribe(user: TestUser, url: string, eventTypes: string[]) {
  return callJson<{ webhook_id: string; secret: string }>("/api/v1/webhooks", 201, {
    token: user.token,
    body: { url, event_types: eventTypes },
  });
}

function completed(userId: string): DomainEvent {
  return newEvent("task.completed", userId, {
    task_id: "t-1",
    title: "File the taxes",
    priority: "high",
    estimated_minutes: 30,
    actual_minutes: 25,
    is_meta_task: false,
    created_at: new Date().toISOString(),
    completed_steps: 3,
  });
}

/** What the handler enqueues for these events. */
async function fanOut(events: DomainEvent[]): Promise<DeliveryMessage[]> {
  const sent: DeliveryMessage[] = [];
  const queue = {
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body as DeliveryMessage);
    },
  } as unknown as Queue<unknown>;
  await webhooksHandler.after?.({ ...env, WEBHOOKS_QUEUE: queue }, events);
  return sent;
}

/** Runs the webhooks consumer on these messages as queue attempt `attempts`; answers acks and retry delays. */
async function runWebhooksQueue(messages: DeliveryMessage[], attempts = 1) {
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.webhooks,
    messages.map((body, i) => ({
      id: `wh-${crypto.randomUUID()}-${i}`,
      timestamp: new Date(),
      attempts,
      body,
    })),
  );
  const delays: (number | undefined)[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    message.retry = (options?: QueueRetryOptions) => {
      delays.push(options?.delaySeconds);
      retry(options);
    };
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return { ...(await getQueueResult(batch, ctx)), delays };
}

const attemptsOf = async (webhookId: string) =>
  (
    await env.DB.prepare(
      "SELECT delivery_id, attempt, outcome, status_code, response_excerpt, error FROM webhook_attempts WHERE webhook_id = ? ORDER BY attempt",
    )
      .bind(webhookId)
      .all<{
        delivery_id: string;
        attempt: number;
        outcome: string;
        status_code: number | null;
        response_excerpt: string | null;
        error: string | null;
      }>()
  ).results;

describe("webhook deliveries", () => {
  it("fan an event out to the endpoints that asked for it, with one webhook-id per endpoint", async () => {
    const user = await createUser();
    const all = await subscribe(user, "https://a.hooks.fake.test/hook", ["*"]);
    const levels = await subscribe(user, "https://b.hooks.fake.test/hook", ["level.up"]);
    const done = await subscribe(user, "https://c.hooks.fake.test/hook", ["task.completed"]);
    const event = completed(user.id);
    const first = await fanOut([event]);
    expect(first.map((m) => m.webhook_id).sort()).toEqual([all.webhook_id, done.webhook_id].sort());
    expect(first.map((m) => m.webhook_id)).not.toContain(levels.webhook_id);
    // The event handled again (a redelivery) gives the same ids: receivers deduplicate on them.
    const again = await fanOut([event]);
    expect(again.map((m) => m.delivery_id).sort()).toEqual(first.map((m) => m.delivery_id).sort());
    const other = await createUser();
    expect(await fanOut([completed(other.id)])).toEqual([]);
  });

  it("deliver the Standard Webhooks body, signed so a receiver verifies it", async () => {
    const user = await createUser();
    const received = receiver("signed.hooks.fake.test");
    const hook = await subscribe(user, "https://signed.hooks.fake.test/hook", ["task.completed"]);
    const event = completed(user.id);
    const result = await runWebhooksQueue([await deliveryMessage(event, hook.webhook_id)]);
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
    const message = await deliveryMessage(completed(user.id), hook.webhook_id);
    const delays: (number | undefined)[] = [];
    for (let attempt = 1; attempt <= 4; attempt++) {
      const result = await runWebhooksQueue([message], attempt);
      delays.push(...result.delays);
    }
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
    const result = await runWebhooksQueue([await deliveryMessage(completed(user.id), hook.webhook_id)]);
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
    const result = await runWebhooksQueue([await deliveryMessage(completed(user.id), hook.webhook_id)]);
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(result.explicitAcks).toHaveLength(1);
    const [logged] = await attemptsOf(hook.webhook_id);
    expect(logged).toMatchObject({ outcome: "succeeded", status_code: 200, response_excerpt: "o" });
  }, 20_000);

  it("never delay a retry past the queue's 12 hours, jitter included", async () => {
    const { retryDelaySeconds } = await import("../src/features/webhooks/delivery");
    for (let attempt = 1; attempt <= 12; attempt++) {
      expect(retryDelaySeconds(attempt, () => 0.999)).toBeLessThanOrEqual(43_200);
    }
    expect(retryDelaySeconds(1, () => 0.5)).toBe(30);
    expect(retryDelaySeconds(3, () => 0.5)).toBe(480);
  });

  it("skip a paused endpoint without calling it", async () => {
    const user = await createUser();
    const received = receiver("paused.hooks.fake.test");
    const hook = await subscribe(user, "https://paused.hooks.fake.test/hook", ["*"]);
    await callJson(`/api/v1/webhooks/${hook.webhook_id}`, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: false },
    });
    const result = await runWebhooksQueue([await deliveryMessage(completed(user.id), hook.webhook_id)]);
    expect(result.explicitAcks).toHaveLength(1);
    expect(received).toEqual([]);
    expect(await fanOut([completed(user.id)])).toEqual([]);
  });
});
