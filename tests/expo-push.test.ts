import { describe, expect, it } from "vitest";
import {
  EXPO_MAX_PAYLOAD_BYTES,
  type ExpoMessage,
  type ExpoSendOutcome,
  fetchExpoReceipts,
  isExpoPushToken,
  retryAfterSeconds,
  sendExpoMessages,
} from "../src/lib/push/expo";
import { createFakeExpoService, type FakeExpoOptions } from "./fakes/expo-service";
import { routeOutbound } from "./fakes/outbound";

const HOST = "expo.fake.test";
const token = (i: number) => `ExponentPushToken[device-${i}]`;
const messagesTo = (count: number, from = 0): ExpoMessage[] =>
  Array.from({ length: count }, (_, i) => ({
    to: token(from + i),
    title: "Time to focus",
    body: `Task ${from + i} is waiting`,
    data: { task_id: `task-${from + i}` },
  }));

function routedFake(options: FakeExpoOptions = {}) {
  const fake = createFakeExpoService(HOST, options);
  routeOutbound(HOST, fake.handle);
  return fake;
}

function ticketIdsOf(outcomes: ExpoSendOutcome[]): string[] {
  return outcomes.map((outcome) => {
    if (outcome.kind !== "ticket") throw new Error(`expected a ticket, got ${JSON.stringify(outcome)}`);
    return outcome.ticketId;
  });
}

/** A fetch that answers every request with `body` and counts them. */
function answering(body: unknown, init: ResponseInit = {}) {
  const seen = { requests: 0 };
  const fetch: typeof globalThis.fetch = async () => {
    seen.requests += 1;
    return Response.json(body, init);
  };
  return { fetch, seen };
}

const sizesOf = (counts: number[]) => [...counts].sort((a, b) => b - a);

describe("Expo push tokens", () => {
  it("accepts both spellings Expo issues", () => {
    expect(isExpoPushToken("ExponentPushToken[xxxxxxxxxxxxxxxxxxxxxx]")).toBe(true);
    expect(isExpoPushToken("ExpoPushToken[aB3-dE_9fGh]")).toBe(true);
  });

  it("refuses anything else", () => {
    for (const bad of [
      "",
      "ExponentPushToken[]",
      "ExponentPushToken[abc",
      "ExponentPushToken[abc]x",
      " ExponentPushToken[abc]",
      "ExponentPushToken[a b]",
      "ExponentPushToken[[abc]]",
      "exponentpushtoken[abc]",
      "fcm:APA91bHun4MxP5egoKMwt2KZFBaFUH",
      `ExponentPushToken[${"a".repeat(200)}]`,
    ]) {
      expect(isExpoPushToken(bad), bad).toBe(false);
    }
  });
});

