import { sql } from "drizzle-orm";
import type { Database } from "../../db";
import type { Env } from "../../env";
import { errorText } from "../../lib/db-errors";

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

async function timed(work: () => Promise<unknown>, now: () => number): Promise<Check> {
  const started = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      work(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
      }),
    ]);
    return { ok: true, latency_ms: now() - started };
  } catch (error) {
    // The error's name, message and cause say what failed (drizzle wraps D1's own text in the cause);
    // never a stack.
    const message = error instanceof Error ? `${error.name}: ${errorText(error).trim()}` : String(error);
    return { ok: false, latency_ms: now() - started, error: message.slice(0, 200) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const present = (value: unknown, method: string) =>
  typeof value === "object" && value !== null && typeof Reflect.get(value, method) === "function";

/** Every dependency checked at once: D1, each Durable Object class, each queue producer, R2 and AI. */
export async function readinessChecks(
  env: Env,
  db: Database,
  now = Date.now,
): Promise<Record<string, Check>> {
  const bound = (value: unknown, method: string) => async () => {
    if (!present(value, method)) throw new Error("not bound");
  };
  const entries: [string, Promise<Check>][] = [
    ["d1", timed(() => db.run(sql`SELECT 1`), now)],
    ["focus_timer", timed(() => env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(PROBE)).ping(), now)],
    ["pet_state", timed(() => env.PET_STATE.get(env.PET_STATE.idFromName(PROBE)).ping(), now)],
    ["leaderboard", timed(() => env.LEADERBOARD.get(env.LEADERBOARD.idFromName(PROBE)).ping(), now)],
    ["focus_room", timed(() => env.FOCUS_ROOM.get(env.FOCUS_ROOM.idFromName(PROBE)).ping(), now)],
    ...QUEUES.map((name): [string, Promise<Check>] => [
      name.toLowerCase(),
      timed(bound(env[name], "send"), now),
    ]),
    ["r2", timed(() => env.FILES.head(`${PROBE}/probe`), now)],
  ];
  const checks: Record<string, Check> = {};
  for (const [name, check] of entries) checks[name] = await check;
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
