import { z } from "@hono/zod-openapi";
import { DELIVERY_STATUSES } from "../../db/schema/webhooks";
import { caseInsensitiveEnum } from "../../lib/enums";
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
    source: z.enum(["api", "rest_hook"]).openapi({
      description: "`rest_hook` for subscriptions made by a no-code tool through /api/v1/hooks",
    }),
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
  .object({ url: Url, event_types: EventTypes, description: Description.nullable().optional() })
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

export const WebhookAttemptSchema = z
  .object({
    attempt: z.number().int().openapi({ description: "1 for the first; replays continue the count" }),
    outcome: z.enum(["succeeded", "failed"]),
    status_code: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "The receiver's status; null when it did not answer" }),
    latency_ms: z.number().int(),
    response_excerpt: z.string().nullable().openapi({ description: "The first 2 KB of the answer" }),
    error: z
      .string()
      .nullable()
      .openapi({ description: "Why there was no answer (timeout, refused address …)" }),
    next_retry_at: z.string().nullable().openapi({ description: "When the next attempt was scheduled" }),
    created_at: z.string(),
  })
  .openapi("WebhookAttempt");

export const WebhookDeliverySchema = z
  .object({
    delivery_id: z.string().openapi({ description: "The `webhook-id` the receiver sees, on every attempt" }),
    webhook_id: z.string(),
    event_id: z.string().nullable().openapi({ description: "null for `webhook.test` deliveries" }),
    event_type: z.string(),
    status: z.enum(DELIVERY_STATUSES).openapi({
      description:
        "`pending` (not attempted yet), `retrying` (failed, another attempt scheduled), `succeeded`, " +
        "`failed` (gave up after 8 attempts, or the endpoint was disabled): replay it to send it again",
    }),
    attempt_count: z.number().int(),
    next_attempt_at: z.string().nullable(),
    last_status_code: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    attempts: z.array(WebhookAttemptSchema).openapi({ description: "Every attempt, oldest first" }),
  })
  .openapi("WebhookDelivery");

export const ListDeliveriesQuerySchema = PaginationQuerySchema.extend({
  status: caseInsensitiveEnum(DELIVERY_STATUSES)
    .optional()
    .openapi({ description: "Only deliveries in this state (e.g. `failed`)" }),
});

export const DeliveryParamsSchema = WebhookIdParamsSchema.extend({
  delivery_id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "delivery_id", in: "path" } }),
});

export type WebhookAttemptDto = z.infer<typeof WebhookAttemptSchema>;
export type WebhookDeliveryDto = z.infer<typeof WebhookDeliverySchema>;
export type ListDeliveriesQuery = z.infer<typeof ListDeliveriesQuerySchema>;

export type WebhookDto = z.infer<typeof WebhookSchema>;
export type CreateWebhookInput = z.infer<typeof CreateWebhookBodySchema>;
export type UpdateWebhookInput = z.infer<typeof UpdateWebhookBodySchema>;