describe("sending", () => {
  it("sends 250 messages as three requests of at most 100 and answers a ticket per message, in order", async () => {
    const fake = routedFake();
    const messages = messagesTo(250);

    const outcomes = await sendExpoMessages(messages, { baseUrl: fake.baseUrl });

    expect(fake.requests).toBe(3);
    expect(sizesOf(fake.calls.map((c) => c.count))).toEqual([100, 100, 50]);
    const ids = ticketIdsOf(outcomes);
    expect(new Set(ids).size).toBe(250);
    // Each ticket is the one Expo issued for that very message's token.
    ids.forEach((id, i) => {
      expect(fake.ticketTo.get(id)).toBe(messages[i]!.to);
    });
    expect(fake.sent.find((m) => m.to === token(137))).toEqual(messages[137]);
    // Large bodies travel gzipped, and the fake reads them as Expo does.
    expect(fake.calls.every((c) => c.gzip)).toBe(true);
  });

  it("sends a small request as plain JSON and asks nothing of an empty list", async () => {
    const fake = routedFake();
    expect(await sendExpoMessages([], { baseUrl: fake.baseUrl })).toEqual([]);
    expect(fake.requests).toBe(0);

    const [outcome] = await sendExpoMessages(messagesTo(1), { baseUrl: `${fake.baseUrl}/` });
    expect(outcome?.kind).toBe("ticket");
    expect(fake.calls).toEqual([{ endpoint: "send", count: 1, gzip: false, authorization: null }]);
  });

  it("reports DeviceNotRegistered from the ticket and keeps the other messages", async () => {
    const fake = routedFake();
    fake.unregister(token(1));

    const outcomes = await sendExpoMessages(messagesTo(3), { baseUrl: fake.baseUrl });

    expect(outcomes[0]?.kind).toBe("ticket");
    expect(outcomes[1]).toEqual({
      kind: "device_not_registered",
      detail: `"${token(1)}" is not a registered push notification recipient`,
    });
    expect(outcomes[2]?.kind).toBe("ticket");
    expect(fake.sent.map((m) => m.to)).toEqual([token(0), token(2)]);
  });

  it("refuses a malformed token without sending it", async () => {
    const fake = routedFake();
    const messages = [...messagesTo(1), { to: "not-a-token", body: "hi" }, ...messagesTo(1, 1)];

    const outcomes = await sendExpoMessages(messages, { baseUrl: fake.baseUrl });

    expect(outcomes.map((o) => o.kind)).toEqual(["ticket", "device_not_registered", "ticket"]);
    expect(fake.calls.map((c) => c.count)).toEqual([2]);
    expect(fake.sent.map((m) => m.to)).toEqual([token(0), token(1)]);
  });

  it("refuses a payload over 4 KB itself, and reports Expo's MessageTooBig for one just under it", async () => {
    const fake = routedFake();
    const tooBig = { to: token(1), data: { blob: "a".repeat(EXPO_MAX_PAYLOAD_BYTES) } };
    // Under the limit as text and data, over it once Expo wraps it for Apple.
    const barelyFits = { to: token(2), data: { blob: "b".repeat(EXPO_MAX_PAYLOAD_BYTES - 60) } };

    const [local] = await sendExpoMessages([tooBig], { baseUrl: fake.baseUrl });
    expect(local).toMatchObject({ kind: "error", code: "MessageTooBig" });
    expect(fake.requests).toBe(0);

    const [remote] = await sendExpoMessages([barelyFits], { baseUrl: fake.baseUrl });
    expect(remote).toMatchObject({
      kind: "error",
      code: "MessageTooBig",
      detail: expect.stringContaining("4096"),
    });
    expect(fake.requests).toBe(1);
    expect(fake.sent).toEqual([]);
  });

  it("sends the access token when one is configured, and fails every message without it", async () => {
    const fake = routedFake({ accessToken: "expo-access-token" });

    const accepted = await sendExpoMessages(messagesTo(2), {
      baseUrl: fake.baseUrl,
      accessToken: "expo-access-token",
    });
    expect(accepted.map((o) => o.kind)).toEqual(["ticket", "ticket"]);
    expect(fake.calls[0]?.authorization).toBe("Bearer expo-access-token");

    const refused = await sendExpoMessages(messagesTo(2), { baseUrl: fake.baseUrl });
    expect(refused).toEqual([
      { kind: "error", code: "UNAUTHORIZED", detail: expect.stringContaining("access token") },
      { kind: "error", code: "UNAUTHORIZED", detail: expect.stringContaining("access token") },
    ]);
    expect(fake.sent).toHaveLength(2);
  });
});

