import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { EVENT_CATALOG, EVENT_TYPES } from "../src/lib/events/catalog";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { actingThroughApiToken } from "./helpers/auth";
import { createTask } from "./helpers/tasks";
import { completedEvent, deliveryRow, fanOut, receiver, runWebhooksQueue } from "./helpers/webhooks";

interface Hook {
  id: string;
  target_url: string;
  event: string;
  created_at: string;
}

interface Sample {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** A no-code tool's connection: a personal API token with the webhooks scopes. */
const zapier = async (): Promise<TestUser> =>
  actingThroughApiToken(await createUser(), "Zapier", ["webhooks:read", "webhooks:write"]);

const subscribeHook = (user: TestUser, body: Record<string, unknown>, status = 201) =>
  callJson<Hook>("/api/v1/hooks", status, { token: user.token, body });

describe("REST hooks", () => {
  it("subscribe a target to one event, deliver it signed, and unsubscribe", async () => {
    const user = await zapier();
    const received = receiver("zap.hooks.fake.test");
    const hook = await subscribeHook(user, {
      target_url: "https://zap.hooks.fake.test/catch/1",
      event: "task.completed",
    });
    expect(hook).toMatchObject({
      target_url: "https://zap.hooks.fake.test/catch/1",
      event: "task.completed",
    });
    // It is a webhook like any other, listed with its source.
    const listed = await callJson<{ webhook_id: string; source: string; event_types: string[] }[]>(
      "/api/v1/webhooks",
      200,
      { token: user.token },
    );
    expect(listed).toEqual([
      expect.objectContaining({ webhook_id: hook.id, source: "rest_hook", event_types: ["task.completed"] }),
    ]);
    await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    expect(received).toHaveLength(1);
    const body = JSON.parse(received[0]?.body ?? "{}") as Sample;
    expect(body.type).toBe("task.completed");
    const secret = (
      await env.DB.prepare("SELECT secret FROM webhooks WHERE id = ?").bind(hook.id).first<{
        secret: string;
      }>()
    )?.secret;
    expect(
      new Webhook(secret ?? "").verify(received[0]?.body ?? "", received[0]?.headers ?? {}),
    ).toBeTruthy();

    await callJson(`/api/v1/hooks/${hook.id}`, 204, { token: user.token, method: "DELETE" });
    expect(await callJson("/api/v1/webhooks", 200, { token: user.token })).toEqual([]);
    expect((await call(`/api/v1/hooks/${hook.id}`, { token: user.token, method: "DELETE" })).status).toBe(
      404,
    );
  });

  it("answer the same hook when the same target subscribes to the same event again", async () => {
    const user = await zapier();
    const body = { target_url: "https://retry.hooks.fake.test/catch", event: "step.completed" };
    const first = await subscribeHook(user, body);
    const again = await subscribeHook(user, body);
    expect(again.id).toBe(first.id);
    const other = await subscribeHook(user, { ...body, event: "task.created" });
    expect(other.id).not.toBe(first.id);
  });

  it("unsubscribe a target that answers 410 Gone, as the REST Hooks pattern asks", async () => {
    const user = await zapier();
    receiver("off.hooks.fake.test", [410]);
    const hook = await subscribeHook(user, { target_url: "https://off.hooks.fake.test/catch", event: "*" });
    const result = await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    expect(result.explicitAcks).toHaveLength(1);
    expect(result.retryMessages).toEqual([]);
    expect(await callJson("/api/v1/webhooks", 200, { token: user.token })).toEqual([]);
    const rows = await env.DB.prepare("SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ?")
      .bind(hook.id)
      .first<{ n: number }>();
    expect(rows?.n).toBe(0);
  });

  it("an API webhook answering 410 is only a failure, retried", async () => {
    const user = await zapier();
    receiver("api410.hooks.fake.test", [410]);
    await callJson("/api/v1/webhooks", 201, {
      token: user.token,
      body: { url: "https://api410.hooks.fake.test/x", event_types: ["*"] },
    });
    const result = await runWebhooksQueue(await fanOut([await completedEvent(user.id)]));
    expect(result.retryMessages).toHaveLength(1);
    expect(await callJson<unknown[]>("/api/v1/webhooks", 200, { token: user.token })).toHaveLength(1);
  });

  it("refuse unsafe targets, unknown events, other users' hooks and tokens without the scope", async () => {
    const user = await zapier();
    const unsafe = await call("/api/v1/hooks", {
      token: user.token,
      body: { target_url: "https://169.254.169.254/latest", event: "task.completed" },
    });
    expect(unsafe.status).toBe(422);
    expect((await problemOf(unsafe)).errors?.[0]?.field).toBe("target_url");
    const unknown = await call("/api/v1/hooks", {
      token: user.token,
      body: { target_url: "https://ok.hooks.fake.test/x", event: "task.exploded" },
    });
    expect(unknown.status).toBe(422);
    const hook = await subscribeHook(user, { target_url: "https://mine.hooks.fake.test/x", event: "*" });
    const stranger = await zapier();
    expect((await call(`/api/v1/hooks/${hook.id}`, { token: stranger.token, method: "DELETE" })).status).toBe(
      404,
    );
    // A webhook made under /webhooks is not a REST hook to unsubscribe, and its log stays whole.
    const plain = await callJson<{ webhook_id: string }>("/api/v1/webhooks", 201, {
      token: user.token,
      body: { url: "https://plain.hooks.fake.test/x", event_types: ["*"] },
    });
    const pending = (await fanOut([await completedEvent(user.id)])).filter(
      (m) => m.webhook_id === plain.webhook_id,
    );
    expect(pending).toHaveLength(1);
    expect(
      (await call(`/api/v1/hooks/${plain.webhook_id}`, { token: user.token, method: "DELETE" })).status,
    ).toBe(404);
    expect(await deliveryRow(pending[0]?.delivery_id ?? "")).toMatchObject({ status: "pending" });
    const reader = await actingThroughApiToken(await createUser(), "read only", ["webhooks:read"]);
    const refused = await call("/api/v1/hooks", {
      token: reader.token,
      body: { target_url: "https://ok.hooks.fake.test/x", event: "*" },
    });
    expect(refused.status).toBe(403);
  });

  it("share the account's cap of 20 webhooks, even when created all at once", async () => {
    const user = await zapier();
    const answers = await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        call("/api/v1/hooks", {
          token: user.token,
          body: { target_url: `https://cap${i}.hooks.fake.test/x`, event: "task.completed" },
        }),
      ),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(20);
    expect(statuses.filter((s) => s === 409)).toHaveLength(5);
    expect(await callJson<unknown[]>("/api/v1/webhooks?limit=100", 200, { token: user.token })).toHaveLength(
      20,
    );
  });
});

