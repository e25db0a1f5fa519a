import { z } from "@hono/zod-openapi";
import { EVENT_TYPES } from "../../lib/events/catalog";
import { PaginationQuerySchema } from "../../lib/pagination";

/** Event types a webhook may subscribe to: the catalog's, or "*" for all. */
export const WEBHOOK_EVENT_TYPES = ["*", ...EVENT_TYPES] as const;

const EventTypes = z
  .array(z.enum(WEBHOOK_EVENT_TYPES))
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .refine((list) => new Set(list).size === list.length, { message: "Event types must be different." })
  .openapi({ description: 'Types from GET /api/v1/event-types, or ["*"] for every one' });

const Url = z.string().min(1).max(2048).openapi({ example: "https://hooks.example.com/proxy-agent" });
const Description = z.string().trim().max(200);

export const WebhookSchema = z
  .object({
    webhook_id: z.string(),
    url: z.string(),
    description: z.string().nullable(),
    event_types: z.array(z.string()),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Webhook");

export const WebhookWithSecretSchema = WebhookSchema.extend({
  secret: z
    .string()
    .openapi({ description: "whsec_…: signs every delivery (Standard Webhooks). Shown only now." }),
}).openapi("WebhookWithSecret");

export const CreateWebhookBodySchema = z
  .object({ url: Url, event_types: EventTypes, description: Description.optional() })
  .openapi("CreateWebhook");

export const UpdateWebhookBodySchema = z
  .object({
    url: Url,
    event_types: EventTypes,
    description: Description.nullable(),
    enabled: z
      .boolean()
      .openapi({ description: "false pauses deliveries; true re-enables a disabled endpoint" }),
  })
  .partial()
  .strict()
  .openapi("UpdateWebhook");

export const WebhookIdParamsSchema = z.object({
  webhook_id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "webhook_id", in: "path" } }),
});

export const ListWebhooksQuerySchema = PaginationQuerySchema;

export type WebhookDto = z.infer<typeof WebhookSchema>;
export type CreateWebhookInput = z.infer<typeof CreateWebhookBodySchema>;
export type UpdateWebhookInput = z.infer<typeof UpdateWebhookBodySchema>;