describe("sending when Expo fails", () => {
  it("answers 429 with its Retry-After, and 503 without one, as retry for every message", async () => {
    const fake = routedFake();
    fake.failNext(429, 1, { retryAfterSeconds: 30 });
    const limited = await sendExpoMessages(messagesTo(3), { baseUrl: fake.baseUrl });
    expect(limited).toEqual(
      Array(3).fill({
        kind: "retry",
        retryAfterSeconds: 30,
        detail: expect.stringContaining("TOO_MANY_REQUESTS"),
      }),
    );

    fake.failNext(503);
    const down = await sendExpoMessages(messagesTo(3), { baseUrl: fake.baseUrl });
    expect(down.map((o) => o.kind === "retry" && o.retryAfterSeconds)).toEqual([null, null, null]);
    expect(down.every((o) => o.kind === "retry")).toBe(true);
    expect(fake.sent).toEqual([]);
  });

  it("gives up on a hanging chunk after its timeout while the other chunks get their tickets", async () => {
    const fake = routedFake();
    fake.failNext("hang");
    const started = Date.now();

    const outcomes = await sendExpoMessages(messagesTo(250), { baseUrl: fake.baseUrl, timeoutMs: 200 });

    expect(Date.now() - started).toBeLessThan(2000);
    expect(outcomes.slice(0, 100)).toEqual(
      Array(100).fill({
        kind: "retry",
        retryAfterSeconds: null,
        detail: "Expo did not answer within 200 ms.",
      }),
    );
    expect(ticketIdsOf(outcomes.slice(100))).toHaveLength(150);
    expect(fake.sent).toHaveLength(150);
  });

  it("treats an answer with the wrong number of tickets as not sent", async () => {
    const { fetch } = answering({ data: [{ status: "ok", id: "only-one" }] });
    const outcomes = await sendExpoMessages(messagesTo(2), { baseUrl: "https://expo.example", fetch });
    expect(outcomes).toEqual(
      Array(2).fill({
        kind: "retry",
        retryAfterSeconds: null,
        detail: "Expo answered 1 tickets for 2 messages.",
      }),
    );
  });

  it("fails the whole chunk on a request-level error, retrying only when Expo says too many requests", async () => {
    const mixed = answering(
      { errors: [{ code: "PUSH_TOO_MANY_EXPERIENCE_IDS", message: "Two projects in one request." }] },
      { status: 400 },
    );
    const refused = await sendExpoMessages(messagesTo(2), {
      baseUrl: "https://expo.example",
      fetch: mixed.fetch,
    });
    expect(refused).toEqual(
      Array(2).fill({
        kind: "error",
        code: "PUSH_TOO_MANY_EXPERIENCE_IDS",
        detail: "Two projects in one request. (PUSH_TOO_MANY_EXPERIENCE_IDS)",
      }),
    );

    // Documented as only sent with a failure, but a 200 carrying `errors` is no success either.
    const busy = answering({ errors: [{ code: "TOO_MANY_REQUESTS", message: "Slow down." }] });
    const [outcome] = await sendExpoMessages(messagesTo(1), {
      baseUrl: "https://expo.example",
      fetch: busy.fetch,
    });
    expect(outcome).toEqual({
      kind: "retry",
      retryAfterSeconds: null,
      detail: "Slow down. (TOO_MANY_REQUESTS)",
    });
  });

  it("reads each error ticket: rate exceeded is retried, bad credentials are not", async () => {
    const { fetch } = answering({
      data: [
        { status: "error", message: "Too many to this device.", details: { error: "MessageRateExceeded" } },
        { status: "error", message: "The APNs key was revoked.", details: { error: "InvalidCredentials" } },
        { status: "error", message: "FCM sender mismatch.", details: { error: "MismatchSenderId" } },
        { status: "weird" },
      ],
    });
    const outcomes = await sendExpoMessages(messagesTo(4), { baseUrl: "https://expo.example", fetch });
    expect(outcomes).toEqual([
      { kind: "retry", retryAfterSeconds: null, detail: "Too many to this device." },
      { kind: "error", code: "InvalidCredentials", detail: "The APNs key was revoked." },
      { kind: "error", code: "MismatchSenderId", detail: "FCM sender mismatch." },
      { kind: "error", code: "UnreadableAnswer", detail: expect.any(String) },
    ]);
  });

  it("answers retry when Expo cannot be reached or answers something unreadable", async () => {
    const unreachable: typeof fetch = async () => {
      throw new TypeError("Network connection lost.");
    };
    const [lost] = await sendExpoMessages(messagesTo(1), {
      baseUrl: "https://expo.example",
      fetch: unreachable,
    });
    expect(lost).toEqual({
      kind: "retry",
      retryAfterSeconds: null,
      detail: "Expo could not be reached: Network connection lost.",
    });

    const garbled: typeof fetch = async () => new Response("<html>oops</html>", { status: 200 });
    const [unreadable] = await sendExpoMessages(messagesTo(1), {
      baseUrl: "https://expo.example",
      fetch: garbled,
    });
    expect(unreadable?.kind).toBe("retry");
  });
});