describe("a hook that was disabled", () => {
  it("is re-enabled when the tool subscribes again", async () => {
    const user = await zapier();
    const body = { target_url: "https://back.hooks.fake.test/catch", event: "task.completed" };
    const hook = await subscribeHook(user, body);
    await env.DB.prepare(
      "UPDATE webhooks SET enabled = 0, disabled_reason = '100 deliveries in a row failed.', consecutive_failures = 100 WHERE id = ?",
    )
      .bind(hook.id)
      .run();
    expect((await subscribeHook(user, body)).id).toBe(hook.id);
    const read = await callJson(`/api/v1/webhooks/${hook.id}`, 200, { token: user.token });
    expect(read).toMatchObject({ enabled: true, disabled_reason: null });
  });
});

describe("hook samples", () => {
  it("an example valid against the catalog for every event type, before any real event", async () => {
    const user = await zapier();
    for (const type of EVENT_TYPES) {
      const samples = await callJson<Sample[]>(`/api/v1/hooks/samples/${type}`, 200, { token: user.token });
      expect(samples).toHaveLength(1);
      const [sample] = samples;
      expect(sample).toMatchObject({ id: "sample", type });
      expect(EVENT_CATALOG[type].data.safeParse(sample?.data).success, type).toBe(true);
    }
    expect((await call("/api/v1/hooks/samples/task.exploded", { token: user.token })).status).toBe(422);
  });

  it("the user's own latest events of the type, newest first, as deliveries carry them", async () => {
    const owner = await createUser();
    const first = await createTask(owner, { title: "Sample one" });
    const second = await createTask(owner, { title: "Sample two" });
    const samples = await callJson<Sample[]>("/api/v1/hooks/samples/task.created", 200, {
      token: owner.token,
    });
    expect(samples.map((s) => s.data.task_id)).toEqual([second.task_id, first.task_id]);
    expect(samples[0]).toMatchObject({ type: "task.created", data: { title: "Sample two" } });
    expect(samples[0]?.id).not.toBe("sample");
    // Another user sees only an example.
    const stranger = await zapier();
    const theirs = await callJson<Sample[]>("/api/v1/hooks/samples/task.created", 200, {
      token: stranger.token,
    });
    expect(theirs.map((s) => s.id)).toEqual(["sample"]);
  });
});
