import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import ICAL from "ical.js";
import type { CalendarFeedDto, ImportResultDto } from "../../src/features/calendar/schemas";
import worker from "../../src/index";
import type { Envelope } from "../../src/lib/events/catalog";
import { BASE, call, callJson, type TestUser } from "./api";

export type ImportResult = ImportResultDto;

/** A new feed URL of the user's, expecting 201. */
export function createFeed(user: TestUser): Promise<CalendarFeedDto> {
  return callJson<CalendarFeedDto>("/api/v1/calendar/feed", 201, { method: "POST", token: user.token });
}

/** The path of a feed URL, for fetching it through the Worker as a calendar app would (no bearer). */
export const feedPath = (url: string) => new URL(url).pathname;

/** Fetches a feed as a subscriber: no Authorization header, maybe conditional headers. */
export function fetchFeed(url: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(feedPath(url), { headers });
}

/** The feed's text, expecting 200. */
export async function feedText(url: string): Promise<string> {
  const res = await fetchFeed(url);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${feedPath(url)}: expected 200, got ${res.status}: ${text}`);
  return text;
}

/** What a subscriber sees of one event, read with ical.js as calendar apps read feeds. */
export interface SeenEvent {
  uid: string;
  summary: string;
  start: Date;
  end: Date;
  allDay: boolean;
  sequence: number;
  stamp: Date;
  status: string | null;
  description: string | null;
  kind: string | null;
  done: boolean;
}

export function readFeed(text: string): { calendar: ICAL.Component; events: SeenEvent[] } {
  const calendar = new ICAL.Component(ICAL.parse(text));
  const events = calendar.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    const stamp = vevent.getFirstPropertyValue("dtstamp");
    const value = (name: string) => {
      const v = vevent.getFirstPropertyValue(name);
      return typeof v === "string" ? v : null;
    };
    return {
      uid: event.uid,
      summary: event.summary,
      start: event.startDate.toJSDate(),
      end: event.endDate.toJSDate(),
      allDay: event.startDate.isDate,
      sequence: event.sequence,
      stamp: stamp instanceof ICAL.Time ? stamp.toJSDate() : new Date(Number.NaN),
      status: value("status"),
      description: value("description"),
      kind: value("x-proxy-agent-kind"),
      done: value("x-proxy-agent-status") === "completed",
    };
  });
  return { calendar, events };
}

/** Posts an .ics text to the import route, answering the response (checked against the contract). */
export function postImport(
  user: TestUser,
  text: string,
  options: { preview?: boolean; contentType?: string } = {},
): Promise<Response> {
  const query = options.preview === undefined ? "" : `?preview=${options.preview}`;
  return call(`/api/v1/calendar/import${query}`, {
    method: "POST",
    token: user.token,
    body: text,
    headers: { "content-type": options.contentType ?? "text/calendar; charset=utf-8" },
  });
}

/** Imports an .ics text, expecting 200. */
export async function importIcs(user: TestUser, text: string, preview?: boolean): Promise<ImportResult> {
  const res = await postImport(user, text, { preview });
  const body = await res.text();
  if (res.status !== 200) throw new Error(`import: expected 200, got ${res.status}: ${body}`);
  return JSON.parse(body) as ImportResult;
}

/** `20261124T183000Z` for an instant, written here rather than borrowed from the code under test. */
export function icsUtc(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/** `20261124` for the UTC date of an instant. */
export const icsDate = (ms: number) => new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");

/** A calendar file around these component lines, with CRLF line ends as RFC 5545 writes them. */
export function icsFile(...components: string[][]): string {
  return [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//Tests//Calendar import//EN",
    ...components.flat(),
    "END:VCALENDAR",
    "",
  ].join("\r\n");
}

export function vevent(fields: Record<string, string>, extra: string[] = []): string[] {
  return ["BEGIN:VEVENT", ...Object.entries(fields).map(([k, v]) => `${k}:${v}`), ...extra, "END:VEVENT"];
}

export function vtodo(fields: Record<string, string>): string[] {
  return ["BEGIN:VTODO", ...Object.entries(fields).map(([k, v]) => `${k}:${v}`), "END:VTODO"];
}

/** What one request did to D1, the FocusTimer and the events queue, as seen from its bindings. */
export interface ObservedRequest {
  status: number;
  body: string;
  /** How each D1 session was opened (`first-primary`, a bookmark, …). */
  sessions: string[];
  /** The SQL of every statement sent, in order (a batch's statements one by one). */
  statements: string[];
  /** D1 round trips: each batch and each single statement run. */
  trips: number;
  /** FocusTimer objects asked for. */
  timerCalls: number;
  /** Events sent to the events queue (after the answer too). */
  published: Envelope[];
}

/**
 * Sends one request through the Worker with bindings that watch it. `beforeBatch` runs before each
 * D1 batch with its statements' SQL: a test can act between a request's read and its write there.
 */
export async function observe(
  path: string,
  init: { method?: string; token?: string; headers?: Record<string, string>; body?: string } = {},
  hooks: { beforeBatch?: (sql: string[]) => Promise<void> } = {},
): Promise<ObservedRequest> {
  const seen: Omit<ObservedRequest, "status" | "body"> = {
    sessions: [],
    statements: [],
    trips: 0,
    timerCalls: 0,
    published: [],
  };
  const sqlOf = new WeakMap<object, string>();
  const wrapStatement = (stmt: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const proxy = new Proxy(stmt, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "bind") {
          return (...args: unknown[]) => wrapStatement(value.apply(target, args) as D1PreparedStatement, sql);
        }
        if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
          return (...args: unknown[]) => {
            seen.trips += 1;
            seen.statements.push(sql);
            return value.apply(target, args);
          };
        }
        return value.bind(target);
      },
    });
    sqlOf.set(proxy, sql);
    originals.set(proxy, stmt);
    return proxy;
  };
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrapDatabase = <T extends D1Database | D1DatabaseSession>(database: T): T =>
    new Proxy(database, {
      get(target, prop) {
        const value: unknown = Reflect.get(target, prop);
        if (typeof value !== "function") return value;
        if (prop === "prepare") {
          return (query: string) => wrapStatement(value.call(target, query) as D1PreparedStatement, query);
        }
        if (prop === "batch") {
          return async (statements: D1PreparedStatement[]) => {
            const sql = statements.map((s) => sqlOf.get(s) ?? "");
            await hooks.beforeBatch?.(sql);
            seen.trips += 1;
            seen.statements.push(...sql);
            return value.call(
              target,
              statements.map((s) => originals.get(s) ?? s),
            );
          };
        }
        if (prop === "withSession") {
          return (constraint?: string) => {
            seen.sessions.push(constraint ?? "first-unconstrained");
            return wrapDatabase(value.call(target, constraint) as D1DatabaseSession);
          };
        }
        return value.bind(target);
      },
    });
  const timers = new Proxy(env.FOCUS_TIMER, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop);
      if (typeof value !== "function") return value;
      if (prop === "get") {
        return (...args: unknown[]) => {
          seen.timerCalls += 1;
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  const queue = {
    send: (body: Envelope) => {
      seen.published.push(body);
      return env.EVENTS_QUEUE.send(body);
    },
    sendBatch: (messages: Iterable<MessageSendRequest<Envelope>>) => {
      const list = [...messages];
      seen.published.push(...list.map((m) => m.body));
      return env.EVENTS_QUEUE.sendBatch(list);
    },
  } as Queue<Envelope>;
  const headers: Record<string, string> = { ...init.headers };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`${BASE}${path}`, { method: init.method ?? "GET", headers, body: init.body }),
    { ...env, DB: wrapDatabase(env.DB), FOCUS_TIMER: timers, EVENTS_QUEUE: queue },
    ctx,
  );
  const body = await res.text();
  await waitOnExecutionContext(ctx);
  return { status: res.status, body, ...seen };
}
