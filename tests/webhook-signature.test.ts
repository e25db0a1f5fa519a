import { Webhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { newWebhookSecret, signedHeaders, webhookKeyOf } from "../src/lib/webhooks/signature";

const body = JSON.stringify({
  type: "task.completed",
  timestamp: new Date().toISOString(),
  data: { task_id: "t1" },
});
const now = () => Math.floor(Date.now() / 1000);

describe("Standard Webhooks signatures", () => {
  it("verify with the standardwebhooks package, as a receiver would", async () => {
    const secret = newWebhookSecret();
    const headers = await signedHeaders([secret], "msg_1", now(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("carry one signature per secret in force, so both the old and the new secret verify during a rotation", async () => {
    const [fresh, old] = [newWebhookSecret(), newWebhookSecret()];
    const headers = await signedHeaders([fresh, old], "msg_2", now(), body);
    expect(headers["webhook-signature"].split(" ")).toHaveLength(2);
    expect(new Webhook(fresh).verify(body, headers)).toEqual(JSON.parse(body));
    expect(new Webhook(old).verify(body, headers)).toEqual(JSON.parse(body));
  });

  it("fail a receiver whose secret, body, id or time does not match", async () => {
    const secret = newWebhookSecret();
    const headers = await signedHeaders([secret], "msg_3", now(), body);
    expect(() => new Webhook(newWebhookSecret()).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(`${body} `, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "msg_4" })).toThrow();
    const stale = await signedHeaders([secret], "msg_3", now() - 3600, body);
    expect(() => new Webhook(secret).verify(body, stale)).toThrow();
  });

  it("make secrets of the documented shape, and refuse what is not one", () => {
    const secret = newWebhookSecret();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(webhookKeyOf(secret)).toHaveLength(32);
    expect(webhookKeyOf("whsec_short")).toBeNull();
    expect(webhookKeyOf("sk_live_abc")).toBeNull();
    expect(newWebhookSecret()).not.toBe(secret);
  });
});