describe("receipts", () => {
  it("answers ok, or DeviceNotRegistered when Apple or Google said so after the ticket", async () => {
    const fake = routedFake();
    fake.unregisterLater(token(1));
    const ids = ticketIdsOf(await sendExpoMessages(messagesTo(3), { baseUrl: fake.baseUrl }));

    const receipts = await fetchExpoReceipts(ids, { baseUrl: fake.baseUrl });

    expect(receipts.get(ids[0]!)).toEqual({ kind: "ok" });
    expect(receipts.get(ids[1]!)).toEqual({
      kind: "device_not_registered",
      detail: `"${token(1)}" is not a registered push notification recipient`,
    });
    expect(receipts.get(ids[2]!)).toEqual({ kind: "ok" });
  });

  it("answers pending while Expo has no receipt yet", async () => {
    const fake = routedFake();
    const ids = ticketIdsOf(await sendExpoMessages(messagesTo(2), { baseUrl: fake.baseUrl }));
    fake.receiptsReady = false;

    const early = await fetchExpoReceipts([...ids, "never-issued"], { baseUrl: fake.baseUrl });
    expect([...early.values()]).toEqual([{ kind: "pending" }, { kind: "pending" }, { kind: "pending" }]);

    fake.receiptsReady = true;
    const later = await fetchExpoReceipts(ids, { baseUrl: fake.baseUrl });
    expect([...later.values()]).toEqual([{ kind: "ok" }, { kind: "ok" }]);
  });

  it("asks for 1,500 receipts in two requests of at most 1,000", async () => {
    const fake = routedFake();
    const ids = ticketIdsOf(await sendExpoMessages(messagesTo(1500), { baseUrl: fake.baseUrl }));
    const sends = fake.calls.length;

    // A repeated id is asked for once.
    const receipts = await fetchExpoReceipts([...ids, ids[0]!], { baseUrl: fake.baseUrl });

    const receiptCalls = fake.calls.slice(sends);
    expect(receiptCalls.every((c) => c.endpoint === "getReceipts")).toBe(true);
    expect(sizesOf(receiptCalls.map((c) => c.count))).toEqual([1000, 500]);
    expect(receipts.size).toBe(1500);
    expect([...receipts.values()].every((r) => r.kind === "ok")).toBe(true);
  });

  it("answers retry for every id when the request fails, whatever the reason", async () => {
    const fake = routedFake({ accessToken: "expo-access-token" });
    const options = { baseUrl: fake.baseUrl, accessToken: "expo-access-token" };
    const ids = ticketIdsOf(await sendExpoMessages(messagesTo(2), options));

    fake.failNext(503, 1, { retryAfterSeconds: 5 });
    const down = await fetchExpoReceipts(ids, options);
    expect([...down.values()]).toEqual(
      Array(2).fill({
        kind: "retry",
        retryAfterSeconds: 5,
        detail: expect.stringContaining("INTERNAL_SERVER_ERROR"),
      }),
    );

    // Without the token the request is refused, but the notifications may still have been delivered.
    const unauthorized = await fetchExpoReceipts(ids, { baseUrl: fake.baseUrl });
    expect([...unauthorized.values()].map((r) => r.kind)).toEqual(["retry", "retry"]);

    const fine = await fetchExpoReceipts(ids, options);
    expect([...fine.values()]).toEqual([{ kind: "ok" }, { kind: "ok" }]);
  });

  it("reads error receipts by their code, and an answer in the wrong shape as retry", async () => {
    const { fetch } = answering({
      data: {
        a: { status: "error", message: "Dropped: rate exceeded.", details: { error: "MessageRateExceeded" } },
        b: { status: "error", message: "Payload too large.", details: { error: "MessageTooBig" } },
        c: { status: "ok" },
      },
    });
    const receipts = await fetchExpoReceipts(["a", "b", "c", "constructor"], {
      baseUrl: "https://expo.example",
      fetch,
    });
    expect(Object.fromEntries(receipts)).toEqual({
      a: { kind: "error", code: "MessageRateExceeded", detail: "Dropped: rate exceeded." },
      b: { kind: "error", code: "MessageTooBig", detail: "Payload too large." },
      c: { kind: "ok" },
      // An id that happens to name an object property is still just an id Expo left out.
      constructor: { kind: "pending" },
    });

    const list = answering({ data: [] });
    const odd = await fetchExpoReceipts(["a"], { baseUrl: "https://expo.example", fetch: list.fetch });
    expect(odd.get("a")?.kind).toBe("retry");
  });
});

