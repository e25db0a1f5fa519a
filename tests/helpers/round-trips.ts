import { env } from "cloudflare:workers";
import { type CallOptions, callWith } from "./api";
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
export type TestRequest = Pick<CallOptions, "method" | "body" | "token">;

/**
 * Sends one request through the Worker with counting bindings. The counts are taken when the answer is
 * complete: work the Worker leaves to `waitUntil` after it is not the person's wait, and is not counted.
 */
export async function costOf(path: string, init: TestRequest = {}): Promise<RequestCost> {
  const d1 = countingD1(env.DB);
  const objects = countingObjects({ ...env, DB: d1.db });
  let cost: RequestCost | undefined;
  await callWith({ ...objects.env }, path, {
    ...init,
    onAnswer: (res) => {
      cost = { status: res.status, d1: d1.count(), objects: [...objects.calls] };
    },
  });
  if (!cost) throw new Error("the answer was never complete");
  return cost;
}
