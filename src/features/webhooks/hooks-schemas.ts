import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../lib/events/catalog";
import { WEBHOOK_EVENT_TYPES } from "./schemas";

export const HookInputSchema = z
  .object({
    target_url: z
      .string()
      .min(1)
      .max(2048)
      .openapi({ example: "https://hooks.zapier.com/hooks/standard/1/abc" }),
    event: z
      .enum(WEBHOOK_EVENT_TYPES)
      .openapi({ description: 'A type from GET /api/v1/event-types, or "*" for every one' }),
  })
  .openapi("HookSubscription");

export const HookSchema = z
  .object({
    id: z.string().openapi({ description: "Unsubscribe with DELETE /api/v1/hooks/{hook_id}" }),
    target_url: z.string(),
    event: z.string(),
    created_at: z.string(),
  })
  .openapi("Hook");

export const HookIdParamsSchema = z.object({
  hook_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "hook_id", in: "path" }, description: "The `id` the subscription answered" }),
});

export const SampleEventParamsSchema = z.object({
  event: z.enum(EVENT_TYPES).openapi({ param: { name: "event", in: "path" }, example: "task.completed" }),
});

export const SampleSchema = z
  .object({
    id: z.string().openapi({ description: 'The event id ("sample" for a made-up example)' }),
    type: z.string(),
    timestamp: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi("HookSample");

export type HookInput = z.infer<typeof HookInputSchema>;
export type HookDto = z.infer<typeof HookSchema>;
export type SampleDto = z.infer<typeof SampleSchema>;
