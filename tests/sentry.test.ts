import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/index";
import { objectWithSentryWhenConfigured, scrubbed } from "../src/lib/sentry";
import { routeOutbound } from "./fakes/outbound";
import { BASE, createUser } from "./helpers/api";

const DSN = "https://publickey@sentry.fake.test/42";

/** A fake Sentry ingest: every envelope the Worker sends, as text. */
function fakeSentry(): string[] {
  const envelopes: string[] = [];
  routeOutbound("sentry.fake.test", async (request) => {
    expect(new URL(request.url).pathname).toBe("/api/42/envelope/");
    envelopes.push(await request.text());
    return new Response(JSON.stringify({ id: "ok" }), { status: 200 });
  });
  return envelopes;
}

/**
 * D1 failing on every statement with an error that is no transient one: a bug, answered 500. An object
 * of its own, not a proxy of the real binding: Sentry instruments the D1 it is given in place.
 */
function failingD1(message: string): D1Database {
  const fail = () => {
    throw new Error(message);
  };
  const session = { prepare: fail, batch: () => Promise.reject(new Error(message)), getBookmark: () => null };
  return { prepare: fail, batch: session.batch, withSession: () => session } as unknown as D1Database;
}

async function send(path: string, token: string, bindings: Partial<typeof env>): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { headers: { authorization: `Bearer ${token}` } }),
    { ...env, ...bindings },
    ctx,
  );
  await res.text();
  await waitOnExecutionContext(ctx);
  return res;
}

describe("error tracking with Sentry", () => {
  it("reports an unexpected failure with its route and request id, and nothing of the request", async () => {
    const user = await createUser();
    const envelopes = fakeSentry();
    const res = await send("/api/v1/tasks?q=private-words", user.token, {
      SENTRY_DSN: DSN,
      DB: failingD1("the planner table is missing (test)"),
    });
    expect(res.status).toBe(500);
    const text = envelopes.join("\n");
    expect(text).toContain("the planner table is missing (test)");
    const event = envelopes
      .flatMap((envelope) => envelope.split("\n"))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((item) => "exception" in item) as
      | { tags: Record<string, string>; request?: Record<string, unknown>; environment: string }
      | undefined;
    expect(event?.tags.route).toBe("/api/v1/tasks");
    expect(event?.tags.request_id).toBe(res.headers.get("x-request-id"));
    expect(event?.request).toEqual({ method: "GET" });
    expect(event?.environment).toBe("production");
    for (const secret of [user.token, user.id, "private-words"]) expect(text).not.toContain(secret);
  });

  it("sends nothing and costs nothing without a DSN", async () => {
    const user = await createUser();
    const envelopes = fakeSentry();
    const res = await send("/api/v1/tasks", user.token, { DB: failingD1("no DSN here (test)") });
    expect(res.status).toBe(500);
    expect(envelopes).toEqual([]);
  });

  it("leaves the answers and their D1 costs as they were when nothing fails", async () => {
    const user = await createUser();
    fakeSentry();
    // Last in this file: Sentry instruments the binding it is given in place.
    const res = await send("/api/v1/tasks", user.token, { SENTRY_DSN: DSN });
    expect(res.status).toBe(200);
    expect(res.headers.get("server-timing")).toMatch(/d1-rows-read;desc=[1-9]/);
  });

  it("keeps only the method of a request in an event", () => {
    const event = scrubbed({
      request: { method: "POST", url: "https://api.test/api/v1/calendar/secret.ics", headers: { a: "b" } },
      user: { id: "u" },
    });
    expect(event).toEqual({ request: { method: "POST" } });
  });
});

describe("Durable Objects under Sentry", () => {
  class Probe {
    constructor(
      readonly ctx: DurableObjectState,
      readonly env: { SENTRY_DSN?: string },
    ) {}
    answer(): string {
      return "still answering";
    }
  }
  const Wrapped = objectWithSentryWhenConfigured(Probe as never) as unknown as typeof Probe;
  const ctx = { waitUntil: () => undefined } as unknown as DurableObjectState;

  it("are the objects they were without a DSN", () => {
    const plain = new Wrapped(ctx, {});
    expect(plain).toBeInstanceOf(Probe);
    expect(plain.answer()).toBe("still answering");
  });

  it("are instrumented, and still answer, with one", () => {
    const sentried = new Wrapped(ctx, { SENTRY_DSN: DSN });
    expect(sentried.answer()).toBe("still answering");
  });
});
