import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { meteredD1 } from "../../src/lib/statement-meter";
import { BASE } from "./api";

/**
 * A login's request looks its account up (a deleted account's token is refused at once): one more
 * statement on D1 routes, sent beside the route's own round trips — D1 work, not a wait. The routes a
 * live object answers alone (pets, focus) make none: the object refuses a deleted account itself.
 */
export const LOOKUP = 1;

/**
 * Wraps a D1 binding and counts round trips: each statement execution (first/all/run/raw) and each
 * batch is one trip to the database, whatever it is for — a login's account lookup too. It also
 * counts statements (a batch's each), the figure D1's per-invocation limit applies to.
 */
export function countingD1(db: D1Database): {
  db: D1Database;
  count: () => number;
  statements: () => number;
} {
  // The cron's own meter (lib/statement-meter.ts), with no share: the same counting in tests and jobs.
  const { db: counted, meter } = meteredD1(db, Number.POSITIVE_INFINITY);
  return { db: counted, count: meter.trips, statements: meter.spent };
}

/**
 * Sends one request through the Worker with a D1 binding that counts round trips; the count is taken
 * when the answer is complete, before the work the Worker does after it.
 */
export async function tripsFor(
  path: string,
  init: RequestInit & { token?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; trips: number }> {
  const counter = countingD1(env.DB);
  const ctx = createExecutionContext();
  const { token, headers, ...rest } = init;
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      ...rest,
      headers: {
        "content-type": "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...headers,
      },
    }),
    { ...env, DB: counter.db },
    ctx,
  );
  await res.text();
  const trips = counter.count();
  await waitOnExecutionContext(ctx);
  return { status: res.status, trips };
}
