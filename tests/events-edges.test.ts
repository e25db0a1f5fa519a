import { Validator } from "@cfworker/json-schema";
import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { exampleObject } from "../src/features/events/examples";
import type { EventTypeDto } from "../src/features/events/schemas";
import { EVENT_TYPES } from "../src/lib/events/catalog";
import { call, callJson, createUser, problemOf } from "./helpers/api";
import { freezeClock } from "./helpers/clock";

interface Sample {
  id: string;
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/** The JSON Schema the catalog would publish for `data` of this shape (as GET /event-types does). */
const published = (data: z.ZodType) =>
  z.toJSONSchema(data, { target: "draft-2020-12", io: "output" }) as Record<string, unknown>;

/** The properties of a published schema whose values are times of this format. */
function fieldsOfFormat(schema: Record<string, unknown>, format: string): string[] {
  const properties = (schema.properties ?? {}) as Record<
    string,
    { format?: string; anyOf?: { format?: string }[] }
  >;
  return Object.entries(properties)
    .filter(([, p]) => p.format === format || (p.anyOf ?? []).some((o) => o.format === format))
    .map(([name]) => name);
}

describe("examples of events a user has none of yet", () => {
  it("are valid against the JSON Schema /event-types publishes, their times the moment they were asked for", async () => {
    const user = await createUser();
    const clock = freezeClock();
    const now = new Date(clock.now()).toISOString();
    const schemas = new Map(
      (await callJson<EventTypeDto[]>("/api/v1/event-types", 200)).map((e) => [e.type, e.schema]),
    );
    let times = 0;
    for (const type of EVENT_TYPES) {
      const schema = schemas.get(type);
      if (!schema) throw new Error(`${type} is not published`);
      const [sample, ...more] = await callJson<Sample[]>(`/api/v1/hooks/samples/${type}`, 200, {
        token: user.token,
      });
      expect(more).toEqual([]);
      expect(sample).toMatchObject({ id: "sample", type, timestamp: now });
      const result = new Validator(schema, "2020-12").validate(sample?.data);
      expect(result.errors, `${type} ${JSON.stringify(sample?.data)}`).toEqual([]);
      for (const field of fieldsOfFormat(schema, "date-time")) {
        expect(sample?.data[field], `${type}.${field}`).toBe(now);
        times += 1;
      }
      for (const field of fieldsOfFormat(schema, "date")) {
        expect(sample?.data[field], `${type}.${field}`).toBe(now.slice(0, 10));
        times += 1;
      }
    }
    // The catalog has times of both kinds, so the loop above checked some.
    expect(times).toBeGreaterThan(1);
  });

  it("stay valid for the shapes a catalog type could take next: records, unbounded numbers, null fields", () => {
    const now = new Date().toISOString();
    const counts = z.object({ per_category: z.record(z.string(), z.number().int().min(0)) });
    const unbounded = z.object({ delta: z.number(), offset: z.number().int().nullable() });
    const shapes: Record<string, z.ZodType> = {
      "a record of counts": counts,
      "an unbounded number": unbounded,
      "a field that is always null": z.object({ cleared: z.null() }),
      "a list of objects": z.object({
        steps: z.array(z.object({ step_id: z.string(), done: z.boolean() })).min(1),
      }),
      "a choice, a constant and a union": z.object({
        mode: z.enum(["quick", "deep"]).nullable(),
        schema: z.literal("v1"),
        value: z.union([z.string(), z.number()]),
      }),
      "times and an empty object": z.object({ at: z.iso.datetime(), on: z.iso.date(), meta: z.object({}) }),
    };
    for (const [what, data] of Object.entries(shapes)) {
      const schema = published(data);
      const example = exampleObject(schema, now);
      expect(new Validator(schema, "2020-12").validate(example).errors, what).toEqual([]);
      expect(data.safeParse(example).success, `${what}: ${JSON.stringify(example)}`).toBe(true);
    }
    // Not empty: each field is filled in as a subscriber would see it.
    expect(exampleObject(published(unbounded), now)).toEqual({ delta: 1, offset: 1 });
    expect(exampleObject(published(counts), now)).toEqual({ per_category: {} });
  });
});

describe("GET /api/v1/event-types/{type}", () => {
  it("answers 404 as problem+json for names every object has (constructor, toString, __proto__)", async () => {
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const res = await call(`/api/v1/event-types/${name}`);
      expect(res.status, name).toBe(404);
      expect((await problemOf(res)).code, name).toBe("not_found");
    }
  });
});
