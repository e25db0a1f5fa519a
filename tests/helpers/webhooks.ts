import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { createDatabase } from "../../src/db";
import { webhooksHandler } from "../../src/features/webhooks/event-handler";
import type { DeliveryMessage } from "../../src/features/webhooks/message";
import worker, { QUEUE_NAMES } from "../../src/index";
import { dispatchBatch } from "../../src/jobs/events-consumer";
import { reconcileWebhookDeliveries } from "../../src/jobs/webhooks-reconciler";
import type { DomainEvent } from "../../src/lib/events/catalog";
import { newEvent } from "../../src/lib/events/envelope";
import { writeEvent } from "../../src/lib/events/outbox";
import { routeOutbound } from "../fakes/outbound";
import { callJson, createUser, type TestUser } from "./api";
import { actingThroughApiToken } from "./auth";
import type { FrozenClock } from "./clock";

export interface Received {
  headers: Record<string, string>;
  body: string;
}

/** A receiver at https://<host>/… that answers each request with the next status of `statuses` (then 200). */
export function receiver(host: string, statuses: number[] = []) {
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

export async function subscribe(user: TestUser, url: string, eventTypes: string[]) {
  return callJson<{ webhook_id: string; secret: string }>("/api/v1/webhooks", 201, {
    token: user.token,
    body: { url, event_types: eventTypes },
  });
}

/** A task.completed event of the user's, written to the outbox as a producer would. */
export async function completedEvent(userId: string): Promise<DomainEvent> {
  const event = newEvent("task.completed", userId, {
    task_id: `t-${crypto.randomUUID()}`,
    title: "File the taxes",
    priority: "high",
    estimated_minutes: 30,
    actual_minutes: 25,
    is_meta_task: false,
    created_at: new Date().toISOString(),
    completed_steps: 3,
  });
  await writeEvent(createDatabase(env.DB), event).run();
  return event;
}

/** A queue that keeps what it is sent. */
export function capturingQueue() {
  const sent: DeliveryMessage[] = [];
  const queue = {
    async sendBatch(messages: Iterable<{ body: unknown }>) {
      for (const m of messages) sent.push(m.body as DeliveryMessage);
    },
  } as unknown as Queue<unknown>;
  return { sent, queue };
}

/** Runs the webhooks handler over these events as the events consumer does; answers what it enqueued. */
export async function fanOut(events: DomainEvent[]): Promise<DeliveryMessage[]> {
  const { sent, queue } = capturingQueue();
  await dispatchBatch(createDatabase(env.DB), { ...env, WEBHOOKS_QUEUE: queue }, events, [webhooksHandler]);
  return sent;
}

let deliveries = 0;

/** Runs the webhooks consumer on these messages as queue attempt `attempts`; answers acks and retry delays. */
export async function runWebhooksQueue(
  messages: readonly unknown[],
  attempts = 1,
  bindings: Partial<typeof env> = {},
) {
  deliveries += 1;
  const batch = createMessageBatch<unknown>(
    QUEUE_NAMES.webhooks,
    messages.map((body, i) => ({ id: `wh-${deliveries}-${i}`, timestamp: new Date(), attempts, body })),
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
  await worker.queue(batch, { ...env, ...bindings });
  return { ...(await getQueueResult(batch, ctx)), delays };
}

/** Runs the deliveries reconciler once at `now`; answers what it enqueued. */
export async function reconcile(now = Date.now()): Promise<DeliveryMessage[]> {
  const { sent, queue } = capturingQueue();
  await reconcileWebhookDeliveries({ ...env, WEBHOOKS_QUEUE: queue }, now);
  return sent;
}

/** Runs the reconciler at `now` until it finds nothing left to do, whatever other tests left open. */
export async function reconcileAll(now = Date.now()): Promise<DeliveryMessage[]> {
  const { sent, queue } = capturingQueue();
  for (let run = 0; run < 100; run++) {
    if ((await reconcileWebhookDeliveries({ ...env, WEBHOOKS_QUEUE: queue }, now)) === 0) break;
  }
  return sent;
}

export interface AttemptRow {
  delivery_id: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  response_excerpt: string | null;
  error: string | null;
}

export const attemptsOf = async (webhookId: string) =>
  (
    await env.DB.prepare(
      "SELECT delivery_id, attempt, outcome, status_code, response_excerpt, error FROM webhook_attempts WHERE webhook_id = ? ORDER BY attempt",
    )
      .bind(webhookId)
      .all<AttemptRow>()
  ).results;

export const deliveryRow = (id: string) =>
  env.DB.prepare(
    "SELECT id, status, seq, attempts, round_base, next_attempt_at, last_status_code, last_error FROM webhook_deliveries WHERE id = ?",
  )
    .bind(id)
    .first<{
      id: string;
      status: string;
      seq: number;
      attempts: number;
      round_base: number;
      next_attempt_at: string | null;
      last_status_code: number | null;
      last_error: string | null;
    }>();

/** A user acting through a webhooks API token, so tests may move the clock past a JWT's life. */
export async function webhooksUser(): Promise<TestUser> {
  return actingThroughApiToken(await createUser(), "webhook tests", ["webhooks:read", "webhooks:write"]);
}

/**
 * Runs a message as the queue would: each retry after the delay the consumer asked for, on the
 * frozen clock, up to `runs` deliveries. Answers the delays asked for and the last delivery's result.
 */
export async function runWithRetries(message: unknown, clock: FrozenClock, runs: number) {
  const delays: number[] = [];
  let last = await runWebhooksQueue([message], 1);
  for (let attempt = 2; attempt <= runs && last.retryMessages.length > 0; attempt++) {
    const delay = last.delays[0] ?? 0;
    delays.push(delay);
    clock.tick(delay * 1000);
    last = await runWebhooksQueue([message], attempt);
  }
  if (last.retryMessages.length > 0) delays.push(last.delays[0] ?? 0);
  return { delays, last };
}
