import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CHECK_TIMEOUT_MS, READINESS_TTL_MS } from "../src/features/health/readiness";
import worker from "../src/index";
import { BASE, call, callWith } from "./helpers/api";
import { freezeClock } from "./helpers/clock";

interface Readiness {
  status: "ok" | "degraded";
  down: string[];
  checks: Record<string, { ok: boolean; latency_ms: number; error?: string; detail?: string }>;
}

const PARTS = [
  "d1",
  "focus_timer",
  "pet_state",
  "leaderboard",
  "focus_room",
  "events_queue",
  "notifications_queue",
  "webhooks_queue",
  "learning_queue",
  "exports_queue",
  "imports_queue",
  "erasure_queue",
  "r2",
  "ai",
];

/** A Durable Object namespace whose objects cannot be reached (as when the class fails to start). */
function unreachable<N extends object>(namespace: N): N {
  return new Proxy(namespace, {
    get(target, prop) {
      if (prop === "get") {
        return () => ({
          ping: () => Promise.reject(new Error("Durable Object is overloaded")),
        });
      }
      const value: unknown = Reflect.get(target, prop);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("GET /health/ready", () => {
  it("asks every dependency and names each with its latency", async () => {
    const res = await call("/health/ready");
    expect(res.status).toBe(200);
    const body = await res.json<Readiness>();
    expect(body.status).toBe("ok");
    expect(body.down).toEqual([]);
    expect(Object.keys(body.checks).sort()).toEqual([...PARTS].sort());
    for (const [name, check] of Object.entries(body.checks)) {
      expect(check.ok, name).toBe(true);
      expect(check.latency_ms, name).toBeGreaterThanOrEqual(0);
    }
    // Optional: bound in wrangler.toml, so it says so (the local paths answer without it).
    expect(body.checks.ai?.detail).toBe("bound");
  });

  it("turns 503 and names the Durable Object class that does not answer", async () => {
    const res = await callWith({ PET_STATE: unreachable(env.PET_STATE) }, "/health/ready");
    expect(res.status).toBe(503);
    const body = await res.json<Readiness>();
    expect(body.status).toBe("degraded");
    expect(body.down).toEqual(["pet_state"]);
    // Public: how it failed, never what it said.
    expect(body.checks.pet_state?.error).toBe("error");
    expect(body.checks.focus_timer?.ok).toBe(true);
  });

  it("names a D1 that fails, an unbound queue and an R2 that does not answer", async () => {
    const brokenD1 = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "withSession") {
          return () => ({
            prepare: () => {
              throw new Error("D1_ERROR: Network connection lost.");
            },
            batch: () => Promise.reject(new Error("D1_ERROR: Network connection lost.")),
            getBookmark: () => null,
          });
        }
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const hungR2 = { head: () => new Promise(() => undefined) } as unknown as R2Bucket;
    const hungRoom = new Proxy(env.FOCUS_ROOM, {
      get(target, prop) {
        if (prop === "get") return () => ({ ping: () => new Promise(() => undefined) });
        const value: unknown = Reflect.get(target, prop);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const started = Date.now();
    const res = await callWith(
      {
        DB: brokenD1,
        WEBHOOKS_QUEUE: undefined as unknown as Queue<unknown>,
        FILES: hungR2,
        FOCUS_ROOM: hungRoom,
      },
      "/health/ready",
    );
    expect(res.status).toBe(503);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const text = await res.text();
    // D1's own words stay in the log.
    expect(text).not.toMatch(/Network connection|SELECT/);
    const body = JSON.parse(text) as Readiness;
    expect(body.down.sort()).toEqual(["d1", "focus_room", "r2", "webhooks_queue"]);
    expect(body.checks.webhooks_queue?.error).toBe("not bound");
    expect(body.checks.r2?.error).toBe("timeout");
    expect(body.checks.focus_room?.error).toBe("timeout");
    expect(body.checks.d1?.error).toBe("error");
    // Two hung dependencies are waited for side by side and given up on together.
    expect(Date.now() - started).toBeLessThan(1.5 * CHECK_TIMEOUT_MS);
  });

  it("says when Workers AI is not bound, without calling that down", async () => {
    const res = await callWith({ AI: undefined }, "/health/ready");
    expect(res.status).toBe(200);
    const body = await res.json<Readiness>();
    expect(body.checks.ai).toMatchObject({ ok: true });
    expect(body.checks.ai?.detail).toMatch(/not bound/);
  });

  it("is in the OpenAPI document with both its answers", async () => {
    const doc = await (await call("/openapi.json")).json<{
      paths: Record<string, { get?: { responses: Record<string, unknown> } }>;
    }>();
    expect(Object.keys(doc.paths["/health/ready"]?.get?.responses ?? {}).sort()).toEqual(["200", "503"]);
  });
});

describe("readiness under a flood of probes", () => {
  it("answers the probes of two seconds from one round of checks, then asks again", async () => {
    let pings = 0;
    const counted = new Proxy(env.PET_STATE, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (prop !== "get") return typeof value === "function" ? value.bind(target) : value;
        return (id: DurableObjectId) => {
          pings += 1;
          return target.get(id);
        };
      },
    });
    // One environment object for every probe, as an isolate's requests share one.
    const isolateEnv = { ...env, PET_STATE: counted };
    const probe = async () => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`${BASE}/health/ready`), isolateEnv, ctx);
      await waitOnExecutionContext(ctx);
      return res.status;
    };
    const clock = freezeClock();
    for (let i = 0; i < 4; i += 1) expect(await probe()).toBe(200);
    expect(pings).toBe(1);
    clock.tick(READINESS_TTL_MS);
    expect(await probe()).toBe(200);
    expect(pings).toBe(2);
  });
});
