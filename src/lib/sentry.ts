import {
  type CloudflareOptions,
  captureException,
  instrumentDurableObjectWithSentry,
  withScope,
  withSentry,
} from "@sentry/cloudflare";
import type { Env } from "../env";

/** What the Sentry options need of the environment: a DSN (secret) turns error tracking on. */
interface SentryEnv {
  SENTRY_DSN?: string;
  SENTRY_ENVIRONMENT?: string;
  SENTRY_RELEASE?: string;
}

/**
 * Events leave with no request data beyond the method: paths can be credentials (a calendar feed's
 * token, a download signature), headers hold tokens, bodies passwords. The route's template and the
 * request id travel as tags instead (`reportError`).
 */
export function scrubbed<E extends { request?: { method?: string }; user?: unknown }>(event: E): E {
  if (event.request) event.request = { method: event.request.method };
  delete event.user;
  return event;
}

export function sentryOptions(env: SentryEnv): CloudflareOptions {
  return {
    dsn: env.SENTRY_DSN,
    environment: env.SENTRY_ENVIRONMENT || "production",
    release: env.SENTRY_RELEASE || undefined,
    sendDefaultPii: false,
    // Traces go to Workers' own observability (wrangler.toml); Sentry gets errors.
    tracesSampleRate: 0,
    beforeSend: (event) => scrubbed(event),
  };
}

export const sentryEnabled = (env: SentryEnv) => Boolean(env.SENTRY_DSN);

/**
 * The Worker's handlers, wrapped by Sentry only when a DSN is set: without one nothing of Sentry runs
 * on a request, so a deployment that does not use it pays nothing for it.
 */
export function withSentryWhenConfigured<H extends ExportedHandler<Env, unknown>>(handler: H): H {
  const sentried = withSentry<Env, unknown>(sentryOptions, { ...handler });
  const pick = <K extends "fetch" | "queue" | "scheduled">(name: K, env: Env) =>
    (sentryEnabled(env) ? sentried : handler)[name] as NonNullable<H[K]>;
  return {
    ...handler,
    fetch: (request, env, ctx) => pick("fetch", env)(request, env, ctx),
    queue: (batch, env, ctx) => pick("queue", env)(batch, env, ctx),
    scheduled: (controller, env, ctx) => pick("scheduled", env)(controller, env, ctx),
  } as H;
}

type ObjectClass = new (ctx: DurableObjectState, env: Env) => Rpc.DurableObjectBranded;

/** A Durable Object class whose instances Sentry instruments when their environment has a DSN. */
export function objectWithSentryWhenConfigured<C extends ObjectClass>(Class: C): C {
  let instrumented: C | undefined;
  return new Proxy(Class, {
    construct(target, args, newTarget) {
      const env = args[1] as Env;
      if (!sentryEnabled(env)) return Reflect.construct(target, args, newTarget) as object;
      instrumented ??= instrumentDurableObjectWithSentry(sentryOptions, target as never) as C;
      return Reflect.construct(instrumented, args, newTarget) as object;
    },
  });
}

/**
 * An unexpected failure a request answered with a 500: the handler turned it into an answer, so
 * Sentry's wrapper never saw it thrown. A no-op without a DSN.
 */
export function reportError(error: unknown, tags: Record<string, string>): void {
  withScope((scope) => {
    scope.setTags(tags);
    captureException(error);
  });
}
