import type { Context } from "hono";
import type { AppEnv } from "./create-app";
import type { Envelope } from "./events/catalog";
import { publishEvents } from "./events/queue";

/** Sends the events a write recorded after the response, off the request's critical path. */
export function afterWrite(c: Context<AppEnv>, events: readonly Envelope[]): void {
  if (events.length > 0) c.executionCtx.waitUntil(publishEvents(c.env.EVENTS_QUEUE, events));
}
