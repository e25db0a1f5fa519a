import { afterEach, vi } from "vitest";

/** A fake service outside Cloudflare, reached by host name (push services, Expo, webhook receivers). */
export type FakeHandler = (request: Request) => Promise<Response> | Response;

const routes = new Map<string, FakeHandler>();
let installed = false;

/**
 * Routes the Worker's outbound `fetch` to this fake for every request to `host` (`push.fake.test`),
 * for the rest of the test. Code under test runs in this isolate and calls the global `fetch` at call
 * time, so replacing it is the boundary: nothing inside the Worker is faked. Any other host is refused
 * (the machine has no internet; a test must say where its requests go).
 */
export function routeOutbound(host: string, handler: FakeHandler): void {
  routes.set(host, handler);
  if (installed) return;
  installed = true;
  vi.stubGlobal("fetch", async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const handler = routes.get(new URL(request.url).host);
    if (!handler) throw new TypeError(`No fake answers for ${new URL(request.url).host} in this test.`);
    return handler(request);
  });
}

afterEach(() => {
  routes.clear();
  if (installed) vi.unstubAllGlobals();
  installed = false;
});
