import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import type { FocusStateDto } from "../../src/features/focus/protocol";
import type { FocusRecordDto } from "../../src/features/focus/schemas";
import { call, callJson, createUser, type TestUser } from "./api";
import { actingThroughApiToken } from "./auth";

export type FocusState = FocusStateDto;
export type FocusSession = FocusRecordDto;

export interface StartBody {
  kind?: string;
  duration_minutes?: number;
  task_id?: string;
  step_id?: string;
}

/** A user acting through a focus API token, so tests may move the clock past a JWT's life. */
export async function userWithApiToken(timezone?: string): Promise<TestUser> {
  const user = await createUser(timezone ? { timezone } : {});
  return actingThroughApiToken(user, "focus tests", [
    "focus:read",
    "focus:write",
    "tasks:read",
    "tasks:write",
  ]);
}

export function startFocus(user: TestUser, body: StartBody = {}): Promise<FocusState> {
  return callJson<FocusState>("/api/v1/focus/enhanced/start", 201, { token: user.token, body });
}

/** One action on the user's timer through the enhanced API, expecting 200. */
export function focusAction(user: TestUser, action: string, body: Record<string, unknown> = {}) {
  return callJson<FocusState>(`/api/v1/focus/enhanced/${action}`, 200, {
    method: "POST",
    token: user.token,
    body,
  });
}

export function focusStateOf(user: TestUser): Promise<FocusState> {
  return callJson<FocusState>("/api/v1/focus/enhanced/state", 200, { token: user.token });
}

export function sessionsOf(user: TestUser, query = ""): Promise<FocusSession[]> {
  return callJson<FocusSession[]>(`/api/v1/focus/sessions${query}`, 200, { token: user.token });
}

export function timerOf(user: TestUser) {
  return env.FOCUS_TIMER.get(env.FOCUS_TIMER.idFromName(user.id));
}

/** Runs the user's timer alarm now, as the runtime would at its time; true if one was set. */
export function runTimerAlarm(user: TestUser): Promise<boolean> {
  return runDurableObjectAlarm(timerOf(user));
}

export interface SocketMessage {
  type: string;
  seq?: number;
  event?: string;
  state?: FocusState;
  replayed?: number;
  gap?: boolean;
  request_id?: string | null;
  status?: number;
  code?: string;
  detail?: string;
}

/** How long a socket waits for messages or its close: long, since it costs time only when a test fails. */
const SOCKET_WAIT_MS = 10_000;

/** A client socket with every message it receives (of type M) kept in order. */
export interface TestSocket<M = SocketMessage> {
  ws: WebSocket;
  messages: M[];
  /** Resolves once `count` messages in all have arrived; rejects after a timeout. */
  waitFor(count: number, timeoutMs?: number): Promise<M[]>;
  /** Resolves with the close code and reason when the server closes the socket. */
  closed: Promise<{ code: number; reason: string }>;
  /** The close, when the server closes the socket soon; rejects after a timeout. */
  closedSoon(timeoutMs?: number): Promise<{ code: number; reason: string }>;
  close(): void;
}

function wrap<M>(ws: WebSocket): TestSocket<M> {
  const messages: M[] = [];
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", (event) => {
    messages.push(JSON.parse(String(event.data)) as M);
    for (const wake of waiters.splice(0)) wake();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  ws.accept();
  return {
    ws,
    messages,
    closed,
    waitFor(count, timeoutMs = SOCKET_WAIT_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(
              new Error(`waited for ${count} messages, got ${messages.length}: ${JSON.stringify(messages)}`),
            ),
          timeoutMs,
        );
        const check = () => {
          if (messages.length >= count) {
            clearTimeout(timer);
            resolve(messages.slice(0, count));
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    closedSoon(timeoutMs = SOCKET_WAIT_MS) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`the socket stayed open; got ${JSON.stringify(messages)}`)),
          timeoutMs,
        );
        void closed.then((close) => {
          clearTimeout(timer);
          resolve(close);
        });
      });
    },
    close() {
      try {
        ws.close(1000, "test done");
      } catch {
        // already closed
      }
    },
  };
}

export interface SocketOptions {
  token?: string;
  ticket?: string;
  query?: string;
  protocols?: string[];
  /** The live channel: focus unless told otherwise. */
  channel?: { path: string; subprotocol: string };
}

const FOCUS_CHANNEL = { path: "/api/v1/focus/ws", subprotocol: "pap.focus.v1" };

/** Opens a live WebSocket (focus by default) the way a client would; throws with the body when it is refused. */
export async function openSocket<M = SocketMessage>(options: SocketOptions = {}): Promise<TestSocket<M>> {
  const res = await connect(options);
  if (res.status !== 101 || !res.webSocket) {
    throw new Error(`expected 101, got ${res.status}: ${await res.text()}`);
  }
  return wrap<M>(res.webSocket);
}

export function connect(options: SocketOptions = {}): Promise<Response> {
  const channel = options.channel ?? FOCUS_CHANNEL;
  const protocols =
    options.protocols ?? (options.token ? [channel.subprotocol, `bearer.${options.token}`] : []);
  const params = new URLSearchParams(options.query ?? "");
  if (options.ticket) params.set("ticket", options.ticket);
  const search = params.toString();
  return call(`${channel.path}${search ? `?${search}` : ""}`, {
    headers: {
      upgrade: "websocket",
      ...(protocols.length ? { "sec-websocket-protocol": protocols.join(", ") } : {}),
    },
  });
}
