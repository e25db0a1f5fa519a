import type { Context } from "hono";
import type { AppEnv } from "./create-app";
import type { EventEnvelope } from "./events";
import { publishEvents } from "./outbox";

/** Sends the events a write recorded after the response, off the request's critical path. */
export function afterWrite(c: Context<AppEnv>, events: EventEnvelope[]): void {
  if (events.length > 0) c.executionCtx.waitUntil(publishEvents(c.env, events));
}
