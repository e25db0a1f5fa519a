import { env } from "cloudflare:workers";
import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { secretsInForce } from "../src/features/webhooks/service";
import { signedHeaders } from "../src/lib/webhooks/signature";
import { call, callJson, createUser, problemOf, type TestUser } from "./helpers/api";
import { createApiToken } from "./helpers/auth";

interface WebhookDto {
  webhook_id: string;
  url: string;
  event_types: string[];
  enabled: boolean;
  disabled_reason: string | null;
  description: string | null;
  secret?: string;
}

const createWebhook = (user: TestUser, body: Record<string, unknown>) =>
  callJson<WebhookDto & { secret: string }>("/api/v1/webhooks", 201, { token: user.token, body });

describe("webhook endpoints", () => {
  it("subscribe a public https URL and show the secret once", async () => {
    const user = await createUser();
    const created = await createWebhook(user, {
      url: "https://hooks.example.com/proxy",
      event_types: ["task.completed", "step.completed"],
      description: "My automations",
    });
    expect(created).toMatchObject({
      url: "https://hooks.example.com/proxy",
      event_types: ["task.completed", "step.completed"],
      enabled: true,
      disabled_reason: null,
    });
    expect(created.secret).toMatch(/^whsec_/);
    const read = await callJson<WebhookDto>(`/api/v1/webhooks/${created.webhook_id}`, 200, {
      token: user.token,
    });
    expect(read.secret).toBeUndefined();
    const list = await callJson<WebhookDto[]>("/api/v1/webhooks", 200, { token: user.token });
    expect(list.map((w) => w.webhook_id)).toEqual([created.webhook_id]);
    expect(JSON.stringify(list)).not.toContain(created.secret);
  });

  it("take * for every event type, and refuse types the catalog does not have", async () => {
    const user = await createUser();
    const all = await createWebhook(user, {
      url: "https://hooks.example.com/all",
      event_types: ["*", "task.created"],
    });
    expect(all.event_types).toEqual(["*"]);
    const bad = await call("/api/v1/webhooks", {
      token: user.token,
      body: { url: "https://hooks.example.com/x", event_types: ["task.exploded"] },
    });
    expect(bad.status).toBe(422);
    expect((await problemOf(bad)).errors?.map((e) => e.field)).toEqual(["event_types.0"]);
  });

  it.each([
    ["http://hooks.example.com/x", "https"],
    ["https://127.0.0.1/x", "loopback"],
    ["http://127.0.0.1:3000/hook", "loopback"],
    ["https://10.0.0.1/x", "private"],
    ["https://169.254.169.254/latest/meta-data", "metadata"],
    ["https://[::1]/x", "loopback"],
    ["https://localhost/x", "localhost"],
  ])("refuse %s with a 422 that says why", async (url, why) => {
    const user = await createUser();
    const res = await call("/api/v1/webhooks", { token: user.token, body: { url, event_types: ["*"] } });
    expect(res.status).toBe(422);
    const problem = await problemOf(res);
    expect(problem.errors?.map((e) => e.field)).toEqual(["url"]);
    expect(problem.detail.toLowerCase()).toContain(why);
  });

  it("accept a receiver on this machine only where local receivers are allowed", async () => {
    const user = await createUser();
    const { callWith } = await import("./helpers/api");
    const res = await callWith({ WEBHOOKS_ALLOW_LOCAL: "true" }, "/api/v1/webhooks", {
      token: user.token,
      body: { url: "http://127.0.0.1:3000/hook", event_types: ["*"] },
    });
    expect(res.status).toBe(201);
    const still = await callWith({ WEBHOOKS_ALLOW_LOCAL: "true" }, "/api/v1/webhooks", {
      token: user.token,
      body: { url: "http://10.0.0.1/hook", event_types: ["*"] },
    });
    expect(still.status).toBe(422);
  });

  it("change, pause and re-enable, then delete with 204", async () => {
    const user = await createUser();
    const created = await createWebhook(user, { url: "https://hooks.example.com/a", event_types: ["*"] });
    const path = `/api/v1/webhooks/${created.webhook_id}`;
    const paused = await callJson<WebhookDto>(path, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: false },
    });
    expect(paused).toMatchObject({ enabled: false, disabled_reason: "Paused by its owner." });
    const moved = await callJson<WebhookDto>(path, 200, {
      token: user.token,
      method: "PATCH",
      body: { enabled: true, url: "https://other.example.com/b", event_types: ["level.up"] },
    });
    expect(moved).toMatchObject({
      enabled: true,
      disabled_reason: null,
      url: "https://other.example.com/b",
      event_types: ["level.up"],
    });
    const unsafe = await call(path, {
      token: user.token,
      method: "PATCH",
      body: { url: "https://192.168.1.1/x" },
    });
    expect(unsafe.status).toBe(422);
    expect((await call(path, { token: user.token, method: "DELETE" })).status).toBe(204);
    expect((await call(path, { token: user.token })).status).toBe(404);
  });

  it("rotate the secret: both sign for a day, so a receiver on either verifies", async () => {
    const user = await createUser();
    const created = await createWebhook(user, { url: "https://hooks.example.com/r", event_types: ["*"] });
    const rotated = await callJson<WebhookDto & { secret: string }>(
      `/api/v1/webhooks/${created.webhook_id}/rotate-secret`,
      200,
      { token: user.token, method: "POST" },
    );
    expect(rotated.secret).not.toBe(created.secret);
    const row = await env.DB.prepare(
      "SELECT secret, previous_secret AS previousSecret, previous_secret_expires_at AS previousSecretExpiresAt FROM webhooks WHERE id = ?",
    )
      .bind(created.webhook_id)
      .first<{ secret: string; previousSecret: string | null; previousSecretExpiresAt: string | null }>();
    if (!row) throw new Error("no row");
    const secrets = secretsInForce(row);
    expect(secrets).toEqual([rotated.secret, created.secret]);
    const body = JSON.stringify({ type: "webhook.test", timestamp: new Date().toISOString(), data: {} });
    const headers = await signedHeaders(secrets, "msg_rot", Math.floor(Date.now() / 1000), body);
    expect(new Webhook(rotated.secret).verify(body, headers)).toBeTruthy();
    expect(new Webhook(created.secret).verify(body, headers)).toBeTruthy();
    // A day later only the new secret signs.
    expect(secretsInForce(row, Date.now() + 25 * 3_600_000)).toEqual([rotated.secret]);
  });

  it("are capped per account, and need the webhooks scopes", async () => {
    const user = await createUser();
    for (let i = 0; i < 20; i++)
      await createWebhook(user, { url: `https://hooks.example.com/${i}`, event_types: ["*"] });
    const over = await call("/api/v1/webhooks", {
      token: user.token,
      body: { url: "https://hooks.example.com/21", event_types: ["*"] },
    });
    expect(over.status).toBe(409);
    expect((await problemOf(over)).code).toBe("too_many_webhooks");
    const reader = await createApiToken(user.token, { name: "tasks", scopes: ["tasks:read"] });
    expect((await call("/api/v1/webhooks", { token: reader.token })).status).toBe(403);
  });
});
