import { createRoute, z } from "@hono/zod-openapi";
import { createDatabase } from "../../db";
import { type AppRouteHandler, createRouter } from "../../lib/create-app";
import { openSession } from "../../middleware/database";
import { STATUS_POLICY } from "./page";
import { statusHtml } from "./service";

export const statusRoute = createRoute({
  method: "get",
  path: "/status",
  tags: ["Health"],
  summary: "The status page: each dependency's health and the last hour's latency per route (HTML)",
  description:
    "A page for people: every dependency /health/ready asks, with its state and answer time, a chart " +
    "of the busiest routes' p99 latency minute by minute over the last hour (SVG drawn by the Worker) " +
    "and a table of every route's requests, p50, p99 and server-error rate. Route templates only: no " +
    "user data. Built at most every 15 seconds; no credential needed.",
  responses: {
    200: { description: "The page", content: { "text/html": { schema: z.string() } } },
  },
});

const statusHandler: AppRouteHandler<typeof statusRoute> = async (c) => {
  const html = await statusHtml(c.env, createDatabase(openSession(c, "first-primary")));
  c.header("Content-Type", "text/html; charset=utf-8");
  c.header("Content-Security-Policy", STATUS_POLICY);
  c.header("Cache-Control", "public, max-age=15");
  return c.body(html, 200);
};

export const statusRouter = createRouter().openapi(statusRoute, statusHandler);
