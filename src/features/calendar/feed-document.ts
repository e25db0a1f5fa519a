/**
 * The whole feed as one VCALENDAR. Pure: given the events with the version each has reached, the
 * same input always gives the same bytes, so the body's hash is a true ETag.
 */

import type { FeedEvent } from "./feed-items";
import { escapeText, formatUtc } from "./ics-text";
import { componentLines, contentLine, serializeLines } from "./ics-writer";

export const PRODID = "-//Proxy Agent Platform//Calendar feed 1.0//EN";

/**
 * How often clients are asked to refresh (RFC 7986 REFRESH-INTERVAL, and Outlook's X-PUBLISHED-TTL).
 * Google refreshes on its own schedule (hours) whatever this says.
 */
export const REFRESH_INTERVAL = "PT1H";

export interface StampedEvent extends FeedEvent {
  /** How many versions of this item the feed has served before this one (SEQUENCE). */
  sequence: number;
  /** When this version was first served (DTSTAMP and LAST-MODIFIED). */
  stampedAt: number;
}

export interface FeedMeta {
  name: string;
  timeZone: string;
}

/** The content lines that make an event's content: what its fingerprint is computed over. */
export function eventContentLines(event: FeedEvent): string[] {
  return event.properties.map(contentLine);
}

export function feedDocument(events: StampedEvent[], meta: FeedMeta): string {
  const header = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    `PRODID:${PRODID}`,
    "CALSCALE:GREGORIAN",
    "METHOD:PUBLISH",
    `NAME:${escapeText(meta.name)}`,
    `X-WR-CALNAME:${escapeText(meta.name)}`,
    `X-WR-TIMEZONE:${meta.timeZone}`,
    `REFRESH-INTERVAL;VALUE=DURATION:${REFRESH_INTERVAL}`,
    `X-PUBLISHED-TTL:${REFRESH_INTERVAL}`,
  ];
  const body = events.map((event) =>
    componentLines("VEVENT", [
      { name: "UID", value: event.uid },
      { name: "DTSTAMP", value: formatUtc(event.stampedAt) },
      { name: "LAST-MODIFIED", value: formatUtc(event.stampedAt) },
      { name: "SEQUENCE", value: String(event.sequence) },
      ...event.properties,
    ]),
  );
  return serializeLines([...header, ...body.flat(), "END:VCALENDAR"]);
}
