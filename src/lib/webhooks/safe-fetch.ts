import { checkWebhookUrl } from "./safe-url";

/** A URL (the first or one a redirect named) that webhooks may not call; `reason` is a plain sentence. */
export class UnsafeUrlError extends Error {
  constructor(
    readonly reason: string,
    readonly url: string,
  ) {
    super(reason);
    this.name = "UnsafeUrlError";
  }
}

/** The whole chain of requests took longer than `timeoutMs`. */
export class SafeFetchTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The receiver did not answer within ${timeoutMs} ms.`);
    this.name = "SafeFetchTimeoutError";
  }
}

export type SafeFetchInit = RequestInit & {
  /** For the whole chain, until the final response's headers arrive. Default 10 s. */
  timeoutMs?: number;
  allowLocal: boolean;
  /** How many 307/308 redirects are followed; the response after the last one is returned as it is. */
  maxRedirects?: number;
  fetch?: typeof fetch;
};

export const SAFE_FETCH_DEFAULT_TIMEOUT_MS = 10_000;
export const SAFE_FETCH_DEFAULT_MAX_REDIRECTS = 3;

/** Only these are followed: they keep method and body, so the next receiver gets the same delivery. */
const FOLLOWED = new Set([307, 308]);

/** Credentials meant for the first receiver; browsers drop them too when a redirect changes origin. */
const ORIGIN_BOUND_HEADERS = ["authorization", "proxy-authorization", "cookie"];

function checked(url: string, allowLocal: boolean): URL {
  const check = checkWebhookUrl(url, { allowLocal });
  if (!check.ok) throw new UnsafeUrlError(check.reason, url);
  return check.url;
}

/** A promise that rejects when `signal` aborts, and is never reported as unhandled. */
function whenAborted(signal: AbortSignal): Promise<never> {
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => undefined);
  return aborted;
}

/**
 * Calls a webhook receiver, checking the URL and every redirect's target with checkWebhookUrl, so that no
 * hop reaches a loopback, private or metadata address. 307/308 are followed (up to `maxRedirects`) with
 * the same method and body; every other answer, 301/302/303 included, is returned to the caller.
 * Throws UnsafeUrlError for a refused hop and SafeFetchTimeoutError when the chain outlasts `timeoutMs`.
 */
export async function safeFetch(url: string, init: SafeFetchInit): Promise<Response> {
  const {
    timeoutMs = SAFE_FETCH_DEFAULT_TIMEOUT_MS,
    maxRedirects = SAFE_FETCH_DEFAULT_MAX_REDIRECTS,
    allowLocal,
    fetch: given,
    ...requestInit
  } = init;
  let current = checked(url, allowLocal);
  const doFetch = given ?? globalThis.fetch;

  // Read once through a Request so the body can be sent again after a redirect, with the content type
  // fetch would have given it.
  const first = new Request(current.href, { ...requestInit, redirect: "manual" });
  const method = first.method;
  const headers = new Headers(first.headers);
  const body = method === "GET" || method === "HEAD" ? null : await first.arrayBuffer();

  const controller = new AbortController();
  const outer = requestInit.signal;
  if (outer?.aborted) controller.abort(outer.reason);
  outer?.addEventListener("abort", () => controller.abort(outer.reason), { once: true });
  const aborted = whenAborted(controller.signal);
  // Our own timer, not only the signal: a fetch that ignores its signal must not hold us either.
  const timer = setTimeout(() => controller.abort(new SafeFetchTimeoutError(timeoutMs)), timeoutMs);
  try {
    for (let hops = 0; ; hops++) {
      const response = await Promise.race([
        doFetch(current.href, { method, headers, body, redirect: "manual", signal: controller.signal }),
        aborted,
      ]);
      const location = response.headers.get("Location");
      if (!FOLLOWED.has(response.status) || location === null || hops >= maxRedirects) return response;
      let next: URL;
      try {
        next = new URL(location, current);
      } catch {
        return response;
      }
      response.body?.cancel().catch(() => undefined);
      const target = checked(next.href, allowLocal);
      if (target.origin !== current.origin) for (const name of ORIGIN_BOUND_HEADERS) headers.delete(name);
      current = target;
    }
  } finally {
    clearTimeout(timer);
  }
}
