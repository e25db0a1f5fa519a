import { createMiddleware } from "hono/factory";
import { createDatabase } from "../db";
import { recordRequest } from "../features/metrics/recorder";
import { saveSlowQueries } from "../features/metrics/store";
import type { Principal } from "../lib/auth/principal";
import type { AppEnv } from "../lib/create-app";
import { loggableError } from "../lib/db-errors";
import { serverTiming } from "../lib/query-costs";
import { logRequest, shouldLog } from "../lib/request-log";
import { routeTemplate } from "../lib/route-template";
import { requestCosts } from "./database";

/**
 * Around every request: its costs in `Server-Timing` (total time, D1 time, statements, round trips,
 * rows read and written), a sample for the metrics, its slow statements for the slow-query log, and
 * one structured log line. What is stored or logged happens after the answer (`waitUntil`).
 */
export function observeRequests() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const started = performance.now();
    await next();
    const ms = performance.now() - started;
    const costs = requestCosts(c);
    const status = c.res.status;
    const userId = (c.get("principal") as Principal | undefined)?.userId;
    // A socket's 101 goes out as it is; some answers (a stored file's stream) come with headers fixed.
    if (status !== 101) {
      try {
        c.res.headers.append("Server-Timing", serverTiming(userId ? costs : undefined, ms));
      } catch {}
    }
    const route = routeTemplate(c);
    const method = c.req.method;
    const waitUntil = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
    recordRequest(c.env, { route, method, status, ms, costs }, waitUntil);
    const requestId = c.get("requestId");
    if (costs.slow.length > 0) {
      const at = new Date().toISOString();
      const rows = costs.slow.map((s) => ({
        at,
        route,
        method,
        sql: s.sql,
        durationMs: s.ms,
        rowsRead: s.rowsRead,
        rowsWritten: s.rowsWritten,
        requestId,
      }));
      waitUntil(
        saveSlowQueries(createDatabase(c.env.DB), rows).catch((error: unknown) =>
          console.warn(
            JSON.stringify({ level: "warn", message: "slow-query log failed", error: loggableError(error) }),
          ),
        ),
      );
    }
    const line = { requestId, method, route, status, ms, userId, costs };
    if (shouldLog(c.env.REQUEST_LOGS, line)) waitUntil(logRequest(line, c.env.JWT_SECRET));
  });
}
