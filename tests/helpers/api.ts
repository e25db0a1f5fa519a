import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { expect } from "vitest";
import type { AuthResponseDto } from "../../src/features/auth/schemas";
import worker from "../../src/index";
import type { ProblemBody } from "../../src/lib/errors";
import { checkContract } from "./contract";

export const BASE = "https://api.test";

export interface CallOptions {
  method?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  /** Skip the contract check: only for a test that breaks the server on purpose. */
  uncheckedContract?: boolean;
}

/**
 * Calls the Worker as a client would: HTTP in, HTTP out. Every answer is checked against
 * /openapi.json (the status is documented, the body matches its schema).
 */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === "string" ? options.body : JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  const method = options.method ?? (body === undefined ? "GET" : "POST");
  const res = await exports.default.fetch(`${BASE}${path}`, { method, headers, body });
  if (!options.uncheckedContract) await checkContract(method, `${BASE}${path}`, res);
  return res;
}

/** A queue binding that refuses every message, as a queue does during an outage. */
export function refusingQueue<T = unknown>(): Queue<T> {
  const refuse = async (): Promise<never> => {
    throw new Error("queue unavailable");
  };
  return { send: refuse, sendBatch: refuse } as unknown as Queue<T>;
}

/**
 * Calls the Worker with some bindings replaced (a D1 that drops its connection, a limiter that
 * refuses …), waits for its after-response work, and checks the answer against the contract.
 */
export async function callWith(
  bindings: Partial<typeof env>,
  path: string,
  options: CallOptions & {
    address?: string;
    /** Runs once the answer is complete, before the Worker's after-response work is waited for. */
    onAnswer?: (res: Response) => void;
  } = {},
): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.address) headers["cf-connecting-ip"] = options.address;
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const request = new Request(`${BASE}${path}`, {
    method: options.method ?? (body === undefined ? "GET" : "POST"),
    headers,
    body,
  });
  const ctx = createExecutionContext();
  const res = await worker.fetch(request, { ...env, ...bindings }, ctx);
  if (options.onAnswer) {
    await res.clone().arrayBuffer();
    options.onAnswer(res);
  }
  await waitOnExecutionContext(ctx);
  if (!options.uncheckedContract) await checkContract(request.method, request.url, res);
  return res;
}

/** Calls and parses JSON, failing loudly when the status is not the expected one. */
export async function callJson<T>(
  path: string,
  expectedStatus: number,
  options: CallOptions = {},
): Promise<T> {
  const res = await call(path, options);
  const text = await res.text();
  if (res.status !== expectedStatus) {
    throw new Error(
      `${options.method ?? "GET"} ${path}: expected ${expectedStatus}, got ${res.status}: ${text}`,
    );
  }
  return (text ? JSON.parse(text) : undefined) as T;
}

export interface TestUser {
  id: string;
  email: string;
  password: string;
  token: string;
  refreshToken: string;
}

let counter = 0;

/** A client address no other test uses (198.18.0.0/15 is reserved for testing). */
export function testAddress(): string {
  const [a = 0, b = 0] = crypto.getRandomValues(new Uint8Array(2));
  return `198.19.${a}.${b}`;
}

/** Registers a fresh user through the API and returns its credentials. */
export async function createUser(overrides: { timezone?: string; email?: string } = {}): Promise<TestUser> {
  counter += 1;
  const email = overrides.email ?? `user${counter}-${crypto.randomUUID().slice(0, 8)}@example.com`;
  const password = "correct horse battery";
  const body = await callJson<AuthResponseDto>(
    "/api/v1/auth/register",
    201,
    // Each test user signs up from an address of its own: sign-ups are limited per address.
    {
      body: { password, display_name: "Test User", ...overrides, email },
      headers: { "cf-connecting-ip": testAddress() },
    },
  );
  return { id: body.user.id, email, password, token: body.access_token, refreshToken: body.refresh_token };
}

export async function problemOf(res: Response): Promise<ProblemBody> {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return res.json<ProblemBody>();
}
