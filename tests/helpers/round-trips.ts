import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import worker from "../../src/index";
import { BASE } from "./api";
import { countingD1 } from "./counting-d1";

type Bindings = typeof env;

const isNamespace = (value: unknown): value is DurableObjectNamespace =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as { idFromName?: unknown }).idFromName === "function";

/**
 * `bindings` with every Durable Object namespace wrapped so that each call made on one of its stubs
 * (an RPC method, or `fetch`) is written down as "BINDING.method", in order.
 */
export function countingObjects(bindings: Bindings): { env: Bindings; calls: string[] } {
  const calls: string[] = [];
  const stubOf = (name: string, stub: object): object =>
    new Proxy(stub, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof prop !== "string" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          calls.push(`${name}.${prop}`);
          return Reflect.apply(value, target, args);
        };
      },
    });
  const namespaceOf = (name: string, namespace: DurableObjectNamespace): DurableObjectNamespace =>
    new Proxy(namespace, {
      get(target, prop) {
        const member: unknown = Reflect.get(target, prop);
        if (typeof member !== "function") return member;
        if (prop === "get" || prop === "getByName") {
          return (...args: unknown[]) => stubOf(name, Reflect.apply(member, target, args) as object);
        }
        return member.bind(target);
      },
    });
  const wrapped = new Proxy(bindings, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      return typeof prop === "string" && isNamespace(value) ? namespaceOf(prop, value) : value;
    },
  });
  return { env: wrapped, calls };
}

/** What one request cost before its answer was complete: D1 round trips and Durable Object calls. */
export interface RequestCost {
  status: number;
  /** D1 round trips: each statement run alone, or a whole batch. */
  d1: number;
  /** Calls on Durable Object stubs, "BINDING.method", in order. */
  objects: string[];
}

/** A request as the hot-route tests send it: JSON, with the bearer token when there is one. */
export interface TestRequest {
  method?: string;
  body?: unknown;
  token?: string;
}

/**
 * Sends one request through the Worker with `bindings`. `answered` runs once the answer is complete,
 * before the work the Worker leaves to `waitUntil`, which is then waited for.
 */
export async function sendWith<T>(
  path: string,
  init: TestRequest,
  bindings: Bindings,
  answered: (status: number) => T,
): Promise<T> {
  const ctx = createExecutionContext();
  const body = init.body === undefined ? undefined : JSON.stringify(init.body);
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, {
      method: init.method ?? (body === undefined ? "GET" : "POST"),
      headers: {
        "content-type": "application/json",
        ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      },
      body,
    }),
    bindings,
    ctx,
  );
  await res.text();
  const result = answered(res.status);
  await waitOnExecutionContext(ctx);
  return result;
}

/**
 * Sends one request through the Worker with counting bindings. The counts are taken when the answer is
 * complete: work the Worker leaves to `waitUntil` after it is not the person's wait, and is not counted.
 */
export function costOf(path: string, init: TestRequest = {}): Promise<RequestCost> {
  const d1 = countingD1(env.DB);
  const objects = countingObjects({ ...env, DB: d1.db });
  return sendWith(path, init, objects.env, (status) => ({
    status,
    d1: d1.count(),
    objects: [...objects.calls],
  }));
}
