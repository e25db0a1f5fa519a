import { z } from "@hono/zod-openapi";
import { notFound } from "../../lib/errors";
import { EVENT_CATALOG, EVENT_TYPES, isEventType } from "../../lib/events/catalog";
import { exampleObject } from "./examples";
import type { EventTypeDto } from "./schemas";

let described: readonly EventTypeDto[] | undefined;

/** The catalog as subscribers read it: each type with the JSON Schema of its data (built once). */
export function eventTypes(): readonly EventTypeDto[] {
  described ??= EVENT_TYPES.map((type) => {
    const spec = EVENT_CATALOG[type];
    return {
      type,
      version: spec.version,
      description: spec.description,
      schema: z.toJSONSchema(spec.data, { target: "draft-2020-12", io: "output" }) as Record<string, unknown>,
    };
  });
  return described;
}

export function eventType(type: string): EventTypeDto {
  const found = isEventType(type) ? eventTypes().find((t) => t.type === type) : undefined;
  if (!found) throw notFound("Event type");
  return found;
}

/**
 * An example `data` of this catalog type, valid against its schema, its times `now`. Every type's data
 * is an object (tests/event-contract.test.ts checks each published schema is one).
 */
export function exampleData(type: string, now: string): Record<string, unknown> {
  return exampleObject(eventType(type).schema, now);
}
