import ICAL from "ical.js";
import type { CalendarFeedDto, ImportResultDto } from "../../src/features/calendar/schemas";
import { call, callJson, type TestUser } from "./api";

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
