import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { createDatabase } from "../../db";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { openSession } from "../../middleware/database";
import { sharedReadinessChecks } from "./readiness";

const CheckSchema = z.object({ ok: z.boolean(), latency_ms: z.number(), error: z.string().optional() });
const HealthSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    checks: z.object({ d1: CheckSchema }),
    time: z.string(),
  })
  .openapi("Health");

export const health = createRoute({
  method: "get",
  path: "/health",
  tags: ["Health"],
  summary: "Service health, with D1 reachability",
  responses: {
    200: {
      description: "Every dependency answered",
      content: { "application/json": { schema: HealthSchema } },
    },
    503: { description: "A dependency is down", content: { "application/json": { schema: HealthSchema } } },
  },
});

const ReadinessSchema = z
  .object({
    status: z.enum(["ok", "degraded"]),
    down: z.array(z.string()).openapi({ description: "The parts that did not answer (empty when ready)" }),
    checks: z.record(z.string(), CheckSchema.extend({ detail: z.string().optional() })).openapi({
      description:
        "Each dependency: d1; focus_timer, pet_state, leaderboard and focus_room (a ping of one object " +
        "of each class); each queue producer (bound); r2 (a HEAD); ai (optional: bound or not)",
    }),
    time: z.string(),
  })
  .openapi("Readiness");

export const ready = createRoute({
  method: "get",
  path: "/health/ready",
  tags: ["Health"],
  summary: "Readiness: every dependency asked, each with its latency",
  description:
    "For a load balancer or an operator: D1, one object of each Durable Object class, each queue " +
    "producer's binding, R2 and the AI binding. 503 names the parts that did not answer within 3 s; " +
    "each says only how it failed (`error`, `timeout`, `not bound`), the log says why. Probes within 2 s " +
    "of each other share one round of checks, so a flood of them asks each dependency once.",
  responses: {
    200: {
      description: "Every dependency answered",
      content: { "application/json": { schema: ReadinessSchema } },
    },
    503: {
      description: "A dependency did not answer; `down` names it",
      content: { "application/json": { schema: ReadinessSchema } },
    },
  },
});

const readyHandler: AppRouteHandler<typeof ready> = async (c) => {
  const checks = await sharedReadinessChecks(c.env, createDatabase(openSession(c, "first-primary")));
  c.header("Cache-Control", "no-store");
  const down = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name);
  const body = {
    status: down.length === 0 ? ("ok" as const) : ("degraded" as const),
    down,
    checks,
    time: new Date().toISOString(),
  };
  return down.length === 0 ? c.json(body, 200) : c.json(body, 503);
};

export const live = createRoute({
  method: "get",
  path: "/health/live",
  tags: ["Health"],
  summary: "Liveness: the Worker answers, touching no dependency",
  responses: {
    200: {
      description: "Alive",
      content: { "application/json": { schema: z.object({ status: z.literal("ok") }).openapi("Liveness") } },
    },
  },
});

const healthHandler: AppRouteHandler<typeof health> = async (c) => {
  const started = Date.now();
  let d1: z.infer<typeof CheckSchema>;
  try {
    await c.var.db.run(sql`SELECT 1`);
    d1 = { ok: true, latency_ms: Date.now() - started };
  } catch (error) {
    d1 = {
      ok: false,
      latency_ms: Date.now() - started,
      error: error instanceof Error ? error.name : "Error",
    };
  }
  const body = {
    status: d1.ok ? ("ok" as const) : ("degraded" as const),
    checks: { d1 },
    time: new Date().toISOString(),
  };
  return d1.ok ? c.json(body, 200) : c.json(body, 503);
};

export const healthRouter = createRouter()
  .openapi(health, healthHandler)
  .openapi(ready, readyHandler)
  .openapi(live, (c) => c.json({ status: "ok" as const }, 200));