describe("Retry-After", () => {
  it("reads seconds and HTTP dates, and ignores anything else", () => {
    const now = Date.now();
    expect(retryAfterSeconds("120", now)).toBe(120);
    expect(retryAfterSeconds(new Date(now + 90_000).toUTCString(), now)).toBe(90);
    expect(retryAfterSeconds(new Date(now - 90_000).toUTCString(), now)).toBe(0);
    expect(retryAfterSeconds("soon", now)).toBeNull();
    expect(retryAfterSeconds(null, now)).toBeNull();
  });
});

describe("the fake Expo service keeps Expo's rules", () => {
  const post = (fake: ReturnType<typeof createFakeExpoService>, name: string, body: unknown) =>
    fake.handle(new Request(`${fake.baseUrl}/${name}`, { method: "POST", body: JSON.stringify(body) }));

  it("answers an error ticket for a malformed token, and a lone ticket for a lone message", async () => {
    const fake = createFakeExpoService();
    const list = await post(fake, "send", [{ to: "not-a-token" }, { to: token(1) }]);
    const { data } = (await list.json()) as { data: unknown[] };
    expect(data[0]).toEqual({
      status: "error",
      message: '"not-a-token" is not a registered push notification recipient',
      details: { error: "DeviceNotRegistered", expoPushToken: "not-a-token" },
    });
    expect(data[1]).toEqual({ status: "ok", id: expect.any(String) });

    const lone = await post(fake, "send", { to: token(2), body: "hi" });
    expect(await lone.json()).toEqual({ data: { status: "ok", id: expect.any(String) } });
  });

  it("refuses more than 100 recipients and more than 1,000 receipt ids with a request-level error", async () => {
    const fake = createFakeExpoService();
    const tooMany = await post(fake, "send", [{ to: messagesTo(101).map((m) => m.to) }]);
    expect(tooMany.status).toBe(400);
    expect(await tooMany.json()).toEqual({
      errors: [{ code: "PUSH_TOO_MANY_NOTIFICATIONS", message: expect.any(String) }],
    });

    const tooManyIds = await post(fake, "getReceipts", {
      ids: Array.from({ length: 1001 }, (_, i) => `id-${i}`),
    });
    expect(tooManyIds.status).toBe(400);
    expect(await tooManyIds.json()).toEqual({
      errors: [{ code: "PUSH_TOO_MANY_RECEIPTS", message: expect.any(String) }],
    });
    expect(fake.sent).toEqual([]);
  });
});
