import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import type { Env } from "../src/env";
import worker from "../src/index";
import { objectWithSentryWhenConfigured, scrubbed, withSentryWhenConfigured } from "../src/lib/sentry";
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
 * D1 whose every trip fails with an error that is no transient one (a bug, answered 500), below drizzle:
 * drizzle wraps it with the statement and the values bound to it. A binding of its own, not a proxy of
 * the real one: Sentry instruments the D1 it is given in place.
 */
function failingD1(message: string): D1Database {
  const fail = () => Promise.reject(new Error(message));
  const session = (constraint?: string) => {
    const real = env.DB.withSession(constraint);
    Object.assign(real, { _sendOrThrow: fail, _queryOrThrow: fail });
    return real;
  };
  return {
    prepare: (sql: string) => session().prepare(sql),
    batch: fail,
    withSession: session,
  } as unknown as D1Database;
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
    const res = await send(`/api/v1/tasks?q=${encodeURIComponent(user.email)}`, user.token, {
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
      | { tags: Record<string, string>; request?: { url?: string }; environment: string }
      | undefined;
    expect(event?.tags.route).toBe("/api/v1/tasks");
    expect(event?.tags.request_id).toBe(res.headers.get("x-request-id"));
    // Nothing of the request but its method, which is a tag.
    expect(event?.request?.url).toBeUndefined();
    expect(event?.tags.method).toBe("GET");
    expect(event?.environment).toBe("production");
    // drizzle's message carried the statement's values (the search words: an email here); none left.
    expect(text).toContain("params: [not sent]");
    for (const secret of [user.token, user.id, user.email]) expect(text).not.toContain(secret);
  });

  it("stays out of the way without a DSN: the handlers get the environment as it is", async () => {
    const seen: unknown[] = [];
    const handler = withSentryWhenConfigured({
      fetch: (_request: Request, given: Env, _ctx: ExecutionContext) => {
        seen.push(given);
        return new Response("ok");
      },
    });
    const plain = { ...env, SENTRY_DSN: undefined } as unknown as Env;
    const sentried = { ...env, SENTRY_DSN: DSN } as unknown as Env;
    fakeSentry();
    for (const given of [plain, sentried]) {
      const ctx = createExecutionContext();
      await handler.fetch?.(
        new Request(`${BASE}/`) as Request<unknown, IncomingRequestCfProperties>,
        given,
        ctx,
      );
      await waitOnExecutionContext(ctx);
    }
    // Sentry hands its handlers an instrumented copy of the environment; without a DSN nothing of it ran.
    expect(seen[0]).toBe(plain);
    expect(seen[1]).not.toBe(sentried);
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
    async fail(message = "the object's storage is corrupt (test)"): Promise<string> {
      throw new Error(message);
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

  it("report an error thrown by an RPC method, which still reaches the caller", async () => {
    const envelopes = fakeSentry();
    const sentried = new Wrapped(ctx, { SENTRY_DSN: DSN });
    await expect(sentried.fail()).rejects.toThrow("the object's storage is corrupt (test)");
    await vi.waitFor(() => expect(envelopes.join("\n")).toContain("the object's storage is corrupt (test)"), {
      timeout: 5000,
    });
    // Without a DSN nothing is sent: by the time a later failure's report arrives, none came for it.
    await expect(new Wrapped(ctx, {}).fail("failed without a DSN (test)")).rejects.toThrow("without a DSN");
    await expect(new Wrapped(ctx, { SENTRY_DSN: DSN }).fail("failed with a DSN (test)")).rejects.toThrow(
      "with a DSN",
    );
    await vi.waitFor(() => expect(envelopes.join("\n")).toContain("failed with a DSN (test)"), {
      timeout: 5000,
    });
    expect(envelopes.join("\n")).not.toContain("failed without a DSN (test)");
  });
});
