import { sql } from "drizzle-orm";
import type { Database } from "../../db";
import type { Env } from "../../env";
import { loggableError } from "../../lib/db-errors";

/** One dependency's answer: whether it answered, how long it took, and why not. */
export interface Check {
  ok: boolean;
  latency_ms: number;
  error?: string;
  detail?: string;
}

/** How long a dependency may take before readiness calls it down (a hung one must not hang the probe). */
export const CHECK_TIMEOUT_MS = 3000;

// Each queue producer the Worker sends to: a producer cannot be asked without sending, so its binding
// is checked (a missing one fails every send that would go to it).
const QUEUES = [
  "EVENTS_QUEUE",
  "NOTIFICATIONS_QUEUE",
  "WEBHOOKS_QUEUE",
  "LEARNING_QUEUE",
  "EXPORTS_QUEUE",
  "IMPORTS_QUEUE",
  "ERASURE_QUEUE",
] as const satisfies readonly (keyof Env)[];

// Readiness asks one object of each class, always the same one, so no user's object is woken.
const PROBE = "health:ready";

async function timed(part: string, work: () => Promise<unknown>, now: () => number): Promise<Check> {
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new TimeoutError()), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latency_ms: now() - started };
  } catch (error) {
    // The answer is public: it says only how the part failed. The log keeps what it said, its cause
    // (where drizzle keeps D1's own text) included.
    const how = error instanceof TimeoutError ? "timeout" : error instanceof NotBound ? "not bound" : "error";
    console.error(
      JSON.stringify({
        level: "error",
        message: "readiness check failed",
        part,
        error: loggableError(error),
      }),
    );
    return { ok: false, latency_ms: now() - started, error: how };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

class TimeoutError extends Error {
  constructor() {
    super(`no answer in ${CHECK_TIMEOUT_MS} ms`);
  }
}
class NotBound extends Error {}

const present = (value: unknown, method: string) =>
  typeof value === "object" && value !== null && typeof Reflect.get(value, method) === "function";

/**
 * Every dependency checked at once: D1 (give it a session on the primary: a replica may answer while
 * the primary is down), each Durable Object class, each queue producer, R2 and AI.
 */
export async function readinessChecks(
  env: Env,
  db: Database,
  now = Date.now,
): Promise<Record<string, Check>> {
  const bound = (value: unknown, method: string) => async () => {
    if (!present(value, method)) throw new NotBound("not bound");
  };
  const parts: [string, () => Promise<unknown>][] = [
    ["d1", () => db.run(sql`SELECT 1`)],
    ["focus_timer", () => env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(PROBE)).ping()],
    ["pet_state", () => env.PET_STATE.get(env.PET_STATE.idFromName(PROBE)).ping()],
    ["leaderboard", () => env.LEADERBOARD.get(env.LEADERBOARD.idFromName(PROBE)).ping()],
    ["focus_room", () => env.FOCUS_ROOM.get(env.FOCUS_ROOM.idFromName(PROBE)).ping()],
    ...QUEUES.map((name): [string, () => Promise<unknown>] => [name.toLowerCase(), bound(env[name], "send")]),
    ["r2", () => env.FILES.head(`${PROBE}/probe`)],
  ];
  const answers = await Promise.all(parts.map(([name, work]) => timed(name, work, now)));
  const checks: Record<string, Check> = {};
  parts.forEach(([name], i) => {
    checks[name] = answers[i] as Check;
  });
  // Workers AI is optional: without it every language feature answers from its local path.
  checks.ai = present(env.AI, "run")
    ? { ok: true, latency_ms: 0, detail: "bound" }
    : {
        ok: true,
        latency_ms: 0,
        detail: "not bound: the local splitter, categoriser and insight words answer",
      };
  return checks;
}

/** How long one round of checks answers every readiness probe of an isolate. */
export const READINESS_TTL_MS = 2000;

// Per environment object (one per isolate in production): a flood of probes, or of status page loads,
// asks each dependency about once per TTL. Only a finished round is shared: a probe never waits on
// another request's checks, which that request's end could leave unsettled.
const recent = new WeakMap<Env, { at: number; checks: Record<string, Check> }>();

/** `readinessChecks`, or the answer of a round finished within `READINESS_TTL_MS`. */
export async function sharedReadinessChecks(
  env: Env,
  db: Database,
  now = Date.now,
): Promise<Record<string, Check>> {
  const last = recent.get(env);
  const at = now();
  if (last && at - last.at < READINESS_TTL_MS && at >= last.at) return last.checks;
  const checks = await readinessChecks(env, db, now);
  recent.set(env, { at: now(), checks });
  return checks;
}
