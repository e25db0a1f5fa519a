import { ApiError } from "./errors";

/**
 * Failures of D1 or a Durable Object that say nothing about the request: the connection dropped, the
 * object was reset or is overloaded. Cloudflare's D1 docs name the first three as retryable; Durable
 * Object errors also carry `retryable` and `overloaded` flags.
 */
const TRANSIENT_MESSAGES = [
  "network connection lost",
  "storage caused object to be reset",
  "reset because its code was updated",
  "is overloaded",
  "internal error in durable object storage",
];

/** Seconds a client should wait before trying again after a transient failure. */
export const TRANSIENT_RETRY_AFTER_SECONDS = 1;
export const OVERLOADED_RETRY_AFTER_SECONDS = 5;

interface RuntimeErrorFlags {
  retryable?: boolean;
  overloaded?: boolean;
}

const flagsOf = (error: unknown): RuntimeErrorFlags =>
  typeof error === "object" && error !== null ? (error as RuntimeErrorFlags) : {};

/** The error and the errors it wraps (drizzle wraps D1's as the `cause` of "Failed query"). */
function* causes(error: unknown): Generator<unknown> {
  for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; depth += 1) {
    yield e;
    e = e instanceof Error ? e.cause : undefined;
  }
}

const messageOf = (error: unknown) => String(error instanceof Error ? error.message : error).toLowerCase();

/** True when `error` is a passing fault of D1 or a Durable Object, not a fault of the request. */
export function isTransient(error: unknown): boolean {
  for (const e of causes(error)) {
    const flags = flagsOf(e);
    if (flags.retryable === true || flags.overloaded === true) return true;
    if (TRANSIENT_MESSAGES.some((m) => messageOf(e).includes(m))) return true;
  }
  return false;
}

/** An overloaded object is not helped by an immediate retry: it needs the load to fall. */
function isOverloaded(error: unknown): boolean {
  for (const e of causes(error)) {
    if (flagsOf(e).overloaded === true || messageOf(e).includes("is overloaded")) return true;
  }
  return false;
}

/** Runs `attempt`, and once more when it fails transiently (for operations that are safe to repeat). */
export async function retryOnce<T>(attempt: () => Promise<T>): Promise<T> {
  try {
    return await attempt();
  } catch (error) {
    if (!isTransient(error) || isOverloaded(error)) throw error;
    return attempt();
  }
}

/** The 503 a transient failure becomes once it could not (or must not) be retried. */
export function unavailable(error: unknown): ApiError {
  const seconds = isOverloaded(error) ? OVERLOADED_RETRY_AFTER_SECONDS : TRANSIENT_RETRY_AFTER_SECONDS;
  return new ApiError(
    503,
    "temporarily_unavailable",
    `The service is briefly unavailable; try again in ${seconds} second${seconds === 1 ? "" : "s"}.`,
    { headers: { "Retry-After": String(seconds) } },
  );
}

/**
 * A Durable Object stub whose idempotent methods (reads, and writes safe to repeat such as upserts or
 * calls carrying an idempotency key) are tried once more after a transient failure.
 */
export function retryingStub<T extends object>(
  stub: T,
  isIdempotent: (method: string, args: readonly unknown[]) => boolean,
): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof prop !== "string" || typeof value !== "function") return value;
      return (...args: unknown[]) => {
        const call = () => Reflect.apply(value, target, args) as Promise<unknown>;
        return isIdempotent(prop, args) ? retryOnce(call) : call();
      };
    },
  });
}
