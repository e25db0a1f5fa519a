import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../lib/events/catalog";

export const EventTypeSchema = z
  .object({
    type: z.string().openapi({ example: "step.completed" }),
    version: z.number().int().min(1).openapi({ description: "The version of `data`'s schema" }),
    description: z.string(),
    schema: z
      .record(z.string(), z.unknown())
      .openapi({ description: "JSON Schema (draft 2020-12) of the event's `data`" }),
  })
  .openapi("EventType");

export const EventTypeListSchema = z.array(EventTypeSchema).openapi("EventTypeList");

export const EventTypeParamsSchema = z.object({
  type: z
    .string()
    .max(64)
    .openapi({
      param: { name: "type", in: "path" },
      example: "task.completed",
      description: `One of ${EVENT_TYPES.join(", ")}`,
    }),
});

export type EventTypeDto = z.infer<typeof EventTypeSchema>;
