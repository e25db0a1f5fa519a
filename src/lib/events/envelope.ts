import { newId } from "../ids";
import { nowIso } from "../time";
import {
  type DomainEvent,
  type Envelope,
  EVENT_CATALOG,
  type EventData,
  type EventType,
  isEventType,
} from "./catalog";

/**
 * A new event of `type`, its data checked against the catalog: a producer that drifts from the
 * published schema fails in its own tests, never in a subscriber's hands. `occurredAt`: when it
 * happened, if not now (a handler writing an event for a moment it is handling late).
 */
export function newEvent<T extends EventType>(
  type: T,
  userId: string,
  data: EventData<T>,
  now = Date.now(),
  occurredAt = nowIso(now),
): Envelope<T> {
  const spec = EVENT_CATALOG[type];
  spec.data.parse(data);
  return { id: newId(now), type, version: spec.version, user_id: userId, occurred_at: occurredAt, data };
}

/** Why a message is not an event this code can handle. */
export type EventRefusal =
  /** Not an envelope at all: nothing can ever handle it. */
  | { kind: "malformed"; detail: string }
  /** An envelope this deployment does not understand (unknown type or version, data off its schema). */
  | { kind: "unknown"; detail: string };

/**
 * Reads a queue message (or an outbox row) as a domain event. Envelopes written before versions
 * existed are version 1.
 */
export function parseEvent(
  body: unknown,
): { ok: true; event: DomainEvent } | { ok: false; refusal: EventRefusal } {
  if (typeof body !== "object" || body === null) return refuse("malformed", "not an object");
  const b = body as Record<string, unknown>;
  if (typeof b.id !== "string" || typeof b.type !== "string" || typeof b.user_id !== "string")
    return refuse("malformed", "id, type and user_id must be strings");
  if (typeof b.occurred_at !== "string") return refuse("malformed", "occurred_at must be a string");
  const type = b.type;
  if (!isEventType(type)) return refuse("unknown", `unknown event type ${type}`);
  const spec = EVENT_CATALOG[type];
  const version = b.version ?? 1;
  if (version !== spec.version)
    return refuse("unknown", `${type} version ${String(version)} is not ${spec.version}`);
  const data = spec.data.safeParse(b.data);
  if (!data.success) return refuse("unknown", `${type} data: ${data.error.message}`);
  const event = {
    id: b.id,
    type,
    version: spec.version,
    user_id: b.user_id,
    occurred_at: b.occurred_at,
    data: data.data,
  };
  return { ok: true, event: event as DomainEvent };
}

const refuse = (kind: EventRefusal["kind"], detail: string) => ({
  ok: false as const,
  refusal: { kind, detail },
});
