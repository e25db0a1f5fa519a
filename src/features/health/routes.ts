import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";

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
  .openapi(live, (c) => c.json({ status: "ok" as const }, 200));
