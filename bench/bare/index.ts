// The bench's yardstick (`npm run bench:all`): a bare Hono Worker on the same workerd, started the same
// way as the app. Its two routes do what the app's /health/live and /health do — answer JSON, and one
// `SELECT 1` on D1 — with no middleware, no router tree and no OpenAPI layer, so the app's figures can
// be read against the least any Hono Worker pays for the same answer.
import { Hono } from "hono";

const app = new Hono<{ Bindings: { DB: D1Database } }>();

app.get("/health/live", (c) => c.json({ status: "ok" }));

app.get("/health", async (c) => {
  const started = Date.now();
  await c.env.DB.prepare("SELECT 1").run();
  return c.json({ status: "ok", checks: { d1: { ok: true, latency_ms: Date.now() - started } } });
});

export default app;
