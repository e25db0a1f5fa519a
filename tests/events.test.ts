import { createExecutionContext, createScheduledController, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { createDatabase } from "../src/db";
import { createTask as createTaskRow } from "../src/features/tasks/service";
import worker from "../src/index";
import { DEFAULT_HANDLERS } from "../src/jobs/event-handlers";
import { consumeEvents, retryDelaySeconds } from "../src/jobs/events-consumer";
import type { Envelope } from "../src/lib/events/catalog";
import { statementHandler } from "../src/lib/events/handler";
import { createUser } from "./helpers/api";
import { deliver, eventsOf, runEventsQueue } from "./helpers/outbox";
import { completeStep, createTask } from "./helpers/tasks";

async function outboxFor(userId: string) {
  const rows = await env.DB.prepare("SELECT * FROM events WHERE user_id = ? ORDER BY id").bind(userId).all<{
    id: string;
    type: string;
    data: string;
    occurred_at: string;
    delivered_at: string | null;
    send_attempts: number;
  }>();
  return rows.results;
}

/** The user's totals across their rollups' day rows (what analytics keeps of every event). */
const statsOf = (userId: string) =>
  env.DB.prepare(
    `SELECT sum(tasks_created) AS tasks_created, sum(steps_completed) AS steps_completed
     FROM analytics_rollups WHERE user_id = ? AND dim = 'all'`,
  )
    .bind(userId)
    .first<{
      tasks_created: number | null;
      steps_completed: number | null;
    }>();

describe("outbox and event bus", () => {
  it("writes nothing — no task, no steps, no event — when one statement of the batch fails", async () => {
    const user = await createUser();
    const db = createDatabase(env.DB);
    // Bypasses request validation so the database's own CHECK (1–10 minutes) fails mid-batch.
    await expect(
      createTaskRow(db, user.id, {
        title: "Half-written",
        micro_steps: [{ description: "ok" }, { description: "bad", estimated_minutes: 30 }],
      }),
    ).rejects.toThrow();
    const tasks = await env.DB.prepare("SELECT count(*) AS n FROM tasks WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    const steps = await env.DB.prepare("SELECT count(*) AS n FROM micro_steps WHERE user_id = ?")
      .bind(user.id)
      .first<{ n: number }>();
    expect(tasks?.n).toBe(0);
    expect(steps?.n).toBe(0);
    expect(await outboxFor(user.id)).toEqual([]);
  });

  it("handles a redelivered event once: one effect, one receipt, acked both times", async () => {
    const user = await createUser();
    await createTask(user, { title: "Counted once" });
    const [event] = await eventsOf(user.id);
    if (!event) throw new Error("no task.created event");
    const first = await deliver([event]);
    const second = await deliver([event, event]);
    expect(first.explicitAcks).toHaveLength(1);
    expect(second.explicitAcks).toHaveLength(2);
    expect((await statsOf(user.id))?.tasks_created).toBe(1);
    const receipts = await env.DB.prepare("SELECT count(*) AS n FROM event_receipts WHERE event_id = ?")
      .bind(event.id)
      .first<{ n: number }>();
    expect(receipts?.n).toBe(1);
    expect((await outboxFor(user.id))[0]?.delivered_at).toBeTruthy();
  });

  it("acks and drops a malformed message instead of retrying it forever", async () => {
    const result = await runEventsQueue([{ id: "junk", body: { nope: true } }]);
    expect(result.explicitAcks).toEqual(["junk"]);
  });

  it("retries a message whose handler fails, with backoff", async () => {
    // A real account: events of accounts that do not exist (deleted ones) are dropped, not retried.
    const user = await createUser();
    const event: Envelope<"task.created"> = {
      id: "evt-broken",
      type: "task.created",
      version: 1,
      user_id: user.id,
      occurred_at: new Date().toISOString(),
      data: { task_id: "t", title: "Broken", priority: "medium", task_source: "user", step_count: 0 },
    };
    const spy = vi.spyOn(env.DB, "batch").mockRejectedValue(new Error("D1 is down"));
    const result = await deliver([event]);
    spy.mockRestore();
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["msg-evt-broken-0"]);
    expect(result.explicitAcks).toEqual([]);
  });

  it("acks the good events of a delivery and retries only the one whose handler fails", async () => {
    const user = await createUser();
    await createTask(user, { title: "Good one" });
    const [good] = await eventsOf(user.id);
    if (!good) throw new Error("no task.created event");
    const bad: Envelope<"pet.fed"> = {
      ...good,
      id: "evt-poison",
      type: "pet.fed",
      data: { pet_id: "p", xp: 1 },
    };
    const failing = statementHandler("fails-on-poison", ["pet.fed"], () => {
      throw new Error("cannot handle poison");
    });
    const result = await runEventsQueue(
      [
        { id: "m-good", body: good },
        { id: "m-bad", body: bad },
      ],
      (batch) => consumeEvents(batch, env, [...DEFAULT_HANDLERS, failing]),
    );
    expect(result.explicitAcks).toEqual(["m-good"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-bad"]);
    expect((await statsOf(user.id))?.tasks_created).toBe(1);
  });

  it("backs off exponentially between retries, up to five minutes", () => {
    expect([1, 2, 3, 10].map(retryDelaySeconds)).toEqual([10, 20, 40, 300]);
  });

  it("delivers events from real requests through the queue", async () => {
    const user = await createUser();
    const task = await createTask(user, { title: "Live", micro_steps: [{ description: "one" }] });
    await completeStep(user, task.task_id, task.micro_steps?.[0]?.step_id);
    await vi.waitFor(
      async () => {
        const stats = await statsOf(user.id);
        expect(stats).toMatchObject({ tasks_created: 1, steps_completed: 1 });
      },
      { timeout: 10_000, interval: 100 },
    );
  });

  it("re-sends outbox rows that were never acknowledged, once per window", async () => {
    const user = await createUser();
    await createTask(user, { title: "Lost in transit" });
    const [row] = await outboxFor(user.id);
    const tenMinutesAgo = new Date(Date.now() - 10 * 60_000).toISOString();
    await env.DB.prepare("UPDATE events SET occurred_at = ?, delivered_at = NULL WHERE id = ?")
      .bind(tenMinutesAgo, row!.id)
      .run();
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const [after] = await outboxFor(user.id);
    expect(after?.send_attempts).toBe(1);
    const ctx2 = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx2);
    await waitOnExecutionContext(ctx2);
    expect((await outboxFor(user.id))[0]?.send_attempts).toBe(1);
  });
});

describe("housekeeping cron", () => {
  it("forgets idempotent answers after a day, and lapsed login counters, but keeps fresh ones", async () => {
    const user = await createUser();
    await createTask(user, { title: "Old key" });
    const old = new Date(Date.now() - 25 * 3_600_000).toISOString();
    await env.DB.batch([
      env.DB.prepare(
        "INSERT INTO idempotency_keys (user_id, key, request_hash, status, response_body, created_at) VALUES (?, 'old', 'h', 201, '{}', ?), (?, 'new', 'h', 201, '{}', ?)",
      ).bind(user.id, old, user.id, new Date().toISOString()),
      env.DB.prepare(
        "INSERT INTO login_throttles (key, failures, window_started_at, locked_until) VALUES ('account:lapsed@x', 5, ?, ?), ('account:locked@x', 5, ?, ?)",
      ).bind(Date.now() - 3_600_000, Date.now() - 60_000, Date.now() - 3_600_000, Date.now() + 600_000),
    ]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: "*/5 * * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);
    const keys = await env.DB.prepare("SELECT key FROM idempotency_keys WHERE user_id = ?")
      .bind(user.id)
      .all<{ key: string }>();
    expect(keys.results.map((k) => k.key)).toEqual(["new"]);
    const throttles = await env.DB.prepare(
      "SELECT key FROM login_throttles WHERE key LIKE 'account:%@x'",
    ).all<{ key: string }>();
    expect(throttles.results.map((t) => t.key)).toEqual(["account:locked@x"]);
  });
});
