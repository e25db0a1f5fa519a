import {
  type CloudflareOptions,
  captureException,
  httpServerIntegration,
  instrumentDurableObjectWithSentry,
  withScope,
  withSentry,
} from "@sentry/cloudflare";
import type { Env } from "../env";
import { withoutBoundValues } from "./db-errors";

/** What the Sentry options need of the environment: a DSN (secret) turns error tracking on. */
interface SentryEnv {
  SENTRY_DSN?: string;
  SENTRY_ENVIRONMENT?: string;
  SENTRY_RELEASE?: string;
}

interface Scrubbable {
  request?: { method?: string };
  user?: unknown;
  breadcrumbs?: unknown[];
  exception?: { values?: { value?: string }[] };
}

/**
 * Events leave with no request data beyond the method: paths can be credentials (a calendar feed's
 * token, a download signature), headers hold tokens, bodies passwords. The route's template and the
 * request id travel as tags instead (`reportError`). No breadcrumbs (earlier log lines hold errors'
 * texts), and an exception's text loses the values a failed statement was bound to.
 */
export function scrubbed<E extends Scrubbable>(event: E): E {
  if (event.request) event.request = { method: event.request.method };
  delete event.user;
  delete event.breadcrumbs;
  for (const exception of event.exception?.values ?? [])
    if (exception.value) exception.value = withoutBoundValues(exception.value);
  return event;
}

// What of Sentry's defaults reads requests or the console: the request body, console lines.
const LEFT_OUT = new Set(["Console", "RequestData"]);

export function sentryOptions(env: SentryEnv): CloudflareOptions {
  return {
    dsn: env.SENTRY_DSN,
    environment: env.SENTRY_ENVIRONMENT || "production",
    release: env.SENTRY_RELEASE || undefined,
    sendDefaultPii: false,
    // Traces go to Workers' own observability (wrangler.toml); Sentry gets errors, and no trace
    // header goes out on a webhook delivery or a push.
    tracesSampleRate: 0,
    tracePropagationTargets: [],
    integrations: (defaults) =>
      defaults
        .filter((integration) => !LEFT_OUT.has(integration.name))
        .map((integration) =>
          integration.name === "HttpServer"
            ? httpServerIntegration({ maxRequestBodySize: "none" })
            : integration,
        ),
    beforeSend: (event) => scrubbed(event),
    beforeBreadcrumb: () => null,
  };
}

export const sentryEnabled = (env: SentryEnv) => Boolean(env.SENTRY_DSN);

/**
 * A Durable Object's options: its methods are wrapped too, RPC ones included (an error thrown by one
 * is reported; refusals are answered as values, and failures an object answers as 503 are logged, so
 * only the unexpected throws), and its own calls to other objects carry no trace context (propagated to
 * no binding), as nothing leaves the Worker with one.
 */
function objectOptions(env: SentryEnv): CloudflareOptions {
  return { ...sentryOptions(env), enableRpcTracePropagation: true, rpcTracePropagationBindings: [] };
}

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
      instrumented ??= instrumentDurableObjectWithSentry(objectOptions, target as never) as C;
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
